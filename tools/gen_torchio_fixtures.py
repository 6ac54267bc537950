#!/usr/bin/env python3
"""Fixtures for the MRI perturbations: torchio's deterministic BiasField, Ghosting and Motion
transforms applied to small 2-D images, written to tests/fixtures/torchio_bias_field.json,
tests/fixtures/torchio_ghosting.json and tests/fixtures/torchio_motion.json.

Pinned versions (also in tools/requirements-fixtures.txt):
    torchio==1.2.1
    torch==2.15.0
    numpy==2.4.6

Run from the repository root: python tools/gen_torchio_fixtures.py
The Rust tests (tests/medical_ct_mri_us_xray.rs) compare medfm_robust::perturb::mri::
torchio_bias_field / torchio_ghosting with these outputs within 1e-5, and torchio_motion within
the tolerance stated there.
Motion: torchio splits k-space along the LAST spatial axis, so the image (H x W) goes in as the
volume 1 x 1 x W x H (spatial axes: a singleton, x, y), i.e. phase encoding along the image rows'
index y, and every motion rotates about the singleton axis (degrees (a, 0, 0)) and translates in
the (x, y) plane (translation (0, t1, t2) mm, 1 mm voxels). SimpleITK's LPS frame flips the first
two axes of torchio's identity RAS affine, so in index coordinates the copy samples the image at
c + R(-a) (p - c) + (-t1, t2), c = (W/2, H/2): the Rust test converts with exactly that rule.
Layout: images are row-major lists (index y * width + x); torchio's first spatial axis is the
image row (y), its second the column (x).
"""
import json
import os

import numpy as np
import torch
import torchio as tio

EXPECTED = {"torchio": "1.2.1", "torch": "2.15.0"}
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")


def check_versions():
    got = {"torchio": tio.__version__, "torch": torch.__version__.split("+")[0]}
    if got != EXPECTED:
        raise SystemExit(f"version mismatch: expected {EXPECTED}, found {got}")


def test_image(rng, h, w):
    """A smooth pattern plus a bright block and mild noise, float32 in [0, 1]."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 0.4 + 0.25 * np.sin(2 * np.pi * x / max(w, 2)) * np.cos(2 * np.pi * y / max(h, 3))
    img[h // 4 : h // 2, w // 3 : (2 * w) // 3] += 0.3
    img += 0.05 * rng.standard_normal((h, w))
    return np.clip(img, 0, 1).astype(np.float32)


def as_volume(img):
    return torch.from_numpy(img[None, :, :, None].copy())


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def bias_cases(rng):
    cases = []
    for (h, w) in [(12, 16), (9, 7), (16, 16)]:
        for scale in [0.5, 1.5]:
            img = test_image(rng, h, w)
            coefficients = [float(c) for c in rng.uniform(-scale, scale, 20)]
            out = tio.BiasField(coefficients=coefficients, order=3)(as_volume(img))
            cases.append({
                "height": h, "width": w, "order": 3, "coefficients": coefficients,
                "input": flat(img), "output": flat(out[0, :, :, 0].numpy()),
            })
    return cases


def ghosting_cases(rng):
    cases = []
    for (h, w) in [(16, 12), (15, 9), (8, 10)]:
        img = test_image(rng, h, w)
        for num_ghosts, axis, intensity, restore in [
            (2, 0, 0.5, None), (3, 1, 1.0, None), (4, 0, 0.8, 0.25), (5, 1, 0.3, 0.5), (2, 1, 1.6, None),
        ]:
            t = tio.Ghosting(num_ghosts=num_ghosts, axis=axis, intensity=intensity, restore=restore)
            out = t(as_volume(img))
            cases.append({
                "height": h, "width": w, "num_ghosts": num_ghosts, "axis": axis,
                "intensity": intensity, "restore": restore,
                "input": flat(img), "output": flat(out[0, :, :, 0].numpy()),
            })
    return cases


def motion_cases(rng):
    cases = []
    for (h, w, k) in [(24, 20, 2), (17, 23, 3), (32, 32, 4), (21, 16, 1)]:
        img = test_image(rng, h, w)
        for amp in [3.0, 12.0]:
            degrees = np.zeros((k, 3))
            degrees[:, 0] = rng.uniform(-amp, amp, k)
            translation = np.zeros((k, 3))
            translation[:, 1:] = rng.uniform(-amp / 4, amp / 4, (k, 2))
            step = 1.0 / (k + 1)
            times = np.arange(1, k + 1) * step + rng.uniform(-0.3 * step, 0.3 * step, k)
            t = tio.Motion(degrees=degrees, translation=translation, times=times,
                           image_interpolation="linear")
            vol = torch.from_numpy(img.T[None, None].copy())
            out = t(vol)[0, 0].numpy().T
            cases.append({
                "height": h, "width": w,
                "degrees": [float(d) for d in degrees[:, 0]],
                "translation": [[float(a), float(b)] for a, b in translation[:, 1:]],
                "times": [float(v) for v in times],
                "input": flat(img), "output": flat(out),
            })
    return cases


def main():
    check_versions()
    rng = np.random.default_rng(20261128)
    meta = {"generator": "tools/gen_torchio_fixtures.py", **EXPECTED, "numpy": np.__version__}
    for name, cases in [("torchio_bias_field.json", bias_cases(rng)), ("torchio_ghosting.json", ghosting_cases(rng))]:
        path = os.path.join(OUT_DIR, name)
        with open(path, "w") as f:
            json.dump({"meta": meta, "cases": cases}, f)
        print(f"wrote {path}: {len(cases)} cases")
    # its own generator, so the cases above stay byte for byte what they were
    path = os.path.join(OUT_DIR, "torchio_motion.json")
    cases = motion_cases(np.random.default_rng(20261202))
    with open(path, "w") as f:
        json.dump({"meta": meta, "cases": cases}, f)
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
