//! Evaluation-loop throughput on the built-in demo model (models/demo) over the phantoms:
//! images/s through the model, and the time split between perturbation, preprocessing, encoder
//! and decoder (printed once, from the loop's own stage timers).
//!
//! Perturbations: the registry's `base` set at fixed strengths (uncalibrated, so the numbers
//! measure the model path, not SSIM calibration); clean only while the registry is empty.
//! Needs the ONNX Runtime library (tools/setup_ort.sh). Run: cargo bench --bench eval_seg

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use medfm_robust::eval::seg::run::{evaluate_image, EvalOptions, StageTimes, Strengths};
use medfm_robust::eval::seg::{Model, ModelSpec};
use medfm_robust::perturb::Modality;
use medfm_robust::phantom::{phantom, Phantom};

const SIZE: usize = 160;

fn setup() -> (Model, EvalOptions, Vec<Phantom>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo");
    let spec = ModelSpec {
        name: "demo".into(),
        strategy: "none".into(),
        preset: "litemedsam".into(),
        encoder: Some(dir.join("encoder.onnx")),
        decoder: Some(dir.join("decoder.onnx")),
        graph: None,
        generic: None,
    };
    let model = Model::load(&spec, Default::default(), 0).expect("demo model (run tools/setup_ort.sh first)");
    let opts = EvalOptions {
        model_name: "demo".into(),
        strategy: "none".into(),
        dataset: "phantoms".into(),
        perturbations: medfm_robust::perturb::select("base", None).unwrap_or_default(),
        levels: vec![1, 3, 5],
        seed: 0,
        jitter: 0,
        strengths: Strengths::Fixed,
        replay: Default::default(),
    };
    let phantoms = Modality::ALL.iter().map(|&m| phantom(m, SIZE, SIZE, 3, 0)).collect();
    (model, opts, phantoms)
}

fn run_all(model: &mut Model, opts: &EvalOptions, phantoms: &[Phantom], times: &mut StageTimes) {
    for (i, p) in phantoms.iter().enumerate() {
        evaluate_image(model, &format!("p{i}"), &p.image, medfm_robust::BitDepth::U8, &p.mask, opts, times, &mut |r| {
            assert!(r.error.is_none(), "{r:?}");
            Ok(())
        })
        .unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let (mut model, opts, phantoms) = setup();
    let mut times = StageTimes::default();
    run_all(&mut model, &opts, &phantoms, &mut times);
    let n = times.images;
    let ms = |d: std::time::Duration| 1000.0 * d.as_secs_f64() / n as f64;
    eprintln!(
        "eval_seg split per model image ({n} images, {SIZE}px, {} perturbations x 3 levels): perturb {:.2} ms, preprocess {:.2} ms, encoder {:.2} ms, decoder {:.2} ms",
        opts.perturbations.len(),
        ms(times.perturb),
        ms(times.preprocess),
        ms(times.encode),
        ms(times.decode)
    );
    let mut g = c.benchmark_group("eval_seg");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n));
    g.bench_function("demo_phantoms", |b| {
        b.iter(|| {
            let mut t = StageTimes::default();
            run_all(&mut model, &opts, &phantoms, &mut t);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
