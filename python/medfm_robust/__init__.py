"""medfm_robust: the 40 calibrated MedFM-Robust corruptions as a fast, deterministic augmentation
backend (the Rust crate medfm-robust, through PyO3).

Functions take numpy arrays H x W or H x W x C (C = 1 or 3) of dtype uint8, uint16 or float32
(float32 on the [0, 1] scale) and return arrays of the input's shape and dtype. Every
computation releases the GIL. A CPU torch tensor is accepted (read through ``tensor.numpy()``,
no copy); a CUDA tensor raises TypeError. See docs/python.md.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _native

__all__ = [
    "perturbations",
    "apply",
    "apply_batch",
    "calibrate",
    "ssim",
    "band",
    "image_id",
    "load_table",
    "Corrupt",
]
__version__ = _native.__version__

_LEVELS = (1, 2, 3, 4, 5)


def _array(x: Any, arg: str) -> np.ndarray:
    """numpy arrays as they are; CPU torch tensors through .numpy() (a view); CUDA ones refused."""
    if isinstance(x, np.ndarray):
        return x
    device = getattr(x, "device", None)
    if device is not None and hasattr(x, "numpy"):
        kind = getattr(device, "type", str(device))
        if kind != "cpu":
            raise TypeError(
                f"{arg}: a tensor on '{device}' is not supported yet (the GPU path is not in the "
                f"Python package); move it first: tensor.cpu()"
            )
        return x.detach().numpy() if hasattr(x, "detach") else x.numpy()
    raise TypeError(
        f"{arg}: expected a numpy array (H x W or H x W x C), got {type(x).__name__}; "
        f"pass np.asarray(...)"
    )


def perturbations(modality: Optional[str] = None) -> List[Dict[str, Any]]:
    """The catalogue (the fields of ``medfm-robust list --json``): every base perturbation plus
    ``modality``'s medical ones (all of them when ``modality`` is None), in registry order."""
    return json.loads(_native.catalogue_json(modality))


_catalogue = perturbations


def _ids() -> Dict[str, Dict[str, Any]]:
    return {p["id"]: p for p in _catalogue()}


def apply(
    image: Any,
    perturbation: str,
    strength: float,
    *,
    seed: int = 0,
    image_id: int = 0,
    mask: Any = None,
) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
    """``perturbation`` at ``strength`` on ``image``; with ``mask`` (H x W, bool or uint8), also
    the mask moved as the image is (geometric perturbations; others return it unchanged).

    Same (seed, image_id, perturbation, strength) gives the same bytes as the CLI, whose manifest
    records ``image_id`` (``image_id(relative_path)``) and ``strength``.
    """
    img = _array(image, "image")
    m = None if mask is None else _array(mask, "mask")
    return _native.apply(img, perturbation, float(strength), int(seed), int(image_id), m)


def apply_batch(
    images: Union[Sequence[Any], np.ndarray],
    perturbation: str,
    strengths: Union[float, Sequence[float]],
    *,
    seed: int = 0,
    image_ids: Optional[Sequence[int]] = None,
) -> Union[List[np.ndarray], np.ndarray]:
    """``apply`` over a list of images or an N x H x W [x C] array, in parallel on the crate's
    thread pool. ``strengths``: one float for all or one per image; ``image_ids`` default 0..N-1.
    Returns a list for a list, an array for an array."""
    stacked = isinstance(images, np.ndarray)
    if stacked:
        if images.ndim not in (3, 4):
            raise ValueError(
                f"images: shape {images.shape} is not N x H x W or N x H x W x C"
            )
        items = list(images)
    else:
        items = [_array(x, f"images[{i}]") for i, x in enumerate(images)]
    n = len(items)
    if isinstance(strengths, (int, float)):
        s = [float(strengths)] * n
    else:
        s = [float(v) for v in strengths]
    ids = None if image_ids is None else [int(v) for v in image_ids]
    out = _native.apply_batch(items, perturbation, s, int(seed), ids)
    return np.stack(out) if stacked and out else out


