//! SSIM throughput: `ssim/<variant>/<w>x<h>x<c>` for a one-off `ssim(a, b)` (reference moments
//! computed each call) and `ssim_ref/<variant>/<w>x<h>x<c>` for `SsimReference::ssim` (the
//! calibration path: clean-image moments precomputed once). Throughput in elements (samples of
//! one image). Compare with skimage 0.26 on the same size (see tools/gen_ssim_fixtures.py for the
//! exact skimage call of each variant).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use medfm_robust::ssim::{ssim, SsimReference, SsimVariant};
use medfm_robust::Image;

/// Deterministic test pair: a smooth-ish pattern with 8-bit codes, and a noisy copy.
fn pair(w: usize, h: usize, c: usize) -> (Image, Image) {
    let mut a = Image::new(w, h, c);
    let mut b = Image::new(w, h, c);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for (i, (va, vb)) in a.data.iter_mut().zip(b.data.iter_mut()).enumerate() {
        let x = (i % w) as f32;
        let y = ((i / w) % h) as f32;
        let base = 0.5 + 0.3 * (x * 0.031).sin() * (y * 0.017).cos();
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2;
        *va = (base * 255.0).round() / 255.0;
        *vb = ((base + noise).clamp(0.0, 1.0) * 255.0).round() / 255.0;
    }
    (a, b)
}

fn bench(cr: &mut Criterion) {
    let mut g = cr.benchmark_group("ssim");
    g.sample_size(20);
    for (w, h, c) in [(256, 256, 1), (1024, 1024, 3)] {
        let (a, b) = pair(w, h, c);
        g.throughput(Throughput::Elements((w * h * c) as u64));
        for v in [SsimVariant::Wang, SsimVariant::Skimage, SsimVariant::Compat] {
            let id = format!("{}/{w}x{h}x{c}", v.as_str());
            g.bench_with_input(BenchmarkId::from_parameter(&id), &v, |bn, &v| {
                bn.iter(|| ssim(&a, &b, v).unwrap())
            });
        }
    }
    g.finish();

    let mut g = cr.benchmark_group("ssim_ref");
    g.sample_size(20);
    for (w, h, c) in [(256, 256, 1), (512, 512, 3), (1024, 1024, 3)] {
        let (a, b) = pair(w, h, c);
        g.throughput(Throughput::Elements((w * h * c) as u64));
        for v in [SsimVariant::Wang, SsimVariant::Skimage] {
            let r = SsimReference::new(&a, v).unwrap();
            let id = format!("{}/{w}x{h}x{c}", v.as_str());
            g.bench_with_input(BenchmarkId::from_parameter(&id), &r, |bn, r| {
                bn.iter(|| r.ssim(&b).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
