#!/usr/bin/env python3
"""Write tests/fixtures/ssim_cases.json: SSIM oracle values from scikit-image for
tests/ssim_reference.rs.

Pinned: scikit-image==0.26.0, numpy==2.4.6, scipy==1.17.1 (tools/requirements-fixtures.txt).
Deterministic: every random array comes from numpy.random.default_rng(SEED + case index).

Inputs are stored as integer codes `q` with a denominator `denom` (255 for 8-bit, 65535 for
16-bit): the image is float32(q) / float32(denom), exactly what the crate holds after reading an
8- or 16-bit file. The expected values are computed by skimage in float64 on those same float32
values (cast up), so the Rust side sees bit-identical inputs.

Layout: `shape` = [h, w, c], `q` flat in numpy C order (h, w, c), i.e. interleaved channels.
Expected values per variant (null where skimage raises because the image is smaller than the
window):
  wang    = structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, data_range=1.0, channel_axis=-1)
  skimage = structural_similarity(a, b, data_range=1.0, channel_axis=-1)
  compat  = the reference code's compute_ssim: each image (x - min) / (max - min) over all its
            values (zeros if max - min <= 1e-8), then skimage defaults per channel, plain mean.
Per-channel values are stored too (`*_per_channel`).

Usage: python tools/gen_ssim_fixtures.py [output path]
"""

import json
import sys
from pathlib import Path

import numpy as np
import skimage
from skimage.metrics import structural_similarity

assert skimage.__version__ == "0.26.0", f"need scikit-image 0.26.0, have {skimage.__version__}"

SEED = 20260

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "ssim_cases.json"


def to_float(q, denom):
    return (q.astype(np.float32) / np.float32(denom)).astype(np.float64)


def per_channel(fn, a, b):
    return [float(fn(a[:, :, c], b[:, :, c])) for c in range(a.shape[2])]


def wang(a, b):
    return structural_similarity(
        a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
    )


def sk(a, b):
    return structural_similarity(a, b, data_range=1.0)


def normalize_for_metrics(image):
    # The reference code's _normalize_for_metrics (per image, over all channels).
    lo, hi = image.min(), image.max()
    if hi - lo > 1e-8:
        return (image - lo) / (hi - lo)
    return np.zeros_like(image)


def expected(a, b, win):
    out = {}
    if min(a.shape[0], a.shape[1]) >= 11:
        full = structural_similarity(
            a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
            data_range=1.0, channel_axis=-1,
        )
        pc = per_channel(wang, a, b)
        assert abs(full - np.mean(pc)) < 1e-15
        out["wang"], out["wang_per_channel"] = float(full), pc
    else:
        out["wang"], out["wang_per_channel"] = None, None
    if min(a.shape[0], a.shape[1]) >= 7:
        full = structural_similarity(a, b, data_range=1.0, channel_axis=-1)
        pc = per_channel(sk, a, b)
        assert abs(full - np.mean(pc)) < 1e-15
        out["skimage"], out["skimage_per_channel"] = float(full), pc
        na, nb = normalize_for_metrics(a), normalize_for_metrics(b)
        pc = per_channel(sk, na, nb)
        out["compat"], out["compat_per_channel"] = float(np.mean(pc)), pc
    else:
        for k in ("skimage", "compat"):
            out[k], out[k + "_per_channel"] = None, None
    return out