def calibrate(
    image: Any,
    perturbation: str,
    *,
    levels: Iterable[int] = _LEVELS,
    seed: int = 0,
    image_id: int = 0,
    ssim_variant: str = "wang",
) -> List[Dict[str, Any]]:
    """Per-image calibration, as ``medfm-robust perturb`` does it: per level a dict with
    ``level``, ``strength``, ``ssim`` (of the output at the input's dtype), ``in_band``,
    ``verdict`` and ``reason`` (None when in band)."""
    lv = [int(v) for v in levels]
    return _native.calibrate(_array(image, "image"), perturbation, lv, int(seed), int(image_id), ssim_variant)


def ssim(a: Any, b: Any, *, variant: str = "wang") -> float:
    """SSIM of ``b`` against ``a`` (same shape and dtype scale). ``wang`` equals scikit-image's
    ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
    data_range=1)``, ``skimage`` its default (7 x 7, data_range=1); colour: the channel mean."""
    return _native.ssim(_array(a, "a"), _array(b, "b"), variant)


def band(level: int) -> Tuple[float, float]:
    """The SSIM band (lo, hi) of a severity level 1-5."""
    return _native.band(int(level))


def image_id(relative_path: str) -> int:
    """The CLI's RNG image id of a path relative to its input folder ('/'-separated)."""
    return _native.image_id(relative_path)


def load_table(path: str, *, scope: Optional[str] = None, ssim_variant: str = "wang") -> Dict[Tuple[str, int], Optional[float]]:
    """A strength table written by the CLI's per-dataset calibration (``strengths.json``):
    {(perturbation, level): strength}. ``scope``: the dataset part of its keys (for ``perturb``,
    ``"<modality>:<modality>"``, or ``"any:any"`` without one); None accepts a file of one scope."""
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    entries = raw.get("entries", raw) if isinstance(raw, dict) else raw
    table: Dict[Tuple[str, int], Optional[float]] = {}
    scopes = set()
    for key, value in entries.items():
        parts = key.split("|")
        if len(parts) < 4 or not parts[2].startswith("L"):
            raise ValueError(f"{path}: key '{key}' is not 'perturbation|scope|L<level>|variant|...'")
        pid, sc, lvl, var = parts[0], parts[1], int(parts[2][1:]), parts[3]
        if var != ssim_variant or (scope is not None and sc != scope):
            continue
        scopes.add(sc)
        strength = value.get("strength") if isinstance(value, dict) else value
        table[(pid, lvl)] = None if strength is None else float(strength)
    if scope is None and len(scopes) > 1:
        raise ValueError(f"{path}: holds several datasets {sorted(scopes)}; pass scope=...")
    return table


def _key_bytes(*parts: Any) -> bytes:
    return "\x00".join(str(p) for p in parts).encode()


def _digest(*parts: Any) -> int:
    return int.from_bytes(hashlib.blake2b(_key_bytes(*parts), digest_size=8).digest(), "little")


