//! Perturbation throughput: `perturb/<id>` is one `Prepared::apply` at mid strength (the middle of
//! the strength range) on a 512x512 RGB phantom, for every registered perturbation (the registry
//! is the only list). `prepare` runs once outside the measured region, as in calibration, where
//! one prepare serves ~20-60 applies. Throughput in elements (samples of one image).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use medfm_robust::perturb::{all, Ctx, Modality};
use medfm_robust::phantom::phantom;

fn bench(cr: &mut Criterion) {
    let (w, h, c) = (512, 512, 3);
    let ctx = Ctx::new(1, 1);
    let mut g = cr.benchmark_group("perturb");
    g.sample_size(10);
    g.throughput(Throughput::Elements((w * h * c) as u64));
    for p in all() {
        let info = p.info();
        let img = phantom(info.modality.unwrap_or(Modality::Ct), w, h, c, 1).image;
        let prepared = match p.prepare(&img, &ctx) {
            Ok(pr) => pr,
            Err(e) => {
                eprintln!("perturb/{}: skipped: {e}", info.id);
                continue;
            }
        };
        let s = 0.5 * (info.strength_range.0 + info.strength_range.1);
        g.bench_with_input(BenchmarkId::from_parameter(info.id), &s, |bn, &s| bn.iter(|| prepared.apply(s)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
