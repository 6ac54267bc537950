#!/usr/bin/env python3
"""Fixtures for tests/base_oracles.rs: independent references for the base perturbations.

Pinned: numpy==2.4.6, scipy==1.17.1, scikit-image==0.26.0 (also in tools/requirements-fixtures.txt).
Run from the repository root:  python tools/gen_base_fixtures.py
Writes tests/fixtures/base_{gaussian_blur,brightness,rotation}.json.

Images are planar (c, h, w), float32 values in [0, 1], written as exact decimal floats, so the
Rust test sees the same f32 inputs. References are computed in float64.
- gaussian_blur: scipy.ndimage.gaussian_filter(plane, sigma, mode='reflect', truncate=4.0) per plane.
- brightness (RGB): skimage.color.rgb2hsv, V = clip(V + s, 0, 1), skimage.color.hsv2rgb.
- rotation: OpenCV's forward rotation matrix (getRotationMatrix2D formula) about the centre
  ((w-1)/2, (h-1)/2), inverted with numpy, applied with scipy.ndimage.affine_transform(order=1,
  mode='reflect'); `interior` marks the output pixels whose source point lies inside
  [0, h-1] x [0, w-1], where no border rule is involved.
"""
import json
import os

import numpy as np
import scipy
import scipy.ndimage as ndi
import skimage
from skimage.color import hsv2rgb, rgb2hsv

PINS = {"numpy": "2.4.6", "scipy": "1.17.1", "scikit-image": "0.26.0"}
OUT = os.path.join("tests", "fixtures")


def check_pins():
    got = {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-image": skimage.__version__}
    if got != PINS:
        raise SystemExit(f"version mismatch: pinned {PINS}, found {got}")


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def smooth_random(rng, c, h, w):
    """Random image with some structure: noise + blurred noise, float32 in [0, 1]."""
    x = rng.random((c, h, w))
    x = 0.5 * x + 0.5 * ndi.gaussian_filter(x, (0, 1.5, 1.5), mode="reflect")
    x = (x - x.min()) / (x.max() - x.min())
    return x.astype(np.float32)


def gaussian_blur(rng):
    cases = []
    for (c, h, w) in [(1, 17, 23), (3, 13, 19)]:
        img = smooth_random(rng, c, h, w)
        for sigma in [0.6, 2.5, 7.0]:
            out = np.stack([ndi.gaussian_filter(img[k].astype(np.float64), sigma, mode="reflect", truncate=4.0) for k in range(c)])
            cases.append({"channels": c, "height": h, "width": w, "sigma": sigma, "input": flat(img), "expected": flat(out)})
    return {"tolerance": 1e-5, "cases": cases}


def brightness(rng):
    h, w = 12, 16
    img = rng.random((h, w, 3)).astype(np.float32)
    img[0, 0] = 0.0  # black: S = 0, becomes grey
    img[0, 1] = 0.4  # grey: delta = 0
    img[0, 2] = 1.0  # white
    img[1, 0] = [0.9, 0.9, 0.2]  # ties between maxima
    img[1, 1] = [0.3, 0.7, 0.7]
    img[1, 2] = [0.5, 0.1, 0.5]
    cases = []
    for s in [0.1, 0.35, 0.8]:
        hsv = rgb2hsv(img.astype(np.float64))
        hsv[..., 2] = np.clip(hsv[..., 2] + s, 0.0, 1.0)
        out = np.clip(hsv2rgb(hsv), 0.0, 1.0)
        cases.append({"s": s, "expected": flat(out.transpose(2, 0, 1))})
    return {"tolerance": 1e-5, "height": h, "width": w, "input": flat(img.transpose(2, 0, 1)), "cases": cases}


def rotation(rng):
    h, w = 18, 24
    img = smooth_random(rng, 1, h, w)[0]
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    cases = []
    for deg in [7.5, -7.5, 33.0, -33.0, 90.0, -90.0]:
        a = np.cos(np.deg2rad(deg))
        b = np.sin(np.deg2rad(deg))
        # OpenCV getRotationMatrix2D(centre, deg, 1): forward map (x, y) -> (x', y')
        fwd = np.array([[a, b, (1 - a) * cx - b * cy], [-b, a, b * cx + (1 - a) * cy], [0, 0, 1.0]])
        inv = np.linalg.inv(fwd)  # output (x, y) -> source (x, y)
        # scipy works in (row, col) = (y, x)
        m = np.array([[inv[1, 1], inv[1, 0]], [inv[0, 1], inv[0, 0]]])
        off = np.array([inv[1, 2], inv[0, 2]])
        out = ndi.affine_transform(img.astype(np.float64), m, offset=off, order=1, mode="reflect")
        yy, xx = np.mgrid[0:h, 0:w]
        sx = inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]
        sy = inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]
        eps = 1e-9
        interior = (sx >= -eps) & (sx <= w - 1 + eps) & (sy >= -eps) & (sy <= h - 1 + eps)
        cases.append({"degrees": deg, "expected": flat(out), "interior": [int(v) for v in interior.ravel()]})
    return {"tolerance": 1e-5, "height": h, "width": w, "input": flat(img), "cases": cases}


def main():
    check_pins()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261128)
    for name, fn in [("gaussian_blur", gaussian_blur), ("brightness", brightness), ("rotation", rotation)]:
        data = fn(rng)
        data["generator"] = "tools/gen_base_fixtures.py"
        data["pins"] = PINS
        with open(os.path.join(OUT, f"base_{name}.json"), "w") as f:
            json.dump(data, f, separators=(",", ":"))
        print("wrote", name)


if __name__ == "__main__":
    main()
