#!/usr/bin/env python3
"""Fixtures for the segmentation path (tests/seg_parity.rs, tests/seg_metrics.rs).

Pinned: numpy==2.4.6, pillow==13.0.0, torch==2.15.0 (CPU ops only), medpy==0.5.2.
Run: python tools/gen_seg_fixtures.py   (writes tests/fixtures/seg_parity.json, seg_metrics.json)

1. Preprocessing parity, per preset, written from the published steps with the reference
   libraries (not from our Rust code):
   - medsam (MedSAM_Inference.py / the HF port used by the MedFM reference): grey -> 3 channels,
     squash to 1024x1024 with Pillow BICUBIC (mode "F"), min-max to [0, 1], no mean/std;
     box * (1024/W, 1024/H); logits: torch bilinear (align_corners=False) to (H, W), > 0.
   - sam-med2d (SAM-Med2D test.py / ORT example): x*255, ImageNet mean/std (RGB), THEN squash to
     256x256 with Pillow BILINEAR (the published order: normalise, then resize); box * (256/W,
     256/H); logits: bilinear to 256x256, then bilinear to (H, W), > 0.
   - litemedsam (CVPR24_LiteMedSAM_infer.py): longest side to 256 (new = int(old * 256/max + 0.5))
     with Pillow BOX (= cv2 INTER_AREA when shrinking), min-max to [0, 1], zero pad bottom/right;
     box * 256/max(H, W); logits: bilinear to 256 if smaller, crop to (newh, neww), bilinear to
     (H, W), > 0.
   Encoder tensors are large (3x1024x1024), so each is stored as its float64 sum, sum of squares
   and every `stride`-th element.
2. IoU/Dice on hand-made and random masks, including empty ones: numpy counts with our
   documented empty rule (empty vs empty = 1) and medpy.metric.binary.jc / dc (which return 0 for
   empty vs empty; that one case is flagged).
"""
import json
import os

import numpy as np
import torch
from PIL import Image
from medpy.metric import binary as mb

ROOT = os.path.join(os.path.dirname(__file__), "..")
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)


def pil_resize(plane, w, h, flt):
    im = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32))
    assert im.mode == "F"
    return np.asarray(im.resize((w, h), flt), dtype=np.float32)


def torch_bilinear(logits, w, h):
    t = torch.from_numpy(np.asarray(logits, np.float64))[None, None]
    return torch.nn.functional.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)[0, 0].numpy()


def minmax(x):
    x = x.astype(np.float32)
    lo, hi = x.min(), x.max()
    return (x - lo) / np.float32(max(hi - lo, 1e-8))


def preprocess(preset, rgb):
    """rgb: float32 [3, H, W] on [0, 1]."""
    _, h, w = rgb.shape
    if preset == "medsam":
        out = np.stack([pil_resize(rgb[c], 1024, 1024, Image.BICUBIC) for c in range(3)])
        return minmax(out), (1024, 1024)
    if preset == "sam-med2d":
        norm = (rgb * np.float32(255.0) - MEAN[:, None, None]) / STD[:, None, None]
        return np.stack([pil_resize(norm[c], 256, 256, Image.BILINEAR) for c in range(3)]), (256, 256)
    if preset == "litemedsam":
        scale = 256.0 / max(h, w)
        nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
        small = minmax(np.stack([pil_resize(rgb[c], nw, nh, Image.BOX) for c in range(3)]))
        out = np.zeros((3, 256, 256), np.float32)
        out[:, :nh, :nw] = small
        return out, (nw, nh)
    raise ValueError(preset)


def prompt(preset, box, w, h):
    x0, y0, x1, y1 = box
    if preset == "medsam":
        sx, sy = 1024.0 / w, 1024.0 / h
    elif preset == "sam-med2d":
        sx, sy = 256.0 / w, 256.0 / h
    else:
        sx = sy = 256.0 / max(w, h)
    s = 1024.0 if preset == "medsam" else 256.0
    return {
        "point_coords": [[x0 * sx, y0 * sy], [x1 * sx, y1 * sy]],
        "point_labels": [2.0, 3.0],
        "has_mask_input": 0.0,
        "orig_im_size": [s, s],
    }


def postprocess(preset, low, w, h, newsize):
    if preset == "medsam":
        return torch_bilinear(low, w, h)
    full = low if low.shape == (256, 256) else torch_bilinear(low, 256, 256)
    if preset == "sam-med2d":
        return torch_bilinear(full, w, h)
    nw, nh = newsize
    return torch_bilinear(full[:nh, :nw], w, h)


def r7(v):
    return float(f"{v:.7g}")


def finite(v):
    with np.errstate(all="ignore"):
        v = float(v)
    return v if np.isfinite(v) else None