class Corrupt:
    """A training transform: each call picks a perturbation and a level, calibrates the strength
    (on this image, or from a table) and returns the corrupted sample.

    ``Corrupt(...)(image=..., mask=..., bboxes=..., keypoints=..., index=...)`` returns a dict
    with the keys it was given plus ``params`` = {perturbation, level, strength, ssim, in_band,
    seed, image_id} (None when the sample was left clean by ``p``), so any sample can be
    replayed exactly with ``apply(image, params["perturbation"], params["strength"],
    seed=params["seed"], image_id=params["image_id"])``.

    Determinism: the choices and the noise of a sample depend only on (seed, epoch, key), where
    key is ``index`` (or ``key``) when given, else a hash of the image's bytes; never on the
    worker that runs it or on numpy / torch / random global state. Call ``set_epoch(n)`` each
    epoch for fresh corruptions.

    Boxes (``bboxes``: [x_min, y_min, x_max, y_max, ...extra] in pixels, pascal_voc) and
    keypoints ((x, y, ...extra)) move with geometric perturbations: a box is filled as a mask,
    warped like the image, and replaced by the tight box of what is left (clipped to the image);
    a box with nothing left is dropped. A keypoint is a 3 x 3 patch warped the same way and
    replaced by its centroid; one that leaves the image is dropped. Non-geometric perturbations
    keep boxes and keypoints as given.
    """

    def __init__(
        self,
        modality: Optional[str] = None,
        perturbations: Union[str, Sequence[str]] = "all",
        levels: Iterable[int] = _LEVELS,
        p: float = 1.0,
        seed: int = 0,
        calibration: str = "per-image",
        table: Optional[Dict[Tuple[str, int], Optional[float]]] = None,
        ssim_variant: str = "wang",
    ) -> None:
        catalogue = _catalogue(modality)
        if isinstance(perturbations, str):
            if perturbations == "all":
                ids = [c["id"] for c in catalogue if c["category"] != "extra"]
            elif perturbations in ("base", "medical", "extra"):
                ids = [c["id"] for c in catalogue if c["category"] == perturbations]
            else:
                ids = [s.strip() for s in perturbations.split(",") if s.strip()]
        else:
            ids = list(perturbations)
        everything = _ids()
        for i in ids:
            if i not in everything:
                raise KeyError(f"perturbations: '{i}' is not in the catalogue; medfm_robust.perturbations() lists the ids")
        if not ids:
            raise ValueError(f"perturbations: {perturbations!r} selects nothing for modality {modality!r}")
        self.levels = tuple(int(v) for v in levels)
        for lv in self.levels:
            if lv not in _LEVELS:
                raise ValueError(f"levels: {lv} is not a severity level; use 1, 2, 3, 4 or 5")
        if not self.levels:
            raise ValueError("levels: give at least one level (1-5)")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p: {p} is not a probability in [0, 1]")
        if calibration not in ("per-image", "table"):
            raise ValueError(f"calibration: {calibration!r} is not 'per-image' or 'table'")
        self.ids = ids
        self.info = {i: everything[i] for i in ids}
        self.p = float(p)
        self.seed = int(seed)
        self.calibration = calibration
        self.table = dict(table) if table is not None else None
        self.ssim_variant = ssim_variant
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next samples those of ``epoch`` (each epoch corrupts differently)."""
        self.epoch = int(epoch)

    def fit(self, images: Sequence[Any], *, image_ids: Optional[Sequence[int]] = None) -> "Corrupt":
        """Measure one strength per (perturbation, level) on ``images`` (the CLI's per-dataset
        calibration: the median in-band strength) and switch to ``calibration="table"``."""
        arrays = [_array(x, f"images[{i}]") for i, x in enumerate(images)]
        ids = None if image_ids is None else [int(v) for v in image_ids]
        table: Dict[Tuple[str, int], Optional[float]] = {}
        for pid in self.ids:
            got = _native.calibrate_table(arrays, pid, list(self.levels), self.seed, ids, self.ssim_variant)
            for lv, s in got.items():
                table[(pid, int(lv))] = s
        self.table = table
        self.calibration = "table"
        return self

    def _choose(self, key: Any) -> Tuple[bool, str, int, int]:
        rng = random.Random(_digest("medfm_robust.Corrupt", self.seed, self.epoch, key))
        apply_it = rng.random() < self.p
        pid = rng.choice(self.ids)
        level = rng.choice(self.levels)
        # the perturbation's own RNG key: differs per sample and epoch, fixed by them
        iid = _digest("image_id", self.seed, self.epoch, key) & 0xFFFFFFFF
        return apply_it, pid, level, iid

    def __call__(self, *, image: Any, mask: Any = None, bboxes: Any = None, keypoints: Any = None,
                 index: Optional[int] = None, key: Optional[str] = None, **rest: Any) -> Dict[str, Any]:
        img = _array(image, "image")
        if index is not None:
            k: Any = ("index", int(index))
        elif key is not None:
            k = ("key", str(key))
        else:
            # hashed in place (ascontiguousarray copies only a non-contiguous view)
            h = hashlib.blake2b(np.ascontiguousarray(img).data, digest_size=16)
            h.update(_key_bytes(img.shape, img.dtype.str))
            k = ("content", h.hexdigest())
        out: Dict[str, Any] = dict(rest)
        apply_it, pid, level, iid = self._choose(k)
        if not apply_it:
            out.update(image=image, params=None)
            if mask is not None:
                out["mask"] = mask
            if bboxes is not None:
                out["bboxes"] = bboxes
            if keypoints is not None:
                out["keypoints"] = keypoints
            return out
        strength = None
        if self.calibration == "table":
            if self.table is None:
                raise ValueError("calibration='table' needs a table: call fit(images) or pass table=load_table(path)")
            if (pid, level) not in self.table:
                raise KeyError(f"table has no strength for ({pid!r}, L{level}); fit on this perturbation or pass a table that has it")
            strength = self.table[(pid, level)]
            if strength is None:
                # no calibration image reached the band: the maximal strength, as the CLI does
                strength = float(self.info[pid]["strength_range"][1])
        geometric = bool(self.info[pid]["geometric"])
        h, w = img.shape[0], img.shape[1]
        masks: List[np.ndarray] = []
        m = None if mask is None else _array(mask, "mask")
        if m is not None:
            masks.append(m)
        boxes = [] if bboxes is None else [list(b) for b in bboxes]
        points = [] if keypoints is None else [list(kp) for kp in keypoints]
        if geometric:
            for i, b in enumerate(boxes):
                masks.append(_box_mask(b, h, w, f"bboxes[{i}]"))
            for kp in points:
                masks.append(_point_mask(kp, h, w))
        new_img, new_masks, info = _native.produce(
            img, pid, level, self.seed, iid, self.ssim_variant, strength, masks
        )
        params = {
            "perturbation": pid,
            "level": level,
            "strength": info["strength"],
            "ssim": info["ssim"],
            "in_band": info["in_band"],
            "seed": self.seed,
            "image_id": iid,
        }
        out.update(image=new_img, params=params)
        if m is not None:
            out["mask"] = new_masks[0]
        rest_masks = new_masks[1:] if m is not None else new_masks
        if bboxes is not None:
            if geometric:
                moved = []
                for b, bm in zip(boxes, rest_masks[: len(boxes)]):
                    tight = _mask_box(bm)
                    if tight is not None:
                        moved.append(tuple(tight) + tuple(b[4:]))
                out["bboxes"] = moved
            else:
                out["bboxes"] = [tuple(b) for b in boxes]
        if keypoints is not None:
            if geometric:
                moved_k = []
                for kp, km in zip(points, rest_masks[len(boxes):]):
                    ys, xs = np.nonzero(km)
                    if len(xs):
                        moved_k.append((float(xs.mean()), float(ys.mean())) + tuple(kp[2:]))
                out["keypoints"] = moved_k
            else:
                out["keypoints"] = [tuple(kp) for kp in points]
        return out


def _box_mask(b: Sequence[float], h: int, w: int, arg: str) -> np.ndarray:
    if len(b) < 4:
        raise ValueError(f"{arg}: {b} is not [x_min, y_min, x_max, y_max, ...]")
    x0, y0, x1, y1 = (float(v) for v in b[:4])
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"{arg}: {b} needs x_min < x_max and y_min < y_max (pixels, pascal_voc)")
    m = np.zeros((h, w), dtype=np.uint8)
    c0, r0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    c1, r1 = min(w, int(np.ceil(x1))), min(h, int(np.ceil(y1)))
    if c0 < c1 and r0 < r1:
        m[r0:r1, c0:c1] = 1
    return m


def _point_mask(kp: Sequence[float], h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), dtype=np.uint8)
    x, y = int(round(float(kp[0]))), int(round(float(kp[1])))
    m[max(0, y - 1): max(0, y + 2), max(0, x - 1): max(0, x + 2)] = 1
    return m


def _mask_box(m: np.ndarray) -> Optional[Tuple[float, float, float, float]]:
    ys, xs = np.nonzero(m)
    if not len(xs):
        return None
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
