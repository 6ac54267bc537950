#!/usr/bin/env python3
"""Fixture for the compat profile's calibration (src/calibrate/compat.rs, tests/run_compat.rs).

Re-implements the authors' search (vfdv52/MedFM-Robust-,
Segmentation/segmentation_generate_perb_all_V10_adpative_efficient.py: find_adaptive_param and
compute_ssim, as described in notes/perturbations-research.md section 1.3) on a fixed image with
three perturbations whose formulas are written so that the Rust side computes exactly the same:

- gaussian_noise: clip(x + sigma * n, 0, 1) with an explicit N(0, 1) field n saved in the fixture
  (the authors draw n from the global np.random at every probe; a fixed field makes the search
  reproducible), search range [0.001, 0.3];
- gaussian_blur: scipy.ndimage.gaussian_filter(x, sigma) (mode reflect, truncate 4), range
  [0.1, 10];
- contrast: clip(mu + (x - mu) * (1 + c), 0, 1), mu the image mean, range [0, 3] (a contrast
  increase; clipping makes it visible to the min-max normalised SSIM).

compute_ssim: each image min-max normalised over all its values, then skimage
structural_similarity(a, b, data_range=1.0) (uniform 7x7 window, sample covariance). The search:
target = band midpoint, at most 20 probes at the midpoint of [lo, hi], accept when SSIM is within
[band_lo - 0.02, band_hi + 0.02], SSIM > target -> stronger (lo = mid), else weaker (hi = mid);
no accepted probe -> the probe closest to the target (first one on ties).

Perturbed images are rounded to float32 (the Rust Image type) before SSIM; SSIM is computed in
float64 from those float32 values.

Pinned: numpy 2.x, scipy 1.x, scikit-image==0.26.0 (tools/requirements-fixtures.txt).
Run: python tools/gen_compat_fixtures.py  -> tests/fixtures/compat_search.json
"""
import json
import os

import numpy as np
import scipy.ndimage as ndi
import skimage
from skimage.metrics import structural_similarity

assert skimage.__version__ == "0.26.0", skimage.__version__

BANDS = {1: (0.90, 0.98), 3: (0.70, 0.79), 5: (0.50, 0.59)}
MAX_ITER = 20
TOL = 0.02
W = H = 48


def image():
    i, j = np.mgrid[0:H, 0:W].astype(np.float64)
    x = 0.25 + 0.35 * (i / H) * (1 - j / W) + 0.15 * (((7 * i + 3 * j) % 17) / 16.0)
    x += 0.3 * (((i - 20) ** 2 + (j - 26) ** 2) < 100)
    return np.clip(x, 0, 1).astype(np.float32)


def compute_ssim(a, b):
    def norm(v):
        v = v.astype(np.float64)
        return (v - v.min()) / (v.max() - v.min())

    return float(structural_similarity(norm(a), norm(b), data_range=1.0))


def search(clean, apply, rng, band):
    lo_b, hi_b = band
    target = (lo_b + hi_b) / 2
    lo, hi = rng
    best = None
    probes = []
    for _ in range(MAX_ITER):
        mid = (lo + hi) / 2
        s = compute_ssim(clean, apply(mid))
        probes.append([mid, s])
        if best is None or abs(s - target) < abs(best[1] - target):
            best = (mid, s)
        if lo_b - TOL <= s <= hi_b + TOL:
            return {"param": mid, "ssim": s, "accepted": True, "probes": probes}
        if s > target:
            lo = mid
        else:
            hi = mid
    return {"param": best[0], "ssim": best[1], "accepted": False, "probes": probes}


def main():
    x = image()
    noise = np.random.default_rng(7).standard_normal((H, W)).astype(np.float32)
    xd = x.astype(np.float64)
    mu = float(np.mean(x.astype(np.float64)))
    perts = {
        "gaussian_noise": ((0.001, 0.3), lambda s: np.clip(xd + s * noise.astype(np.float64), 0, 1).astype(np.float32)),
        "gaussian_blur": ((0.1, 10.0), lambda s: ndi.gaussian_filter(xd, s, mode="reflect", truncate=4.0).astype(np.float32)),
        "contrast": ((0.0, 3.0), lambda s: np.clip(mu + (xd - mu) * (1 + s), 0, 1).astype(np.float32)),
    }
    out = {
        "generator": "tools/gen_compat_fixtures.py",
        "skimage": skimage.__version__,
        "width": W,
        "height": H,
        "image": x.ravel().tolist(),
        "noise": noise.ravel().tolist(),
        "mean": mu,
        "cases": [],
    }
    for name, (rng, apply) in perts.items():
        for level, band in BANDS.items():
            r = search(x, apply, rng, band)
            out["cases"].append({"perturbation": name, "range": list(rng), "level": level, "band": list(band), **r})
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "compat_search.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f)
    for c in out["cases"]:
        print(c["perturbation"], c["level"], round(c["param"], 6), round(c["ssim"], 6), c["accepted"], len(c["probes"]))


if __name__ == "__main__":
    main()