def hexbytes(a):
    return bytes(np.asarray(a, np.uint8).ravel()).hex()


def parity():
    rng = np.random.default_rng(20260521)
    images = [
        ("rgb_37x29", rng.integers(0, 256, (3, 29, 37)).astype(np.uint8)),
        ("grey_50x23", rng.integers(0, 256, (1, 23, 50)).astype(np.uint8)),
        ("grey_301x97", rng.integers(0, 256, (1, 97, 301)).astype(np.uint8)),
    ]
    cases = []
    for name, u8 in images:
        c, h, w = u8.shape
        rgb = np.repeat(u8, 3, 0) if c == 1 else u8
        rgb = rgb.astype(np.float32) / np.float32(255.0)
        yy, xx = np.mgrid[0:h, 0:w]
        mask = ((xx - 0.6 * w) / (0.25 * w)) ** 2 + ((yy - 0.45 * h) / (0.3 * h)) ** 2 <= 1.0
        ys, xs = np.nonzero(mask)
        box = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]
        for preset in ["medsam", "sam-med2d", "litemedsam"]:
            t, newsize = preprocess(preset, rgb)
            flat = t.astype(np.float64).ravel()
            stride = 997 if preset == "medsam" else 97
            # Rounded so the Rust side reads exactly the values the reference used.
            low = np.round(rng.normal(0.0, 2.0, (4, 16, 16)), 6)
            iou = rng.uniform(0, 1, 4)
            best = 1 + int(np.argmax(iou[1:]))
            final = postprocess(preset, low[0], w, h, newsize)
            cases.append({
                "image": name, "width": w, "height": h, "channels": c, "pixels_hex": hexbytes(u8),
                "preset": preset, "mask_hex": hexbytes(mask), "box": box,
                "tensor_len": int(flat.size), "tensor_sum": float(flat.sum()), "tensor_sumsq": float((flat ** 2).sum()),
                "tensor_stride": stride, "tensor_samples": [r7(v) for v in flat[::stride]],
                "prompt": prompt(preset, box, w, h),
                "low_res": [round(float(v), 6) for v in low.ravel()], "low_side": 16, "iou_predictions": [float(v) for v in iou],
                "best_iou_index": best,
                "final_logits_stride": 7, "final_logits": [round(float(v), 5) for v in final.ravel()[::7]],
                "final_mask_hex": hexbytes(final > 0),
            })
    return {"generator": "tools/gen_seg_fixtures.py", "cases": cases}


def metrics():
    rng = np.random.default_rng(7)
    cases = []

    def add(name, p, g):
        p, g = p.astype(bool), g.astype(bool)
        inter, sp, sg = int((p & g).sum()), int(p.sum()), int(g.sum())
        union = sp + sg - inter
        iou = 1.0 if union == 0 else inter / union
        dice = 1.0 if sp + sg == 0 else 2 * inter / (sp + sg)
        cases.append({
            "name": name, "width": p.shape[1], "height": p.shape[0],
            "pred_hex": hexbytes(p), "truth_hex": hexbytes(g),
            "iou": iou, "dice": dice,
            # medpy divides by zero on empty vs empty (nan or 0 by version): stored as null.
            "medpy_jc": finite(mb.jc(p, g)), "medpy_dc": finite(mb.dc(p, g)),
            "both_empty": bool(sp + sg == 0),
        })

    z = np.zeros((5, 6), bool)
    a = z.copy(); a[1:4, 1:4] = True
    b = z.copy(); b[2:5, 2:6] = True
    add("overlap_squares", a, b)
    add("identical", a, a)
    add("disjoint", a, ~a)
    add("empty_both", z, z)
    add("empty_pred", z, a)
    add("empty_truth", a, z)
    add("one_pixel", z | (np.arange(30).reshape(5, 6) == 7), z | (np.arange(30).reshape(5, 6) == 7))
    add("full_vs_half", ~z, np.arange(30).reshape(5, 6) % 2 == 0)
    for i in range(10):
        h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        dp, dg = rng.uniform(0, 1), rng.uniform(0, 1)
        add(f"random_{i}", rng.uniform(0, 1, (h, w)) < dp, rng.uniform(0, 1, (h, w)) < dg)
    return {"generator": "tools/gen_seg_fixtures.py", "cases": cases}


def main():
    out = os.path.join(ROOT, "tests", "fixtures")
    os.makedirs(out, exist_ok=True)
    for name, data in [("seg_parity.json", parity()), ("seg_metrics.json", metrics())]:
        path = os.path.join(out, name)
        with open(path, "w") as f:
            json.dump(data, f, separators=(",", ":"))
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
