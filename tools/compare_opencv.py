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
and each keeps its best median. ratio = fastest of theirs that is the same operation / ours (>= 1:
ours at least as fast); related operations that differ (albumentations' thinner motion-blur line,
its contrast about 0, the grey form of brightness on an RGB image) are timed and listed in their
own column with the difference named, never counted in the ratio. Two tables: the 12 base ids,
then the medical ids whose model is a short OpenCV/numpy expression (`theirs_medical`).
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
    """{id: [(name, fn[, why_not_the_same])]}: uint8 HWC in, uint8 out. An entry with a third
    element is a related but different operation: listed, never counted in the ratio.

    Each op's entries are built by its own function, so every closure holds that op's strength,
    fields and transform. (Built in one scope, a lambda reads its free variables when it is
    called: every `t(image=img)` then ran the last transform assigned to `t`, and every `s` was
    the last op's strength. The tables of 2026-12-03 and before were measured that way.)"""
    h, w = img.shape[:2]
    rng = np.random.default_rng(0)
    cx, cy = (w - 1) / 2, (h - 1) / 2

    def aug(name, t, *why):
        return (name, lambda: t(image=img)["image"], *why)

    def gaussian_noise(s):
        noise = (rng.standard_normal(img.shape) * (s * 255)).astype(np.float32)
        out = [("cv2.add(u8, f32 field)", lambda: cv2.add(img, noise, dtype=cv2.CV_8U))]
        if A:
            out.append(aug("A.GaussNoise", A.GaussNoise(std_range=(s, s), p=1.0)))
        return out

    def salt_pepper(s):
        u, v = rng.random((h, w)), rng.random((h, w))
        salt = ((u < s) & (v < 0.5))[..., None]
        pepper = ((u < s) & (v >= 0.5))[..., None]
        out = [("np.where x2", lambda: np.where(salt, np.uint8(255), np.where(pepper, np.uint8(0), img)))]
        if A:
            out.append(aug("A.SaltAndPepper", A.SaltAndPepper(amount=(s, s), salt_vs_pepper=(0.5, 0.5), p=1.0)))
        return out

    def speckle_noise(s):
        mult = (1.0 + s * rng.standard_normal(img.shape)).astype(np.float32)
        return [("cv2.multiply(u8, f32 field)", lambda: cv2.multiply(img, mult, dtype=cv2.CV_8U))]

    def gaussian_blur(s):
        k = 2 * int(4 * s + 0.5) + 1  # scipy truncate 4, as ours
        out = [("cv2.GaussianBlur", lambda: cv2.GaussianBlur(img, (k, k), s, borderType=cv2.BORDER_REFLECT))]
        if A:
            out.append(aug("A.GaussianBlur", A.GaussianBlur(blur_limit=(k, k), sigma_limit=(s, s), p=1.0)))
        return out

    def motion_blur(s):
        kern = line_kernel(min(s, 0.5 * min(h, w)), 0.7)
        out = [("cv2.filter2D", lambda: cv2.filter2D(img, -1, kern, borderType=cv2.BORDER_REFLECT))]
        if A:
            kk = kern.shape[0] if kern.shape[0] % 2 else kern.shape[0] + 1
            out.append(aug("A.MotionBlur", A.MotionBlur(blur_limit=(kk, kk), p=1.0),
                           "its own 1 px aliased line (about a third of our PSF's taps)"))
        return out

    rgb = img.ndim == 3 and img.shape[2] == 3

    def brightness(s):
        def hsv_v_shift():
            hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
            hsv[..., 2] = cv2.add(hsv[..., 2], int(round(s * 255)))
            return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        grey_form = "x + s on every channel: the grey form; RGB is HSV V + s" if rgb else None
        out = [("cv2 HSV V+s", hsv_v_shift), ("cv2.add(u8, scalar)", lambda: cv2.add(img, (s * 255,) * 3), grey_form)]
        if A:
            t = A.RandomBrightnessContrast(brightness_limit=(s, s), contrast_limit=(0, 0), p=1.0)
            out.append(aug("A.RandomBrightnessContrast", t, grey_form))
        return out

    def contrast(s):
        def contrast_lut():
            m = np.array(cv2.mean(img)[:3])
            lut = np.clip(np.round((np.arange(256)[:, None] - m) * (1 - s) + m), 0, 255).astype(np.uint8)
            return cv2.LUT(img, lut.reshape(256, 1, 3))
        out = [("cv2.mean + cv2.LUT", contrast_lut)]
        if A:
            t = A.RandomBrightnessContrast(brightness_limit=(0, 0), contrast_limit=(-s, -s), p=1.0)
            out.append(aug("A.RandomBrightnessContrast", t, "scales about 0 (x alpha), not about the channel mean"))
        return out

    def jpeg(s):
        q = int(round(100 - 99 * s))

        def cv_jpeg():
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q])
            return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        out = [("cv2.imencode+imdecode", cv_jpeg)]
        if A:
            out.append(aug("A.ImageCompression", A.ImageCompression(quality_range=(q, q), compression_type="jpeg", p=1.0)))
        return out

    def pixelate(s):
        b = 1 + int(math.floor(s + 0.5))

        def cv_pixelate():
            small = cv2.resize(img, (max(1, w // b), max(1, h // b)), interpolation=cv2.INTER_AREA)
            return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
        out = [("cv2.resize area + nearest", cv_pixelate)]
        if A:
            t = A.Downscale(scale_range=(1 / b, 1 / b), interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_NEAREST}, p=1.0)
            out.append(aug("A.Downscale", t))
        return out

    def rotation(deg):
        m_rot = cv2.getRotationMatrix2D((cx, cy), deg, 1.0)
        out = [("cv2.warpAffine", lambda: cv2.warpAffine(img, m_rot, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))]
        if A:
            out.append(aug("A.Rotate", A.Rotate(limit=(deg, deg), interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_REFLECT, p=1.0)))
        return out

    def scaling(s):
        f = 1 - s
        m_zoom = np.array([[f, 0, cx - f * cx], [0, f, cy - f * cy]])
        out = [("cv2.warpAffine", lambda: cv2.warpAffine(img, m_zoom, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT))]
        if A:
            out.append(aug("A.Affine scale", A.Affine(scale=(f, f), interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_CONSTANT, p=1.0)))
        return out

    def translation(s):
        d = s * min(h, w)
        dx, dy = d * math.cos(1.1), d * math.sin(1.1)
        m_shift = np.array([[1, 0, dx], [0, 1, dy]])
        out = [("cv2.warpAffine", lambda: cv2.warpAffine(img, m_shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))]
        if A:
            t = A.Affine(translate_px={"x": (int(dx), int(dx)), "y": (int(dy), int(dy))}, interpolation=cv2.INTER_LINEAR, border_mode=cv2.BORDER_REFLECT, p=1.0)
            out.append(aug("A.Affine translate", t))
        return out

    builders = (gaussian_noise, salt_pepper, speckle_noise, gaussian_blur, motion_blur, brightness,
                contrast, jpeg, pixelate, rotation, scaling, translation)
    return {f.__name__: f(strengths[f.__name__]) for f in builders}


def theirs_medical(img, strengths):
    """{id: [(name, fn)]} for the medical ids whose model is a short OpenCV/numpy expression: the
    same arithmetic on the same uint8 image, every field that does not depend on s drawn or
    computed outside the timing (as ours does in `prepare`), the s-dependent part inside it. The
    fields are stand-ins of the same size and type (the cost does not depend on their values).
    Drawn-object and compound ids (bubbles, specular spots, blood, hair, OCT/MRI motion,
    endoscopy overexposure) have no such equivalent and are not compared."""
    h, w = img.shape[:2]
    rng = np.random.default_rng(1)
    f32 = img.astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)

    def chan(f):
        return np.repeat(np.asarray(f, np.float32)[..., None], 3, axis=2)

    smooth = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 40)
    smooth = (smooth - smooth.min()) / (np.ptp(smooth) + 1e-12)
    normal = chan(rng.standard_normal((h, w)))

    def mul(label, field_of_s):
        return [(label, lambda: cv2.multiply(img, field_of_s(), dtype=cv2.CV_8U))]

    def add(label, field, s):
        """x + s F, F in code units: one OpenCV call, u8 and f32 in, u8 out."""
        return [(label, lambda: cv2.addWeighted(img, 1.0, field, s, 0.0, dtype=cv2.CV_8U))]

    def ct_beam_hardening(s):
        inside, rr = chan(r2 <= 0.5), chan(r2 / 0.5)
        return mul("cv2.multiply(u8, 1 - s(1 - r^2))", lambda: 1 - s * (1 - rr) * inside)

    def ct_metal_streaks(s):
        return add("cv2.addWeighted(u8, s F)", chan(np.cos(np.arctan2(yy - h / 3, xx - w / 3) * 40) * 255), s)

    def ct_window_level(s):
        lo, width = 0.5 + 0.4 * s - 0.5 * (1 - s / 2), 1 - s / 2
        lut = np.clip(np.round((np.arange(256) / 255 - lo) / width * 255), 0, 255).astype(np.uint8)
        return [("cv2.LUT", lambda: cv2.LUT(img, lut))]

    def ct_photon_starvation(s):
        root = (np.sqrt(np.arange(256) / 255 + 1e-3) * 255).astype(np.float32)
        return [("cv2.LUT sqrt + multiply + add", lambda: cv2.add(
            f32, cv2.multiply(cv2.LUT(img, root), normal, scale=s), dtype=cv2.CV_8U))]

    def mri_bias_field(s):
        poly = chan(0.5 * (xx / w) ** 2 - 0.3 * (yy / h) ** 3 + 0.2 * xx * yy / (w * h))
        return mul("cv2.multiply(u8, cv2.exp(s P))", lambda: cv2.exp(poly * s))

    def mri_ghosting(s):
        k = np.fft.fft2(f32, axes=(0, 1))
        k[1::3] = 0
        ghost = (np.real(np.fft.ifft2(k, axes=(0, 1))) - f32).astype(np.float32)
        return add("cv2.addWeighted(u8, s G), ghost image precomputed", ghost, -s)

    def us_acoustic_shadow(s):
        p = chan(np.clip(yy / h, 0, 1) * (np.abs(xx - w / 2) < w / 8))
        return mul("cv2.multiply(u8, 1 - s p)", lambda: 1 - s * p)

    def us_reverberation(s):
        return add("cv2.addWeighted(u8, s B)", chan((np.sin(yy / 6) > 0.9) * 0.5 ** (yy / h * 4) * 255), s)

    def path_stain_hsv(s):
        vlut = np.clip(np.round((np.arange(256) / 255) ** np.exp(-0.3 * s) * 255), 0, 255).astype(np.uint8)

        def hsv_shift():
            hch, sch, vch = cv2.split(cv2.cvtColor(img, cv2.COLOR_RGB2HSV))
            hch = cv2.add(hch, int(round(10 * s)))
            sch = cv2.multiply(sch, 1 + 0.3 * s)
            return cv2.cvtColor(cv2.merge([hch, sch, cv2.LUT(vch, vlut)]), cv2.COLOR_HSV2RGB)
        return [("cv2 HSV: add H, scale S, LUT V (no S field)", hsv_shift)]

    def oct_shadow(s):
        cols = np.zeros(w, bool)
        for c in (0.2, 0.5, 0.8):
            cols[int(c * w):int(c * w + s * w / 3)] = True
        att = chan(np.where(cols[None, :], 0.05, 1.0) * np.ones((h, 1)))
        return mul("cv2.multiply(u8, column field)", lambda: att)

    def oct_blink(s):
        rows = np.zeros(h, bool)
        for c in (0.1, 0.35, 0.6, 0.85):
            rows[int(c * h):int(c * h + s * h / 4)] = True

        def blink():
            out = img.copy()
            out[rows] = 0
            return out
        return [("numpy copy + row mask", blink)]

    def oct_defocus(rad):
        n = int(math.ceil(rad))
        d = np.mgrid[-n:n + 1, -n:n + 1]
        disk = np.clip(rad + 0.5 - np.hypot(d[0], d[1]), 0, 1).astype(np.float32)
        disk /= disk.sum()
        return [("cv2.filter2D(disk)", lambda: cv2.filter2D(img, -1, disk, borderType=cv2.BORDER_REFLECT))]

    def oct_speckle(s):
        return mul("cv2.multiply(u8, cv2.exp(s N - s^2/2))", lambda: cv2.exp(normal * s - s * s / 2))

    def xray_scatter(s):
        veil = cv2.GaussianBlur(f32, (0, 0), 0.06 * min(h, w), borderType=cv2.BORDER_REFLECT)
        return add("cv2.addWeighted(u8, s veil), veil precomputed", veil, s)

    def xray_underexposure(s):
        f = 1 - s

        def under():
            a = f32 * f
            return cv2.add(a, cv2.multiply(cv2.sqrt(a * ((1 - f) / (400 * 255))) * 255, normal), dtype=cv2.CV_8U)
        return [("cv2 scale + sqrt + multiply + add", under)]

    def xray_overexposure(s):
        return [("cv2.convertScaleAbs", lambda: cv2.convertScaleAbs(img, alpha=1 + 2 * s))]

    def xray_grid(s):
        g = chan((1 + np.cos(2 * np.pi * yy / 5)) / 2)
        return mul("cv2.multiply(u8, 1 - s g)", lambda: 1 - s * g)

    def xray_haze(s):
        a = chan(np.minimum(1, s * smooth))
        keep, veil = 1 - a, a * (0.85 * 255)
        return [("cv2.multiply + add", lambda: cv2.add(cv2.multiply(img, keep, dtype=cv2.CV_32F), veil, dtype=cv2.CV_8U))]

    def derm_vignette(s):
        rr = chan(r2)
        return mul("cv2.multiply(u8, clip(1 - s r^2))", lambda: np.clip(1 - s * rr, 0, 1))

    def derm_light_reflection(s):
        g = chan(np.exp(-((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / (2 * (0.3 * min(w, h)) ** 2)))
        return [("cv2.exp + multiply + subtract", lambda: cv2.subtract(
            255, cv2.multiply(255 - img, cv2.exp(g * -s), dtype=cv2.CV_8U)))]

    builders = {f.__name__: f for f in (
        ct_beam_hardening, ct_metal_streaks, ct_window_level, ct_photon_starvation, mri_bias_field,
        mri_ghosting, us_acoustic_shadow, us_reverberation, path_stain_hsv, oct_shadow, oct_blink,
        oct_defocus, oct_speckle, xray_scatter, xray_underexposure, xray_overexposure, xray_grid,
        xray_haze, derm_vignette, derm_light_reflection)}
    return {op: build(strengths[op]) for op, build in builders.items() if op in strengths}


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
        ours, best, notes = {}, {}, {}
        for rnd in range(max(1, args.rounds)):
            out = subprocess.run([args.example, path, "--repeat", str(args.repeat)], check=True, capture_output=True, text=True)
            for line in out.stdout.splitlines():
                r = json.loads(line)
                prev = ours.get(r["id"])
                if prev is None or r["median_ms"] < prev["median_ms"]:
                    ours[r["id"]] = r
            strengths = {k: v["strength"] for k, v in ours.items()}
            ops = theirs(img, strengths) | theirs_medical(img, strengths)
            for op, entries in ops.items():
                for name, fn, *why in entries:
                    try:
                        t = median_ms(fn, args.repeat)
                    except Exception as e:  # noqa: BLE001
                        print(f"{op} {name}: failed: {e}", file=sys.stderr)
                        continue
                    best[(op, name)] = min(best.get((op, name), t), t)
                    if why:
                        notes[(op, name)] = why[0]
    for category in ("base", "medical"):
        rows = []
        for op, r in ours.items():
            if r["category"] != category:
                continue
            same = {n: t for (o, n), t in best.items() if o == op and (o, n) not in notes}
            other = {n: t for (o, n), t in best.items() if o == op and (o, n) in notes}
            if category == "medical" and not same:
                continue
            listing = ", ".join(f"{n} {t:.3f}" for n, t in same.items())
            others = "; ".join(f"{n} {t:.3f} ({notes[(op, n)]})" for n, t in other.items())
            ratio = min(same.values()) / r["median_ms"] if same else None
            rows.append((op, r["median_ms"], listing, ratio, others))
        if args.markdown:
            print(f"\n{category}:\n")
            print("| op | ours ms | same operation: OpenCV / albumentations / numpy ms | ratio (theirs / ours) | related, not the same operation (ms) |")
            print("|---|---|---|---|---|")
            for op, t, listing, ratio, others in rows:
                print(f"| {op} | {t:.3f} | {listing} | {'%.2fx' % ratio if ratio else 'n/a'} | {others} |")
        else:
            print(f"{category}:\n{'op':<22} {'ours_ms':>9}  {'ratio':>7}  theirs (ms)")
            for op, t, listing, ratio, others in rows:
                print(f"{op:<22} {t:>9.3f}  {('%.2fx' % ratio) if ratio else 'n/a':>7}  {listing}" + (f"  | not the same: {others}" if others else ""))
    print(f"machine: {os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}; "
          f"opencv {cv2.__version__} (threads {cv2.getNumThreads()}); numpy {np.__version__}; "
          f"albumentations {A.__version__ if A else 'n/a'}")


if __name__ == "__main__":
    main()