def smooth(rng, h, w, c, lo=0.1, hi=0.9):
    """A smooth random field in [lo, hi]: sum of a few random low-frequency cosines."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.zeros((h, w, c))
    for ch in range(c):
        f = np.zeros((h, w))
        for _ in range(4):
            fy, fx = rng.uniform(0.5, 3.0, 2)
            ph = rng.uniform(0, 2 * np.pi)
            f += np.cos(2 * np.pi * (fy * yy / h + fx * xx / w) + ph)
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        out[:, :, ch] = lo + (hi - lo) * f
    return out


def quantise(x, denom):
    return np.round(np.clip(x, 0.0, 1.0) * denom).astype(np.int64)


def main():
    out_path = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    cases = []

    def add(name, qa, qb, denom, note):
        assert qa.shape == qb.shape and qa.ndim == 3
        a, b = to_float(qa, denom), to_float(qb, denom)
        case = {
            "name": name,
            "note": note,
            "shape": list(qa.shape),
            "denom": denom,
            "qa": qa.ravel().tolist(),
            "qb": qb.ravel().tolist(),
        }
        case.update(expected(a, b, None))
        cases.append(case)

    def rng_for():
        return np.random.default_rng(SEED + len(cases))

    # Small odd sizes, noisy, 8-bit.
    for (h, w, c) in [(7, 9, 1), (9, 7, 3), (11, 13, 1), (13, 11, 3), (16, 16, 1), (33, 17, 1), (17, 33, 3)]:
        rng = rng_for()
        qa = rng.integers(0, 256, (h, w, c))
        qb = np.clip(qa + rng.integers(-40, 41, (h, w, c)), 0, 255)
        add(f"noisy_u8_{h}x{w}x{c}", qa, qb, 255, "uniform random codes, b = a + uniform(-40, 40)")

    # Smooth images with mild noise, 8-bit and 16-bit, several sizes.
    for (h, w, c, denom, sd) in [
        (20, 24, 1, 65535, 0.02),
        (24, 20, 3, 255, 0.05),
        (48, 64, 3, 255, 0.03),
        (45, 37, 1, 65535, 0.08),
        (31, 29, 3, 65535, 0.01),
    ]:
        rng = rng_for()
        a = smooth(rng, h, w, c)
        b = a + rng.normal(0, sd, a.shape)
        add(f"smooth_{'u8' if denom == 255 else 'u16'}_{h}x{w}x{c}", quantise(a, denom), quantise(b, denom),
            denom, f"smooth cosine field, b = a + N(0, {sd})")

    # Blurred vs sharp (structure change without noise), 8-bit.
    rng = rng_for()
    a = smooth(rng, 40, 40, 1) + rng.normal(0, 0.1, (40, 40, 1))
    k = np.ones(5) / 5
    b = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 0, a)
    b = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), 1, b)
    add("blur_u8_40x40x1", quantise(a, 255), quantise(b, 255), 255, "noisy field vs its 5x5 box blur")

    # Identical images: SSIM exactly 1 in every variant.
    rng = rng_for()
    qa = quantise(smooth(rng, 20, 24, 3) + rng.normal(0, 0.05, (20, 24, 3)), 255)
    add("identical_u8_20x24x3", qa, qa.copy(), 255, "b == a")

    # Low contrast 16-bit: codes in a narrow band (cancellation stress; compat stretches it).
    rng = rng_for()
    qa = 30000 + rng.integers(0, 120, (32, 40, 1))
    qb = np.clip(qa + rng.integers(-20, 21, qa.shape), 0, 65535)
    add("lowcontrast_u16_32x40x1", qa, qb, 65535, "codes 30000..30120, b = a + uniform(-20, 20)")

    # Nearly unrelated images (SSIM near 0, may be negative).
    rng = rng_for()
    qa = rng.integers(0, 256, (24, 24, 3))
    qb = 255 - qa
    add("inverted_u8_24x24x3", qa, qb, 255, "b = 255 - a")

    # Constant images: compat maps a constant image to zeros.
    rng = rng_for()
    qa = np.full((16, 18, 1), 128)
    qb = rng.integers(0, 256, (16, 18, 1))
    add("constant_vs_noise_u8_16x18x1", qa, qb, 255, "a constant 128")
    add("constant_vs_constant_u8_16x18x3", np.full((16, 18, 3), 77), np.full((16, 18, 3), 200), 255,
        "a constant 77, b constant 200")

    # Larger noisy fixtures: where f32 moment arithmetic would miss 1e-6.
    rng = rng_for()
    a = smooth(rng, 256, 256, 1, 0.0, 1.0) * 0.7 + 0.15 + rng.normal(0, 0.04, (256, 256, 1))
    b = a + rng.normal(0, 0.06, a.shape)
    add("camera_like_u8_256x256x1", quantise(a, 255), quantise(b, 255), 255,
        "smooth field + N(0, .04), b = a + N(0, .06)")
    rng = rng_for()
    a = smooth(rng, 96, 112, 3, 0.05, 0.95) + rng.normal(0, 0.02, (96, 112, 3))
    b = a + rng.normal(0, 0.03, a.shape)
    add("rgb_u16_96x112x3", quantise(a, 65535), quantise(b, 65535), 65535,
        "smooth field + N(0, .02), b = a + N(0, .03)")

    doc = {
        "generator": "tools/gen_ssim_fixtures.py",
        "versions": {"scikit-image": skimage.__version__, "numpy": np.__version__},
        "layout": "shape [h, w, c]; qa/qb integer codes in numpy C order (h, w, c); "
                  "image = float32(q) / float32(denom)",
        "cases": cases,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out_path} ({out_path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
