"""The Python package against its independent references: the CLI's written files and
manifest, scikit-image's SSIM, torch's DataLoader, albumentations."""

import json
import threading

import numpy as np
import pytest
from conftest import read_png
from skimage.metrics import structural_similarity

import medfm_robust as mr
from medfm_robust import adapters


def phantom(cli, tmp_path, modality="ct", size=64, seed=0, channels=None):
    out = tmp_path / f"{modality}_{size}_{seed}.png"
    args = ["phantom", "--modality", modality, "--size", size, "--seed", seed, "--out", out]
    if channels:
        args += ["--channels", channels]
    cli(*args)
    return read_png(out)


# ---- catalogue -----------------------------------------------------------------------------

def test_catalogue_is_the_clis(cli):
    assert mr.perturbations() == json.loads(cli("list", "--json").stdout)
    assert mr.perturbations("mri") == json.loads(cli("list", "--json", "--modality", "mri").stdout)
    ids = [p["id"] for p in mr.perturbations()]
    assert len([i for i in ids if mr.perturbations()[ids.index(i)]["category"] != "extra"]) == 40


# ---- apply / calibrate equal the CLI ------------------------------------------------------

def test_apply_gives_the_bytes_the_cli_wrote(perturbed):
    src, out, recs = perturbed
    written = [r for r in recs if r["output"]]
    assert len(written) >= 20, recs
    for r in written:
        img = read_png(src / r["source"].rsplit("/", 1)[-1])
        got = mr.apply(img, r["perturbation"], r["strength"], seed=r["seed"], image_id=r["image_id"])
        want = read_png(out / r["output"])
        assert got.dtype == want.dtype and got.shape == want.shape, r
        assert np.array_equal(got, want), r


def test_geometric_masks_are_the_clis_warped_masks(perturbed):
    src, out, recs = perturbed
    checked = 0
    for r in recs:
        if not r.get("mask_output"):
            continue
        name = r["source"].rsplit("/", 1)[-1]
        img = read_png(src / name)
        mask = read_png(src.parent / "masks" / name) > 0
        got_img, got_mask = mr.apply(img, r["perturbation"], r["strength"], seed=r["seed"],
                                     image_id=r["image_id"], mask=mask)
        assert got_mask.dtype == np.bool_ and got_mask.shape == mask.shape
        assert np.array_equal(got_mask, read_png(out / r["mask_output"]) > 0), r
        checked += 1
    assert checked >= 6


def test_calibrate_finds_the_manifests_strengths(perturbed):
    src, _, recs = perturbed
    by_unit = {}
    for r in recs:
        by_unit.setdefault((r["source"], r["perturbation"]), []).append(r)
    assert len(by_unit) == 15
    for (source, pid), rs in by_unit.items():
        img = read_png(src / source.rsplit("/", 1)[-1])
        got = mr.calibrate(img, pid, levels=[2, 4], seed=rs[0]["seed"], image_id=rs[0]["image_id"])
        for g, r in zip(got, sorted(rs, key=lambda x: x["level"])):
            assert g["level"] == r["level"]
            assert g["strength"] == r["strength"], (g, r)
            assert g["in_band"] == r["in_band"]
            assert g["ssim"] == pytest.approx(r["ssim"], abs=1e-12)


def test_image_id_is_the_manifests(perturbed):
    _, _, recs = perturbed
    for r in recs:
        assert mr.image_id(r["source"].rsplit("/", 1)[-1]) == r["image_id"]


# ---- dtypes, shapes, views ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("shape", [(40, 48), (40, 48, 1), (40, 48, 3)])
def test_dtype_and_shape_round_trip(dtype, shape):
    rng = np.random.default_rng(1)
    if dtype == np.float32:
        img = rng.random(shape, dtype=np.float32)
    else:
        img = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype)
    for pid in ["gaussian_noise", "rotation", "contrast"]:
        out = mr.apply(img, pid, 0.1 if pid != "rotation" else 10.0, seed=1, image_id=2)
        assert out.dtype == img.dtype and out.shape == img.shape
    # uint8 and the same values as float32 give the same image up to the final quantisation
    u8 = rng.integers(0, 255, shape, dtype=np.uint8)
    a = mr.apply(u8, "gaussian_blur", 1.0)
    b = mr.apply(u8.astype(np.float32) / 255, "gaussian_blur", 1.0)
    assert np.abs(a.astype(np.float64) / 255 - b).max() <= 0.5 / 255 + 1e-6


