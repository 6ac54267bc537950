//! Perturbation throughput: `perturb/<id>` is one `Prepared::apply_quantised(s, U8)` at mid
//! strength (the middle of the strength range) on a 512x512 RGB 8-bit phantom, for every
//! registered perturbation (the registry is the only list): 8-bit samples in, the quantised 8-bit
//! output out, the path calibration and augmentation take. `prepare` runs once outside the
//! measured region, as in calibration, where one prepare serves every evaluation. Throughput in
//! elements (samples of one image). `perturb_u8/<id>` is the same call on the 8-bit path,
//! `Prepared::apply_u8(s, out)`: the same codes written into a reused byte buffer (what
//! tools/compare_opencv.py times against OpenCV's uint8 in, uint8 out).
//!
//! `calibrate/base_512x512x3` is one image's per-image calibration of the 12 base perturbations x
//! 5 levels (prepare, search, final images; no file I/O), the in-process part of
//! tools/compare_python.py's end-to-end comparison.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use medfm_robust::calibrate::{perturb_image_with, SearchOptions};
use medfm_robust::perturb::{all, Category, Ctx, Modality};
use medfm_robust::phantom::phantom;
use medfm_robust::ssim::SsimReference;
use medfm_robust::BitDepth;

fn bench(cr: &mut Criterion) {
    let (w, h, c) = (512, 512, 3);
    let ctx = Ctx::new(1, 1);
    let mut g = cr.benchmark_group("perturb");
    g.sample_size(10);
    g.throughput(Throughput::Elements((w * h * c) as u64));
    let images: Vec<_> = all()
        .iter()
        .map(|p| {
            phantom(p.info().modality.unwrap_or(Modality::Ct), w, h, c, 1)
                .image
                .quantised(BitDepth::U8)
        })
        .collect();
    let mut prepared_all = Vec::new();
    for (p, img) in all().iter().zip(&images) {
        let info = p.info();
        let prepared = match p.prepare(img, &ctx) {
            Ok(pr) => pr,
            Err(e) => {
                eprintln!("perturb/{}: skipped: {e}", info.id);
                continue;
            }
        };
        let s = 0.5 * (info.strength_range.0 + info.strength_range.1);
        g.bench_with_input(BenchmarkId::from_parameter(info.id), &s, |bn, &s| {
            bn.iter(|| prepared.apply_quantised(s, BitDepth::U8))
        });
        prepared_all.push((info.id, s, prepared));
    }
    g.finish();

    let mut g = cr.benchmark_group("perturb_u8");
    g.sample_size(10);
    g.throughput(Throughput::Elements((w * h * c) as u64));
    let mut out = vec![0u8; w * h * c];
    for (id, s, prepared) in &prepared_all {
        g.bench_with_input(BenchmarkId::from_parameter(id), s, |bn, &s| {
            bn.iter(|| prepared.apply_u8(s, &mut out))
        });
    }
    g.finish();

    let mut g = cr.benchmark_group("calibrate");
    g.sample_size(10);
    let img = phantom(Modality::Pathology, w, h, c, 1)
        .image
        .quantised(BitDepth::U8);
    let opts = SearchOptions::default();
    let base: Vec<_> = all()
        .iter()
        .filter(|p| p.info().category == Category::Base)
        .collect();
    g.bench_function("base_512x512x3", |bn| {
        bn.iter(|| {
            let reference = SsimReference::new(&img, opts.variant).unwrap();
            for p in &base {
                perturb_image_with(
                    p.as_ref(),
                    &img,
                    &reference,
                    None,
                    BitDepth::U8,
                    &ctx,
                    &[1, 2, 3, 4, 5],
                    &opts,
                )
                .unwrap();
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
