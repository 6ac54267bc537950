#!/usr/bin/env python3
"""Write tests/fixtures/disk_psf_cases.json: scipy.ndimage.convolve oracle values for the disk
PSF of src/perturb/common/psf.rs (used by oct_defocus), tested in
tests/medical_path_endo_oct_derm.rs.

Pinned: numpy==2.4.6, scipy==1.17.1 (tools/requirements-fixtures.txt).
Deterministic: inputs from numpy.random.default_rng(SEED + case index), quantised to k/255 so the
Rust side holds bit-identical float32 inputs.

Kernel (the crate's documented definition): tap weight clamp(r + 0.5 - d, 0, 1) at integer
offsets (dx, dy) with d = hypot(dx, dy), half size ceil(r + 0.5) - 1 (at least 0), normalised
to sum 1. The disk is symmetric, so convolution and correlation agree. Border:
mode='reflect' (half-sample symmetric, d c b a | a b c d | d c b a).

Layout per case: w, h, radius, q (row-major uint8 codes, value = q / 255), expected (row-major
float64 output).

Usage: python tools/gen_disk_psf_fixtures.py [output path]
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

SEED = 20261128
CASES = [(13, 9, 1.0), (17, 11, 2.5), (12, 15, 4.2), (7, 6, 5.6)]


def disk_kernel(r: float) -> np.ndarray:
    half = max(math.ceil(r + 0.5) - 1, 0)
    ax = np.arange(-half, half + 1, dtype=np.float64)
    d = np.hypot(ax[None, :], ax[:, None])
    k = np.clip(r + 0.5 - d, 0.0, 1.0)
    return k / k.sum()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "tests/fixtures/disk_psf_cases.json"
    cases = []
    for i, (w, h, r) in enumerate(CASES):
        rng = np.random.default_rng(SEED + i)
        q = rng.integers(0, 256, size=(h, w), dtype=np.int64)
        x = (q.astype(np.float32) / np.float32(255)).astype(np.float64)
        y = ndimage.convolve(x, disk_kernel(r), mode="reflect")
        cases.append({"w": w, "h": h, "radius": r, "q": q.ravel().tolist(), "expected": y.ravel().tolist()})
    out.write_text(json.dumps({"generator": "tools/gen_disk_psf_fixtures.py", "scipy": "1.17.1", "cases": cases}))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