def test_views_and_read_only_arrays_give_the_contiguous_result():
    rng = np.random.default_rng(2)
    base = rng.integers(0, 255, (80, 90, 3), dtype=np.uint8)
    for view in [base[::2, ::-1], base.transpose(1, 0, 2), base[10:70, 5:80, :]]:
        assert not view.flags["C_CONTIGUOUS"] or view.base is not None
        want = mr.apply(np.ascontiguousarray(view), "gaussian_noise", 0.05, seed=4, image_id=9)
        assert np.array_equal(mr.apply(view, "gaussian_noise", 0.05, seed=4, image_id=9), want)
    ro = base.copy()
    ro.setflags(write=False)
    assert np.array_equal(mr.apply(ro, "contrast", 0.3), mr.apply(base, "contrast", 0.3))


def test_apply_batch_equals_apply_per_image():
    rng = np.random.default_rng(3)
    stack = rng.integers(0, 255, (5, 32, 40), dtype=np.uint8)
    strengths = [0.01, 0.02, 0.03, 0.04, 0.05]
    got = mr.apply_batch(stack, "gaussian_noise", strengths, seed=7, image_ids=[5, 4, 3, 2, 1])
    assert isinstance(got, np.ndarray) and got.shape == stack.shape
    for i in range(5):
        want = mr.apply(stack[i], "gaussian_noise", strengths[i], seed=7, image_id=5 - i)
        assert np.array_equal(got[i], want)
    as_list = mr.apply_batch(list(stack), "gaussian_noise", 0.02)
    assert isinstance(as_list, list) and np.array_equal(as_list[1], mr.apply(stack[1], "gaussian_noise", 0.02, image_id=1))


# ---- SSIM equals scikit-image -------------------------------------------------------------

def test_ssim_equals_scikit_image(cli, tmp_path):
    rng = np.random.default_rng(4)
    pairs = []
    for m, ch in [("ct", None), ("mri", None), ("dermoscopy", None), ("pathology", None), ("us", None)]:
        a = phantom(cli, tmp_path, m, 72, 5, ch).astype(np.float32) / 255
        b = np.clip(a + rng.normal(0, 0.08, a.shape).astype(np.float32), 0, 1)
        pairs.append((a, b))
    pairs.append((rng.random((33, 47), dtype=np.float32), rng.random((33, 47), dtype=np.float32)))
    for a, b in pairs:
        ch = -1 if a.ndim == 3 else None
        wang = structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=1.0, channel_axis=ch)
        sk = structural_similarity(a, b, data_range=1.0, channel_axis=ch)
        assert mr.ssim(a, b) == pytest.approx(wang, abs=1e-6)
        assert mr.ssim(a, b, variant="skimage") == pytest.approx(sk, abs=1e-6)


# ---- Corrupt: determinism, DataLoader workers, boxes ----------------------------------------

class Phantoms:
    """A torch Dataset of corrupted phantoms (module level: picklable for worker processes)."""

    def __init__(self, images, corrupt):
        self.images, self.corrupt = images, corrupt

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        out = self.corrupt(image=self.images[i], index=i)
        return out["image"], json.dumps(out["params"])


def _loader_samples(ds, workers):
    import torch

    # a worker that hangs (the fork problem of thread pools) fails the test instead of stalling it
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=workers, shuffle=False,
                                         timeout=120 if workers else 0)
    imgs, params = [], []
    for batch_imgs, batch_params in loader:
        imgs.extend(x.numpy() for x in batch_imgs)
        params.extend(batch_params)
    return imgs, params


def test_dataloader_workers_give_identical_samples(cli, tmp_path):
    images = [phantom(cli, tmp_path, "ct", 48, s) for s in range(6)]
    corrupt = mr.Corrupt(modality="ct", perturbations="all", levels=(1, 3, 5), seed=11, p=0.8)
    ref_imgs, ref_params = _loader_samples(Phantoms(images, corrupt), 0)
    for workers in (1, 2):
        imgs, params = _loader_samples(Phantoms(images, corrupt), workers)
        assert params == ref_params
        assert all(np.array_equal(a, b) for a, b in zip(imgs, ref_imgs))
    # different indices draw differently; every drawn sample replays exactly with apply
    chosen = [json.loads(p) for p in ref_params]
    drawn = [json.dumps(p) for p in chosen if p is not None]
    assert len(drawn) >= 3 and len(set(drawn)) == len(drawn)
    for i, p in enumerate(chosen):
        if p is None:
            assert np.array_equal(ref_imgs[i], images[i])
            continue
        replay = mr.apply(images[i], p["perturbation"], p["strength"], seed=p["seed"], image_id=p["image_id"])
        assert np.array_equal(replay, ref_imgs[i])
    # the epoch changes the draws; global RNG state does not
    np.random.seed(0)
    a = corrupt(image=images[0], index=0)["params"]
    np.random.seed(1)
    assert corrupt(image=images[0], index=0)["params"] == a
    corrupt.set_epoch(1)
    assert corrupt(image=images[0], index=0)["params"] != a


