"""Speed of medfm_robust as an augmentation backend, side by side in one run (not a test).

Per operation: the median latency of one call on the same 512 x 512 RGB uint8 image, for
medfm_robust.apply (a fixed mid-range strength), albumentations (OpenCV) and imagecorruptions
where they have the operation (severity 3). Then `Corrupt` throughput in a torch DataLoader with
2 workers (per-image calibration and table calibration). Prints Markdown for docs/performance.md.

Run: tools/compare_augment.sh (a venv under .local/ with the wheel and
tools/requirements-augment.txt).
"""

import os
import platform
import statistics
import time

import numpy as np

import medfm_robust as mr

REPEAT = int(os.environ.get("REPEAT", "15"))


def median_ms(f, repeat=REPEAT):
    f()  # warm-up
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return 1000 * statistics.median(ts)


def image():
    y, x = np.mgrid[0:512, 0:512]
    r = np.hypot(x - 256, y - 256)
    base = np.clip(0.8 - r / 400, 0, 1)
    rng = np.random.default_rng(0)
    tex = rng.normal(0, 0.03, (512, 512))
    img = np.stack([base * 0.9, base * 0.6 + 0.1 * (x / 512), base * 0.5 + tex], -1)
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def mid(pid):
    lo, hi = next(p for p in mr.perturbations() if p["id"] == pid)["strength_range"]
    return lo + 0.5 * (hi - lo)


def albumentations_ops():
    try:
        import albumentations as A
    except Exception as e:  # noqa: BLE001 - reported in the table
        return {}, f"albumentations not importable: {e}"
    ops = {
        "gaussian_noise": A.GaussNoise(std_range=(0.1, 0.1), p=1),
        "salt_pepper": A.SaltAndPepper(amount=(0.05, 0.05), p=1),
        "speckle_noise": A.MultiplicativeNoise(multiplier=(0.8, 1.2), per_channel=True, elementwise=True, p=1),
        "gaussian_blur": A.GaussianBlur(blur_limit=(7, 7), sigma_limit=(2, 2), p=1),
        "motion_blur": A.MotionBlur(blur_limit=(15, 15), p=1),
        "brightness": A.RandomBrightnessContrast(brightness_limit=(0.2, 0.2), contrast_limit=(0, 0), p=1),
        "contrast": A.RandomBrightnessContrast(brightness_limit=(0, 0), contrast_limit=(-0.4, -0.4), p=1),
        "jpeg": A.ImageCompression(quality_range=(20, 20), p=1),
        "pixelate": A.Downscale(scale_range=(0.25, 0.25), p=1),
        "rotation": A.Rotate(limit=(15, 15), p=1),
        "scaling": A.Affine(scale=(0.8, 0.8), p=1),
        "translation": A.Affine(translate_percent=(0.1, 0.1), p=1),
    }
    return {k: (lambda t: (lambda img: t(image=img)["image"]))(v) for k, v in ops.items()}, A.__version__


def imagecorruptions_ops():
    try:
        import imagecorruptions
        from imagecorruptions import corrupt
    except Exception as e:  # noqa: BLE001 - reported in the table
        return {}, f"imagecorruptions not importable: {type(e).__name__}: {e}"
    names = {
        "gaussian_noise": "gaussian_noise",
        "salt_pepper": "impulse_noise",
        "speckle_noise": "speckle_noise",
        "gaussian_blur": "gaussian_blur",
        "motion_blur": "motion_blur",
        "brightness": "brightness",
        "contrast": "contrast",
        "jpeg": "jpeg_compression",
        "pixelate": "pixelate",
    }
    ops = {}
    for k, v in names.items():
        ops[k] = (lambda name: (lambda img: corrupt(img, corruption_name=name, severity=3)))(v)
    return ops, getattr(imagecorruptions, "__version__", "?")


class Frames:
    def __init__(self, n, corrupt):
        self.img, self.n, self.corrupt = image(), n, corrupt

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.corrupt(image=self.img, index=i)["image"]


def loader_rate(corrupt, n):
    import torch

    loader = torch.utils.data.DataLoader(Frames(n, corrupt), batch_size=4, num_workers=2)
    t0 = time.perf_counter()
    count = sum(len(b) for b in loader)
    return count / (time.perf_counter() - t0)


def main():
    img = image()
    alb, alb_version = albumentations_ops()
    ic, ic_version = imagecorruptions_ops()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, medfm_robust {mr.__version__}, "
          f"albumentations {alb_version}, imagecorruptions {ic_version}; median of {REPEAT} calls, "
          f"512 x 512 RGB uint8\n")
    print("| operation | medfm_robust ms | albumentations ms | imagecorruptions ms | vs albumentations | vs imagecorruptions |")
    print("|---|---|---|---|---|---|")
    for p in mr.perturbations():
        pid = p["id"]
        if p["category"] != "base":
            continue
        s = mid(pid)
        ours = median_ms(lambda: mr.apply(img, pid, s, seed=1, image_id=1))
        a = median_ms(lambda: alb[pid](img)) if pid in alb else None
        c = None
        if pid in ic:
            try:
                c = median_ms(lambda: ic[pid](img), repeat=max(3, REPEAT // 3))
            except Exception as e:  # noqa: BLE001 - the library's own failure, reported
                c = f"fails: {type(e).__name__}"

        def cell(v):
            return "-" if v is None else v if isinstance(v, str) else f"{v:.2f}"

        def ratio(v):
            return "-" if v is None or isinstance(v, str) else f"{v / ours:.2f}x"

        print(f"| {pid} | {ours:.2f} | {cell(a)} | {cell(c)} | {ratio(a)} | {ratio(c)} |")
    print("\nratio = other library's time / medfm_robust's time (> 1: medfm_robust is faster).\n")
    per_image = mr.Corrupt(perturbations="base", levels=(1, 3, 5), seed=0)
    tabled = mr.Corrupt(perturbations="base", levels=(1, 3, 5), seed=0).fit([img])
    n = int(os.environ.get("SAMPLES", "48"))
    print("| Corrupt in a DataLoader (2 workers, batch 4) | samples/s |")
    print("|---|---|")
    print(f"| calibration per-image (a band search per sample) | {loader_rate(per_image, n):.1f} |")
    print(f"| calibration table (fit once) | {loader_rate(tabled, n * 4):.1f} |")


if __name__ == "__main__":
    main()
