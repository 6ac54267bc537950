#!/usr/bin/env python3
"""Per-op speed of medfm-robust against OpenCV and albumentations on the same 8-bit image, both
sides in one run, ratios printed.

Pinned (tools/requirements-fixtures.txt): opencv-python-headless==4.14.0.94, albumentations==2.0.8,
numpy==2.4.6. Usage (release build of the example first):

    cargo build --release --example op_times --bin medfm-robust
    python tools/compare_opencv.py [--repeat 30] [--rounds 2] [--modality pathology]

The image is `medfm-robust phantom --modality M --size 512 --channels 3` (a 512x512 RGB 8-bit PNG).
Ours: target/release/examples/op_times, one `apply_u8(s, out)` per run at mid strength (the
middle of the strength range): the 8-bit path, the 8-bit image in, its quantised codes written into
a reused uint8 buffer (bit for bit the codes of `apply_quantised(s, U8)`, tests/apply_quantised.rs),
`prepare` once outside the timing (the random fields are drawn there; calibration reuses it for every
evaluation). Theirs: the same operation on the same uint8 HWC array, 8-bit in and 8-bit out, with
the per-image random fields (noise, masks) drawn outside the timing too where the library lets us
(cv2/numpy rows); albumentations transforms draw their own randomness per call, as a user gets them.
Times are medians over --repeat runs after 3 warm-ups; with --rounds > 1 the two sides alternate
and each keeps its best median. ratio = fastest of theirs / ours (>= 1: ours at least as fast).
Thread counts: ours uses rayon's default (all cores), OpenCV its default (all cores).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

try:
    import albumentations as A
except Exception as e:  # noqa: BLE001
    A = None
    print(f"albumentations unavailable: {e}", file=sys.stderr)


def median_ms(fn, repeat):
    for _ in range(3):
        fn()
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append((time.perf_counter() - t0) * 1e3)
    t.sort()
    return t[len(t) // 2]


def line_kernel(length, angle):
    """An anti-aliased line of `length` px at `angle` (as our motion_blur PSF: 1/8 px splats)."""
    r = int(math.ceil(length / 2)) + 1
    side = 2 * r + 1
    k = np.zeros((side, side), np.float64)
    for t in np.arange(-length / 2 + 1 / 16, length / 2, 1 / 8):
        px, py = t * math.cos(angle) + r, t * math.sin(angle) + r
        x0, y0 = int(math.floor(px)), int(math.floor(py))
        fx, fy = px - x0, py - y0
        k[y0, x0] += (1 - fx) * (1 - fy)
        k[y0, x0 + 1] += fx * (1 - fy)
        k[y0 + 1, x0] += (1 - fx) * fy
        k[y0 + 1, x0 + 1] += fx * fy
    return (k / k.sum()).astype(np.float32)


def theirs(img, strengths):
    """{id: [(name, fn)]}: the same operation, uint8 HWC in, uint8 out."""
    h, w = img.shape[:2]
    rng = np.random.default_rng(0)
    ops = {}
    cx, cy = (w - 1) / 2, (h - 1) / 2

    s = strengths["gaussian_noise"]
    noise = (rng.standard_normal(img.shape) * (s * 255)).astype(np.float32)
    ops["gaussian_noise"] = [("cv2.add(u8, f32 field)", lambda: cv2.add(img, noise, dtype=cv2.CV_8U))]
    if A:
        t = A.GaussNoise(std_range=(s, s), p=1.0)
        ops["gaussian_noise"].append(("A.GaussNoise", lambda: t(image=img)["image"]))

    s = strengths["salt_pepper"]
    u, v = rng.random((h, w)), rng.random((h, w))
    salt = ((u < s) & (v < 0.5))[..., None]
    pepper = ((u < s) & (v >= 0.5))[..., None]
    ops["salt_pepper"] = [("np.where x2", lambda: np.where(salt, np.uint8(255), np.where(pepper, np.uint8(0), img)))]
    if A:
        t = A.SaltAndPepper(amount=(s, s), salt_vs_pepper=(0.5, 0.5), p=1.0)
        ops["salt_pepper"].append(("A.SaltAndPepper", lambda: t(image=img)["image"]))

    s = strengths["speckle_noise"]
    mult = (1.0 + s * rng.standard_normal(img.shape)).astype(np.float32)
    ops["speckle_noise"] = [("cv2.multiply(u8, f32 field)", lambda: cv2.multiply(img, mult, dtype=cv2.CV_8U))]

    s = strengths["gaussian_blur"]
    k = 2 * int(4 * s + 0.5) + 1  # scipy truncate 4, as ours
    ops["gaussian_blur"] = [("cv2.GaussianBlur", lambda: cv2.GaussianBlur(img, (k, k), s, borderType=cv2.BORDER_REFLECT))]
    if A:
        t = A.GaussianBlur(blur_limit=(k, k), sigma_limit=(s, s), p=1.0)
        ops["gaussian_blur"].append(("A.GaussianBlur", lambda: t(image=img)["image"]))

    s = strengths["motion_blur"]
    kern = line_kernel(min(s, 0.5 * min(h, w)), 0.7)
    ops["motion_blur"] = [("cv2.filter2D", lambda: cv2.filter2D(img, -1, kern, borderType=cv2.BORDER_REFLECT))]
    if A:
        kk = kern.shape[0] if kern.shape[0] % 2 else kern.shape[0] + 1
        t = A.MotionBlur(blur_limit=(kk, kk), p=1.0)
        ops["motion_blur"].append(("A.MotionBlur", lambda: t(image=img)["image"]))

    s = strengths["brightness"]
    def hsv_v_shift():
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        hsv[..., 2] = cv2.add(hsv[..., 2], int(round(s * 255)))
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    ops["brightness"] = [("cv2.add(u8, scalar)", lambda: cv2.add(img, (s * 255,) * 3)), ("cv2 HSV V+s", hsv_v_shift)]
    if A:
        t = A.RandomBrightnessContrast(brightness_limit=(s, s), contrast_limit=(0, 0), p=1.0)
        ops["brightness"].append(("A.RandomBrightnessContrast", lambda: t(image=img)["image"]))

    s = strengths["contrast"]
    def contrast_lut():
        m = np.array(cv2.mean(img)[:3])
        lut = np.clip(np.round((np.arange(256)[:, None] - m) * (1 - s) + m), 0, 255).astype(np.uint8)
        return cv2.LUT(img, lut.reshape(256, 1, 3))
    ops["contrast"] = [("cv2.mean + cv2.LUT", contrast_lut)]
    if A:
        t = A.RandomBrightnessContrast(brightness_limit=(0, 0), contrast_limit=(-s, -s), p=1.0)
        ops["contrast"].append(("A.RandomBrightnessContrast", lambda: t(image=img)["image"]))

    q = int(round(100 - 99 * strengths["jpeg"]))
    def cv_jpeg():
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
        return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    ops["jpeg"] = [("cv2.imencode+imdecode", cv_jpeg)]
    if A:
        t = A.ImageCompression(quality_range=(q, q), compression_type="jpeg", p=1.0)
        ops["jpeg"].append(("A.ImageCompression", lambda: t(image=img)["image"]))

    b = 1 + int(math.floor(strengths["pixelate"] + 0.5))
    def cv_pixelate():
        small = cv2.resize(img, (max(1, w // b), max(1, h // b)), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    ops["pixelate"] = [("cv2.resize area + nearest", cv_pixelate)]
    if A:
        t = A.Downscale(scale_range=(1 / b, 1 / b), interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_NEAREST}, p=1.0)
        ops["pixelate"].append(("A.Downscale", lambda: t(image=img)["image"]))

    deg = strengths["rotation"]
    m_rot = cv2.getRotationMatrix2D((cx, cy), deg, 1.0)
    ops["rotation"] = [("cv2.warpAffine", lambda: cv2.warpAffine(img, m_rot, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))]
    if A:
        t = A.Rotate(limit=(deg, deg), interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_REFLECT, p=1.0)
        ops["rotation"].append(("A.Rotate", lambda: t(image=img)["image"]))

    f = 1 - strengths["scaling"]
    m_zoom = np.array([[f, 0, cx - f * cx], [0, f, cy - f * cy]])
    ops["scaling"] = [("cv2.warpAffine", lambda: cv2.warpAffine(img, m_zoom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT))]
    if A:
        t = A.Affine(scale=(f, f), interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_CONSTANT, p=1.0)
        ops["scaling"].append(("A.Affine scale", lambda: t(image=img)["image"]))

    d = strengths["translation"] * min(h, w)
    dx, dy = d * math.cos(1.1), d * math.sin(1.1)
    m_shift = np.array([[1, 0, dx], [0, 1, dy]])
    ops["translation"] = [("cv2.warpAffine", lambda: cv2.warpAffine(img, m_shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))]
    if A:
        t = A.Affine(translate_px={"x": (int(dx), int(dx)), "y": (int(dy), int(dy))}, interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_REFLECT, p=1.0)
        ops["translation"].append(("A.Affine translate", lambda: t(image=img)["image"]))
    return ops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/medfm-robust")
    ap.add_argument("--example", default="target/release/examples/op_times")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--modality", default="pathology")
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as td:
        path = f"{td}/phantom.png"
        subprocess.run([args.bin, "phantom", "--modality", args.modality, "--size", "512", "--channels", "3", "--out", path],
                       check=True, capture_output=True)
        img = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        ours, best = {}, {}
        for rnd in range(max(1, args.rounds)):
            out = subprocess.run([args.example, path, "--repeat", str(args.repeat)], check=True, capture_output=True, text=True)
            for line in out.stdout.splitlines():
                r = json.loads(line)
                if r["category"] != "base":
                    continue
                prev = ours.get(r["id"])
                if prev is None or r["median_ms"] < prev["median_ms"]:
                    ours[r["id"]] = r
            ops = theirs(img, {k: v["strength"] for k, v in ours.items()})
            for op, fns in ops.items():
                for name, fn in fns:
                    try:
                        t = median_ms(fn, args.repeat)
                    except Exception as e:  # noqa: BLE001
                        print(f"{op} {name}: failed: {e}", file=sys.stderr)
                        continue
                    key = (op, name)
                    best[key] = min(best.get(key, t), t)
    rows = []
    for op, r in ours.items():
        mine = {name: t for (o, name), t in best.items() if o == op}
        if not mine:
            rows.append((op, r["median_ms"], "", None))
            continue
        fastest = min(mine.values())
        listing = ", ".join(f"{n} {t:.3f}" for n, t in mine.items())
        rows.append((op, r["median_ms"], listing, fastest / r["median_ms"]))
    if args.markdown:
        print("| op | ours ms | OpenCV / albumentations ms | ratio (theirs / ours) |")
        print("|---|---|---|---|")
        for op, t, listing, ratio in rows:
            print(f"| {op} | {t:.3f} | {listing} | {'%.2fx' % ratio if ratio else 'n/a'} |")
    else:
        print(f"{'op':<16} {'ours_ms':>9}  {'ratio':>7}  theirs (ms)")
        for op, t, listing, ratio in rows:
            print(f"{op:<16} {t:>9.3f}  {('%.2fx' % ratio) if ratio else 'n/a':>7}  {listing}")
    print(f"machine: {os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}; "
          f"opencv {cv2.__version__} (threads {cv2.getNumThreads()}); numpy {np.__version__}; "
          f"albumentations {A.__version__ if A else 'n/a'}")


if __name__ == "__main__":
    main()
