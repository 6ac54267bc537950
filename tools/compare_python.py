#!/usr/bin/env python3
"""Time medfm-robust against the Python tools the field uses, on the same images, in one run.

Prints ratios (Python time / Rust time). Pinned: see tools/requirements-fixtures.txt
(scikit-image==0.26.0, numpy, scipy, pillow). Usage:

    cargo build --release
    python tools/compare_python.py [--bin target/release/medfm-robust] [--repeat 5]

Comparisons:
1. SSIM `wang` of a 1024x1024 RGB pair: skimage.metrics.structural_similarity(gaussian_weights=True,
   sigma=1.5, use_sample_covariance=False, data_range=1, channel_axis=-1) vs `medfm-robust ssim
   --time N` (mean per call, moments of both images computed, no file I/O in the timed loop).
2. Per-image calibration, 12 base perturbations x 5 levels, 512x512 RGB: a paper-style Python loop
   (numpy/scipy/PIL perturbations, scikit-image SSIM, bisection of at most 20 iterations per level
   towards the band midpoint, stop when in band within 0.01 of the target, exactly the band logic
   of the Rust search but one independent search per level, as the reference code does) vs
   `medfm-robust perturb --perturbations base --levels 1-5` end to end (process start, PNG read,
   calibration, PNG writes, manifest) on the same image.
3. Per-image calibration of the base + medical set of one modality (`--modality`, default
   pathology) x 5 levels on the 512x512 RGB phantom: the Python loop runs its 12 base
   perturbations plus, for each medical perturbation, a numpy stand-in of comparable cost (a smooth
   multiplicative field or a blend; the SSIM calls dominate the Python cost), so this ratio is an
   estimate of the same work, labelled as such.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.color import hsv2rgb, rgb2hsv
from skimage.metrics import structural_similarity
from skimage.util import random_noise

BANDS = [(1, 0.90, 0.98), (2, 0.80, 0.89), (3, 0.70, 0.79), (4, 0.60, 0.69), (5, 0.50, 0.59)]


def ssim_wang(a, b):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=1.0, channel_axis=-1)


def line_kernel(length, angle):
    n = max(1, int(np.ceil(length)))
    k = np.zeros((2 * n + 1, 2 * n + 1))
    for t in np.linspace(-length / 2, length / 2, 4 * n + 1):
        x = int(round(n + t * np.cos(angle)))
        y = int(round(n + t * np.sin(angle)))
        k[y, x] += 1
    return k / k.sum()


def base_perturbations(rng, h, w):
    noise = rng.standard_normal((h, w, 3))
    u = rng.random((h, w))
    angle = rng.random() * np.pi
    direction = rng.random() * 2 * np.pi

    def jpeg(x, s):
        q = int(round(100 - 99 * s))
        buf = __import__("io").BytesIO()
        Image.fromarray((x * 255).round().astype(np.uint8)).save(buf, format="JPEG", quality=q)
        buf.seek(0)
        return np.asarray(Image.open(buf), dtype=np.float64) / 255

    def pixelate(x, s):
        b = 1 + int(round(s))
        img = Image.fromarray((x * 255).round().astype(np.uint8))
        small = img.resize((max(1, w // b), max(1, h // b)), Image.BOX)
        return np.asarray(small.resize((w, h), Image.NEAREST), dtype=np.float64) / 255

    def scaling(x, s):
        f = 1 - s
        z = ndimage.zoom(x, (f, f, 1), order=1)
        out = np.zeros_like(x)
        y0, x0 = (h - z.shape[0]) // 2, (w - z.shape[1]) // 2
        out[y0:y0 + z.shape[0], x0:x0 + z.shape[1]] = z
        return out

    def brightness(x, s):
        hsv = rgb2hsv(x)
        hsv[..., 2] = np.clip(hsv[..., 2] + s, 0, 1)
        return hsv2rgb(hsv)

    return [
        ("gaussian_noise", 0, 1, lambda x, s: np.clip(x + s * noise, 0, 1)),
        ("salt_pepper", 0, 0.5, lambda x, s: random_noise(x, mode="s&p", amount=s, rng=0)),
        ("speckle_noise", 0, 2, lambda x, s: np.clip(x + x * s * noise, 0, 1)),
        ("gaussian_blur", 0, 15, lambda x, s: ndimage.gaussian_filter(x, (s, s, 0), mode="reflect")),
        ("motion_blur", 0, 40, lambda x, s: np.stack([ndimage.convolve(x[..., c], line_kernel(s, angle), mode="reflect") for c in range(3)], -1)),
        ("brightness", 0, 1, brightness),
        ("contrast", 0, 1, lambda x, s: (x - x.mean((0, 1))) * (1 - s) + x.mean((0, 1))),
        ("jpeg", 0, 1, jpeg),
        ("pixelate", 0, 63, pixelate),
        ("rotation", 0, 90, lambda x, s: np.clip(ndimage.rotate(x, s, axes=(1, 0), reshape=False, order=1, mode="mirror"), 0, 1)),
        ("scaling", 0, 0.8, scaling),
        ("translation", 0, 0.5, lambda x, s: ndimage.shift(x, (s * min(h, w) * np.sin(direction), s * min(h, w) * np.cos(direction), 0), order=1, mode="mirror")),
    ]


def medical_standins(rng, h, w, n):
    field = ndimage.gaussian_filter(rng.random((h, w)), 32)
    field = (field - field.min()) / (np.ptp(field) + 1e-12)
    out = []
    for i in range(n):
        out.append((f"medical_standin_{i}", 0, 1, lambda x, s, f=field: np.clip(x * (1 - s * f[..., None]) + s * f[..., None] * 0.3, 0, 1)))
    return out


def calibrate_python(x, perts):
    evals = 0
    for _name, lo, hi, fn in perts:
        for _lvl, blo, bhi in BANDS:
            target = (blo + bhi) / 2
            a, b = lo, hi
            for _ in range(20):
                s = (a + b) / 2
                v = ssim_wang(x, fn(x, s))
                evals += 1
                if blo <= v <= bhi and abs(v - target) <= 0.01:
                    break
                if v > target:
                    a = s
                else:
                    b = s
    return evals


def timeit(fn, repeat):
    best = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best.append(time.perf_counter() - t0)
    return min(best)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/medfm-robust")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--modality", default="pathology")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory() as td:
        # 1. SSIM 1024x1024 RGB
        a = rng.random((1024, 1024, 3))
        a = ndimage.gaussian_filter(a, (3, 3, 0))
        a = (a - a.min()) / np.ptp(a)
        b = np.clip(a + 0.1 * rng.standard_normal(a.shape), 0, 1)
        a8 = (a * 255).round().astype(np.uint8)
        b8 = (b * 255).round().astype(np.uint8)
        Image.fromarray(a8).save(f"{td}/a.png")
        Image.fromarray(b8).save(f"{td}/b.png")
        af, bf = a8 / 255.0, b8 / 255.0
        t_py = timeit(lambda: ssim_wang(af, bf), args.repeat)
        n = 20
        out = subprocess.run([args.bin, "ssim", f"{td}/a.png", f"{td}/b.png", "--time", str(n)],
                             capture_output=True, text=True, check=True)
        times = dict(line.split() for line in out.stderr.strip().splitlines() if line.startswith("time_"))
        t_rs = float(times["time_per_ssim_s"])
        ours = float(out.stdout.strip())
        ref = ssim_wang(af, bf)
        rows.append(("SSIM wang 1024x1024 RGB (per call)", t_py, t_rs, f"|diff| {abs(ours - ref):.1e}"))

        # 2. + 3. calibration on a 512x512 RGB phantom written by medfm-robust itself.
        os.makedirs(f"{td}/phantom", exist_ok=True)
        img_path = f"{td}/phantom/{args.modality}.png"
        subprocess.run([args.bin, "phantom", "--modality", args.modality, "--size", "512", "--channels", "3",
                        "--out", img_path], check=True, capture_output=True)
        src = img_path
        x = np.asarray(Image.open(src).convert("RGB"), dtype=np.float64) / 255
        h, w = x.shape[:2]
        base = base_perturbations(np.random.default_rng(1), h, w)
        t_py = timeit(lambda: calibrate_python(x, base), 1)

        runs = iter(range(1_000_000))

        def rust(perts, extra):
            # a fresh output folder per run: perturb resumes into an existing one (skipping
            # every level already written), which would time a no-op
            return lambda: subprocess.run([args.bin, "--quiet", "perturb", "--input", f"{td}/phantom", "--out",
                                           f"{td}/out_{perts}_{next(runs)}", "--perturbations", perts,
                                           "--levels", "1-5"] + extra,
                                          check=True, capture_output=True)
        t_rs = timeit(rust("base", []), args.repeat)
        rows.append(("calibration 12 base x 5 levels, 512x512 RGB", t_py, t_rs, "end-to-end CLI vs loop"))

        listing = json.loads(subprocess.run([args.bin, "list", "--json", "--modality", args.modality],
                                            capture_output=True, text=True, check=True).stdout)
        n_med = sum(1 for p in listing if p["category"] == "medical")
        perts = base + medical_standins(np.random.default_rng(2), h, w, n_med)
        t_py = timeit(lambda: calibrate_python(x, perts), 1)
        t_rs = timeit(rust("all", ["--modality", args.modality]), args.repeat)
        rows.append((f"calibration base+{n_med} {args.modality} x 5 levels, 512x512 RGB", t_py, t_rs,
                     "Python medical = stand-ins (estimate)"))

    print(f"{'comparison':<52} {'python_s':>9} {'rust_s':>9} {'ratio':>7}  note")
    for name, tp, tr, note in rows:
        print(f"{name:<52} {tp:>9.3f} {tr:>9.3f} {tp / tr:>6.1f}x  {note}")
    print(f"machine: {os.cpu_count()} logical CPUs; python {sys.version.split()[0]}; numpy {np.__version__}")


if __name__ == "__main__":
    main()