def test_corrupt_moves_masks_boxes_and_keypoints_with_the_image(cli, tmp_path):
    out = tmp_path / "p.png"
    cli("phantom", "--modality", "ct", "--size", "96", "--seed", "3", "--out", out, "--mask", tmp_path / "m.png")
    img, mask = read_png(out), read_png(tmp_path / "m.png") > 0
    ys, xs = np.nonzero(mask)
    box = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, "lesion"]
    corrupt = mr.Corrupt(perturbations=["rotation"], levels=(4,), seed=5)
    got = corrupt(image=img, mask=mask, bboxes=[box], keypoints=[(48.0, 48.0, "centre")], index=3)
    p = got["params"]
    want_img, want_mask = mr.apply(img, "rotation", p["strength"], seed=p["seed"], image_id=p["image_id"], mask=mask)
    assert np.array_equal(got["image"], want_img) and np.array_equal(got["mask"], want_mask)
    (x0, y0, x1, y1, label), = got["bboxes"]
    wy, wx = np.nonzero(want_mask)
    assert label == "lesion"
    assert x0 <= wx.min() and y0 <= wy.min() and x1 >= wx.max() + 1 and y1 >= wy.max() + 1
    assert 0 <= x0 < x1 <= 96 and 0 <= y0 < y1 <= 96
    (kx, ky, klabel), = got["keypoints"]
    assert klabel == "centre" and abs(kx - 48) < 2 and abs(ky - 48) < 2  # rotation about the centre
    # a non-geometric perturbation keeps boxes as given
    plain = mr.Corrupt(perturbations=["contrast"], levels=(2,))(image=img, bboxes=[box], index=0)
    assert plain["bboxes"] == [tuple(box)]


def test_table_calibration_fit_and_the_clis_table(cli, tmp_path):
    d = tmp_path
    imgs = []
    for s in range(3):
        cli("phantom", "--modality", "mri", "--size", "64", "--seed", s, "--out", d / f"in/{s}.png")
        imgs.append(read_png(d / f"in/{s}.png"))
    cli("perturb", "--input", d / "in", "--out", d / "out", "--perturbations", "gaussian_blur",
        "--levels", "2,4", "--calibration", "per-dataset", "--calibration-images", "3")
    table = mr.load_table(d / "out/strengths.json")
    recs = [json.loads(l) for l in (d / "out/manifest.jsonl").read_text().splitlines()]
    for r in recs:
        assert table[("gaussian_blur", r["level"])] == r["strength"]
    ids = [mr.image_id(f"{s}.png") for s in range(3)]
    fitted = mr.Corrupt(perturbations=["gaussian_blur"], levels=(2, 4)).fit(imgs, image_ids=ids)
    assert fitted.table == table
    c = mr.Corrupt(perturbations=["gaussian_blur"], levels=(2, 4), calibration="table", table=table)
    out = c(image=imgs[0], index=1)
    assert out["params"]["strength"] == table[("gaussian_blur", out["params"]["level"])]


# ---- adapters ------------------------------------------------------------------------------

