"""Adapters for training libraries, imported only when used (their library must be installed).

- ``MedFMCorrupt`` / ``MedFMCorruptDual``: an albumentations ``ImageOnlyTransform`` and a
  ``DualTransform`` (image with masks, boxes and keypoints) around ``medfm_robust.Corrupt``;
- ``MedFMCorruptd``: a MONAI-style dictionary transform (``keys`` = the image keys); it needs
  no MONAI import, only the dict convention.

Albumentations transforms get no sample index, so their key is the image's content hash (the
default of ``Corrupt``): the same image and epoch give the same corruption in every worker.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence

import numpy as np

from . import Corrupt, apply


def _albumentations():
    try:
        import albumentations as A  # noqa: N812
    except ImportError as e:  # pragma: no cover - exercised only without albumentations
        raise ImportError("medfm_robust.adapters: albumentations is not installed (pip install albumentations)") from e
    return A


def MedFMCorrupt(p: float = 1.0, **corrupt: Any):  # noqa: N802 - a class factory
    """An albumentations ImageOnlyTransform applying ``Corrupt(**corrupt)`` with probability p."""
    A = _albumentations()

    class _MedFMCorrupt(A.ImageOnlyTransform):
        def __init__(self) -> None:
            super().__init__(p=p)
            self.corrupt = Corrupt(**corrupt)

        def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:
            return self.corrupt(image=img)["image"]

        def get_transform_init_args_names(self):
            return ()

    return _MedFMCorrupt()


def MedFMCorruptDual(p: float = 1.0, **corrupt: Any):  # noqa: N802 - a class factory
    """An albumentations DualTransform: the image corrupted by ``Corrupt(**corrupt)``, masks,
    boxes (pascal_voc pixels) and keypoints moved with geometric perturbations (the rule of
    ``Corrupt``)."""
    A = _albumentations()

    class _MedFMCorruptDual(A.DualTransform):
        def __init__(self) -> None:
            super().__init__(p=p)
            self.corrupt = Corrupt(**corrupt)

        def __call__(self, *args: Any, force_apply: bool = False, **data: Any) -> Dict[str, Any]:
            if not force_apply and self.p < 1.0 and np.random.random() >= self.p:
                return data
            keys = {k: data[k] for k in ("image", "mask", "bboxes", "keypoints") if k in data}
            out = self.corrupt(**keys)
            data.update({k: out[k] for k in keys})
            data["medfm_params"] = out["params"]
            return data

        def apply(self, img: np.ndarray, **params: Any) -> np.ndarray:  # pragma: no cover
            return self.corrupt(image=img)["image"]

        def get_transform_init_args_names(self):
            return ()

    return _MedFMCorruptDual()


class MedFMCorruptd:
    """MONAI-style dictionary transform: ``keys`` name the image entries (H x W [x C] arrays),
    ``mask_key`` an optional mask moved along; ``params`` land under ``"<key>_medfm"``. Pass
    ``index_key`` to key the randomness by a sample index stored in the dict."""

    def __init__(self, keys: Sequence[str], mask_key: Optional[str] = None, index_key: Optional[str] = None,
                 **corrupt: Any) -> None:
        self.keys = list(keys)
        self.mask_key = mask_key
        self.index_key = index_key
        self.corrupt = Corrupt(**corrupt)

    def set_epoch(self, epoch: int) -> None:
        self.corrupt.set_epoch(epoch)

    def __call__(self, data: Dict[str, Any]) -> Dict[str, Any]:
        d = dict(data)
        index = None if self.index_key is None else d[self.index_key]
        for k in self.keys:
            args: Dict[str, Any] = {"image": d[k]}
            if self.mask_key is not None and self.mask_key in d:
                args["mask"] = d[self.mask_key]
            out = self.corrupt(index=index, **args)
            d[k] = out["image"]
            if "mask" in out:
                d[self.mask_key] = out["mask"]
            d[f"{k}_medfm"] = out["params"]
        return d


__all__ = ["MedFMCorrupt", "MedFMCorruptDual", "MedFMCorruptd", "apply"]
