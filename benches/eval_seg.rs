//! Evaluation-loop throughput on the built-in demo model (models/demo) over the phantoms:
//! images/s through the pipeline's segmentation evaluator (crate::run::eval::SegEvaluator, what
//! `eval-seg` and `run` call), on the phantoms clean and under the registry's `base` set at
//! fixed strengths (uncalibrated, so the numbers measure the model path, not SSIM calibration).
//! Needs the ONNX Runtime library (tools/setup_ort.sh). Run: cargo bench --bench eval_seg

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use medfm_robust::calibrate::policy::{produce, Policy};
use medfm_robust::image::{Image, Mask};
use medfm_robust::perturb::{Ctx, Modality};
use medfm_robust::phantom::phantom;
use medfm_robust::run::config::{ModelConfig, Profile};
use medfm_robust::run::data::Sample;
use medfm_robust::run::eval::{load_evaluator, UnitEvaluator, UnitInput};
use medfm_robust::run::exec::{Item, Source};
use medfm_robust::ssim::{SsimReference, SsimVariant};

const SIZE: usize = 160;

fn items() -> Vec<(Image, Mask)> {
    let mut v = Vec::new();
    let base = medfm_robust::perturb::select("base", None).unwrap_or_default();
    for (i, &m) in Modality::ALL.iter().enumerate() {
        let p = phantom(m, SIZE, SIZE, 3, 0);
        let reference = SsimReference::new(&p.image, SsimVariant::Wang).unwrap();
        v.push((p.image.clone(), p.mask.clone()));
        for q in &base {
            for o in produce(
                &Policy::Fixed,
                *q,
                &p.image,
                &reference,
                Some(&p.mask),
                medfm_robust::BitDepth::U8,
                &Ctx::new(0, i as u32),
                &[1, 3, 5],
            )
            .unwrap()
            {
                v.push((o.image, o.mask.unwrap()));
            }
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo");
    let m = ModelConfig {
        strategy: "none".into(),
        preset: "litemedsam".into(),
        graphs: [
            ("encoder".to_string(), dir.join("encoder.onnx")),
            ("decoder".to_string(), dir.join("decoder.onnx")),
        ]
        .into(),
        ..ModelConfig::new("demo", "segmentation")
    };
    let tmp = std::env::temp_dir();
    let mut ev = load_evaluator(&m, "cpu", Profile::Default, &tmp)
        .expect("demo model (run tools/setup_ort.sh first)");
    let items: Vec<Item> = items()
        .into_iter()
        .map(|(img, mask)| Item::clean(img, Some(mask)))
        .collect();
    let source = Source::default();
    let sample = Sample {
        id: "p".into(),
        image: "p.png".into(),
        mask: None,
        modality: None,
        vlm: None,
        relative: "p.png".into(),
        frame: None,
        volume: false,
    };
    let run_all = |ev: &mut Box<dyn UnitEvaluator>| {
        let inputs: Vec<UnitInput<'_>> = items
            .iter()
            .map(|item| UnitInput {
                sample: &sample,
                item,
                source: &source,
                perturbation: None,
                seed: 0,
                unit: "u",
            })
            .collect();
        for r in ev.evaluate_batch(&inputs) {
            assert!(r.is_ok(), "{:?}", r.err());
        }
    };
    let mut g = c.benchmark_group("eval_seg");
    g.sample_size(10);
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function("demo_phantoms", |b| b.iter(|| run_all(&mut ev)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