def test_albumentations_and_monai_style_adapters(cli, tmp_path):
    import albumentations as A

    out = tmp_path / "p.png"
    cli("phantom", "--modality", "ct", "--size", "64", "--seed", "2", "--out", out, "--mask", tmp_path / "m.png")
    img, mask = read_png(out), (read_png(tmp_path / "m.png") > 0).astype(np.uint8)
    only = A.Compose([adapters.MedFMCorrupt(perturbations=["gaussian_noise"], levels=(3,), seed=1)])
    direct = mr.Corrupt(perturbations=["gaussian_noise"], levels=(3,), seed=1)(image=img)
    assert np.array_equal(only(image=img)["image"], direct["image"])
    dual = adapters.MedFMCorruptDual(perturbations=["rotation"], levels=(3,), seed=1)
    res = dual(image=img, mask=mask)
    ref = mr.Corrupt(perturbations=["rotation"], levels=(3,), seed=1)(image=img, mask=mask)
    assert np.array_equal(res["image"], ref["image"]) and np.array_equal(res["mask"], ref["mask"])
    assert res["mask"].dtype == np.uint8
    d = adapters.MedFMCorruptd(keys=["img"], mask_key="seg", index_key="i", perturbations=["rotation"], levels=(3,))
    sample = d({"img": img, "seg": mask, "i": 7})
    assert sample["img_medfm"]["perturbation"] == "rotation"
    replay = mr.apply(img, "rotation", sample["img_medfm"]["strength"], seed=0,
                      image_id=sample["img_medfm"]["image_id"], mask=mask)
    assert np.array_equal(sample["img"], replay[0]) and np.array_equal(sample["seg"], replay[1])


# ---- bad input: named exceptions, never a crash -------------------------------------------

class FakeCudaTensor:
    class device:  # noqa: N801 - mimics torch.device
        type = "cuda"

    def numpy(self):
        raise AssertionError("not reached")


def test_bad_inputs_raise_named_exceptions():
    img = np.zeros((32, 32), np.uint8)
    cases = [
        (TypeError, "dtype", lambda: mr.apply(img.astype(np.int32), "contrast", 0.2)),
        (TypeError, "numpy array", lambda: mr.apply([[0, 1]], "contrast", 0.2)),
        (TypeError, "tensor.cpu()", lambda: mr.apply(FakeCudaTensor(), "contrast", 0.2)),
        (ValueError, "shape", lambda: mr.apply(np.zeros((2, 8, 8, 3), np.uint8), "contrast", 0.2)),
        (ValueError, "shape", lambda: mr.apply(np.zeros((8, 8, 4), np.uint8), "contrast", 0.2)),
        (KeyError, "perturbations()", lambda: mr.apply(img, "no_such_thing", 0.2)),
        (ValueError, "mask", lambda: mr.apply(img, "rotation", 5.0, mask=np.zeros((31, 32), bool))),
        (TypeError, "mask", lambda: mr.apply(img, "rotation", 5.0, mask=np.zeros((32, 32), np.float32))),
        (ValueError, "level", lambda: mr.calibrate(img, "contrast", levels=[6])),
        (ValueError, "level", lambda: mr.Corrupt(levels=(0,))),
        (ValueError, "range", lambda: mr.apply(img, "contrast", 99.0)),
        (ValueError, "[0, 1]", lambda: mr.apply(np.full((32, 32), 2.0, np.float32), "contrast", 0.2)),
        (ValueError, "ssim_variant", lambda: mr.calibrate(img, "contrast", ssim_variant="psnr")),
        (ValueError, "shape", lambda: mr.ssim(img, np.zeros((32, 31), np.uint8))),
        (ValueError, "SSIM window", lambda: mr.calibrate(np.zeros((5, 5), np.uint8), "contrast")),
        (KeyError, "catalogue", lambda: mr.Corrupt(perturbations=["nope"])),
    ]
    for exc, word, call in cases:
        with pytest.raises(exc) as e:
            call()
        assert word in str(e.value), (word, str(e.value))


def test_computation_releases_the_gil():
    import time

    big = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    t = threading.Thread(target=count)
    t.start()
    try:
        t0 = time.perf_counter()
        mr.calibrate(big, "gaussian_blur", levels=[1, 2, 3, 4, 5])
        t1 = time.perf_counter()
    finally:
        stop.set()
        t.join()
    # While Rust works, the other Python thread keeps running in the middle of the call; with
    # the GIL held it could not run at all there.
    lo, hi = t0 + 0.1 * (t1 - t0), t1 - 0.1 * (t1 - t0)
    assert sum(lo < x < hi for x in ticks) > 100, (t1 - t0, len(ticks))


def test_cpu_torch_tensors_are_read_through_numpy():
    import torch

    img = np.random.default_rng(5).integers(0, 255, (32, 40, 3), dtype=np.uint8)
    t = torch.from_numpy(img)
    assert np.array_equal(mr.apply(t, "contrast", 0.3), mr.apply(img, "contrast", 0.3))
    assert mr.ssim(t, torch.from_numpy(img)) == pytest.approx(1.0)
