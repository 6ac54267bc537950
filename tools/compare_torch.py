#!/usr/bin/env python3
"""The PyTorch side of the GPU comparison (issue 4, spec/gpu.md "≥ 10x the PyTorch pipeline").

Runs on the GPU machine in the same call as tools/gpu_check.sh's Rust benchmarks, on the same
card, with the same shapes (batches of 512x512 RGB float32 in [0, 1], already on the device):

  ssim_wang        torchmetrics SSIM (11x11 Gaussian, sigma 1.5, data_range 1, K1/K2 0.01/0.03),
                   the `wang` variant of spec/ssim-calibration.md, per image
  <family>         one perturbation per family done with torch ops (gaussian_noise, gaussian_blur
                   at sigma 2, brightness), per image
  noise+ssim       one search evaluation: perturb at a per-image strength, then SSIM
  calibration      the paper's protocol on the GPU the PyTorch way: gaussian_noise, five SSIM bands
                   searched one after another by per-image bisection (vectorised over the batch:
                   every image advances its own bracket), `--evals` evaluations per band, the
                   band test of src/calibrate/search.rs (target = band middle, stop when inside)

Prints one `TORCH|name|value|unit` line per figure (tools/gpu_check.sh tabulates them). Timing:
CUDA events around `--iters` repetitions after one warm-up, inputs resident on the device.
Nothing here is asserted; the numbers go to docs/performance.md.

Pinned by the GPU image: torch 2.11.0+cu130, torchmetrics 1.9.0 (KINDS.md).
"""
import argparse
import sys
import time

import torch
import torch.nn.functional as F

try:
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim
except ImportError:  # older torchmetrics
    from torchmetrics.functional import structural_similarity_index_measure as tm_ssim

# The five default bands of spec/ssim-calibration.md (level 1 = mildest).
BANDS = [(0.90, 0.98), (0.80, 0.89), (0.70, 0.79), (0.60, 0.69), (0.50, 0.59)]


def ssim(a, b):
    return tm_ssim(b, a, gaussian_kernel=True, sigma=1.5, kernel_size=11, data_range=1.0,
                   k1=0.01, k2=0.03, reduction="none")


def gaussian_noise(x, s, gen):
    noise = torch.randn(x.shape, device=x.device, generator=gen)
    return (x + s.view(-1, 1, 1, 1) * noise).clamp_(0.0, 1.0)


def gaussian_blur(x, sigma):
    r = int(4.0 * sigma + 0.5)
    t = torch.arange(-r, r + 1, device=x.device, dtype=torch.float32)
    k = torch.exp(-0.5 * t * t / (sigma * sigma))
    k = k / k.sum()
    c = x.shape[1]
    y = F.pad(x, (r, r, 0, 0), mode="reflect")
    y = F.conv2d(y, k.view(1, 1, 1, -1).expand(c, 1, 1, -1).contiguous(), groups=c)
    y = F.pad(y, (0, 0, r, r), mode="reflect")
    return F.conv2d(y, k.view(1, 1, -1, 1).expand(c, 1, -1, 1).contiguous(), groups=c)


def calibrate(x, gen, evals):
    """Per-image bisection of the gaussian_noise sigma for each band; returns (strengths, ssims)."""
    n = x.shape[0]
    out_s = torch.zeros(n, len(BANDS), device=x.device)
    out_f = torch.zeros(n, len(BANDS), device=x.device, dtype=torch.float64)
    for j, (lo_b, hi_b) in enumerate(BANDS):
        target = 0.5 * (lo_b + hi_b)
        lo = torch.zeros(n, device=x.device)
        hi = torch.ones(n, device=x.device)
        done = torch.zeros(n, dtype=torch.bool, device=x.device)
        best_s = torch.zeros(n, device=x.device)
        best_f = torch.zeros(n, device=x.device, dtype=torch.float64)
        for _ in range(evals):
            mid = torch.where(done, best_s, 0.5 * (lo + hi))
            f = ssim(x, gaussian_noise(x, mid, gen)).double()
            inside = (f >= lo_b) & (f <= hi_b)
            newly = inside & ~done
            best_s = torch.where(newly, mid, best_s)
            best_f = torch.where(newly, f, best_f)
            done = done | inside
            # SSIM falls with sigma: too similar -> stronger
            stronger = f > target
            lo = torch.where(~done & stronger, mid, lo)
            hi = torch.where(~done & ~stronger, mid, hi)
        out_s[:, j] = best_s
        out_f[:, j] = best_f
    return out_s, out_f


def timed(fn, iters):
    fn()
    if not torch.cuda.is_available():  # --device cpu smoke run
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        return (time.perf_counter() - t0) / iters
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1e3 / iters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--evals", type=int, default=16, help="bisection evaluations per band")
    ap.add_argument("--device", default="cuda", help="cpu only for a smoke run of this script")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("SKIPPED compare_torch: torch sees no CUDA device")
        return 2
    dev = torch.device(args.device)
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else "cpu"
    print(f"torch {torch.__version__} on {name}", file=sys.stderr)
    gen = torch.Generator(device=dev).manual_seed(0)
    n, sz = args.batch, args.size
    yy, xx = torch.meshgrid(torch.arange(sz, device=dev), torch.arange(sz, device=dev), indexing="ij")
    base = 0.5 + 0.4 * torch.sin(xx * 0.21) * torch.cos(yy * 0.17)
    x = (base.expand(n, 3, sz, sz) + 0.05 * torch.randn(n, 3, sz, sz, device=dev, generator=gen)).clamp(0, 1)
    x = x.contiguous()
    s = torch.full((n,), 0.1, device=dev)
    y = gaussian_noise(x, s, gen)

    def line(name, value, unit):
        print(f"TORCH|{name}|{value:.4g}|{unit}", flush=True)

    t = timed(lambda: ssim(x, y), args.iters)
    line(f"ssim_wang_{sz}x{sz}x3", n / t, "images/s")
    line(f"ssim_wang_{sz}x{sz}x3_bandwidth", 2 * x.numel() * 4 / t / 1e9, "GB/s of input")
    t = timed(lambda: gaussian_noise(x, s, gen), args.iters)
    line(f"gaussian_noise_{sz}x{sz}x3", n / t, "images/s")
    t = timed(lambda: gaussian_blur(x, 2.0), args.iters)
    line(f"gaussian_blur_s2_{sz}x{sz}x3", n / t, "images/s")
    t = timed(lambda: (x * 1.2).clamp_(0, 1), args.iters)
    line(f"brightness_{sz}x{sz}x3", n / t, "images/s")
    t = timed(lambda: ssim(x, gaussian_noise(x, s, gen)), args.iters)
    line(f"noise+ssim_eval_{sz}x{sz}x3", n / t, "images/s")
    t = timed(lambda: calibrate(x, gen, args.evals), 1)
    line(f"calibration_gaussian_noise_{sz}x{sz}x3", n / t, f"images/s (bisection, {args.evals} evals/band)")
    _, f = calibrate(x, gen, args.evals)
    inside = sum(((f[:, j] >= lo) & (f[:, j] <= hi)).sum().item() for j, (lo, hi) in enumerate(BANDS))
    line("calibration_levels_in_band", 100.0 * inside / (n * len(BANDS)), "%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
