//! Cost of the report's statistics (docs/statistics.md, section "Cost").
//!
//! `paper_sized`: synthesises a paper-sized run in memory, about 2 million records (12 model /
//! strategy pairs x 4 datasets x 40 perturbations x 5 levels x 200 samples, plus the clean ones,
//! each with a measured SSIM), then times, once each, the Eq. 3 aggregation
//! (`Aggregate::from_records`) and the statistics (`Statistics::compute`: B = 2000 bootstrap
//! replicates of every cell, BCa intervals of every printed number, 9999-resample sign-flip tests
//! for every comparison, Holm, and the bootstrapped SSIM-curve areas), printing the split.
//! Then criterion measures the two kernels on a smaller design: the cell replicates and one
//! sign-flip test. Run: cargo bench --bench stats (MEDFM_STATS_BENCH_QUICK=1: a 10x smaller run).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use medfm_robust::report::aggregate::Aggregate;
use medfm_robust::report::inference::{Statistics, StatsOptions};
use medfm_robust::rng::Rng;
use medfm_robust::run::records::Record;
use medfm_robust::stats::paired::{sign_flip_p, Lin};
use std::collections::BTreeMap;
use std::time::Instant;

#[allow(clippy::too_many_arguments)]
fn record(
    model: &str,
    strategy: &str,
    dataset: &str,
    sample: usize,
    p: &str,
    cat: &str,
    level: u8,
    iou: f64,
    ssim: Option<f64>,
) -> Record {
    Record {
        unit: format!("{model}/{strategy}/{dataset}/{sample}/{p}/{level}"),
        model: model.into(),
        strategy: strategy.into(),
        preset: "bench".into(),
        dataset: dataset.into(),
        task: "segmentation".into(),
        sample: format!("img{sample:05}.png"),
        perturbation: p.into(),
        category: cat.into(),
        modality: None,
        level,
        strength: None,
        ssim,
        in_band: Some(true),
        reason: None,
        metrics: BTreeMap::from([
            ("iou".to_string(), iou),
            ("dice".to_string(), 2.0 * iou / (1.0 + iou)),
        ]),
        prompt: None,
        error: None,
        verdict: None,
        content: None,
        fields: BTreeMap::new(),
    }
}

/// (model, strategy) pairs x datasets x perturbations x levels x samples, seeded.
fn synthesise(samples: usize) -> Vec<Record> {
    let ms: Vec<(String, String)> = ["medsam", "sam-med2d"]
        .iter()
        .flat_map(|m| {
            [
                "full",
                "encoder",
                "decoder",
                "decoder-prompt",
                "lora",
                "adapter",
            ]
            .iter()
            .map(move |s| (m.to_string(), s.to_string()))
        })
        .collect();
    let datasets = ["isic", "kvasir", "brain-mri", "smdg"];
    let mut out = Vec::new();
    for (k, (m, s)) in ms.iter().enumerate() {
        for (di, d) in datasets.iter().enumerate() {
            let g = Rng::new(k as u64, di as u32, 0);
            for i in 0..samples {
                let clean = 0.55 + 0.4 * g.uniform(0, i as u32) as f64;
                out.push(record(m, s, d, i, "clean", "clean", 0, clean, None));
                for p in 0..40u32 {
                    let cat = if p < 20 { "base" } else { "medical" };
                    for level in 1..=5u8 {
                        let j = (p * 8 + level as u32) * 100_000 + i as u32;
                        let ssim = 1.0 - 0.1 * level as f64 + 0.09 * g.uniform(1, j) as f64 - 0.045;
                        let drop =
                            (0.01 + 0.002 * p as f64) * level as f64 + 0.05 * g.normal(2, j) as f64;
                        out.push(record(
                            m,
                            s,
                            d,
                            i,
                            &format!("p{p:02}"),
                            cat,
                            level,
                            clean - drop,
                            Some(ssim),
                        ));
                    }
                }
            }
        }
    }
    out
}

fn paper_sized() {
    let samples = if std::env::var_os("MEDFM_STATS_BENCH_QUICK").is_some() {
        20
    } else {
        200
    };
    let t = Instant::now();
    let recs = synthesise(samples);
    let t_syn = t.elapsed();
    let t = Instant::now();
    let agg = Aggregate::from_records(recs.iter(), "iou");
    let t_agg = t.elapsed();
    let t = Instant::now();
    let st = Statistics::compute(&agg, &StatsOptions::default()).unwrap();
    let t_st = t.elapsed();
    eprintln!(
        "stats paper_sized: {} records ({} cells, {} curves, {} comparisons), {} threads: synthesise {:.1} s, aggregate {:.1} s, statistics {:.1} s (B = 2000, 9999 sign flips); aggregate + statistics {:.1} s",
        recs.len(),
        agg.design.cells.len(),
        agg.curves.len(),
        st.comparisons.len(),
        rayon::current_num_threads(),
        t_syn.as_secs_f64(),
        t_agg.as_secs_f64(),
        t_st.as_secs_f64(),
        (t_agg + t_st).as_secs_f64()
    );
}

fn kernels(c: &mut Criterion) {
    paper_sized();
    // A 1/40 design: 12 x 4 x 1 perturbation x 5 levels x 200 samples.
    let recs: Vec<Record> = synthesise(200)
        .into_iter()
        .filter(|r| r.perturbation == "clean" || r.perturbation == "p00")
        .collect();
    let agg = Aggregate::from_records(recs.iter(), "iou");
    let n = agg
        .design
        .cells
        .iter()
        .map(|c| c.values.len())
        .sum::<usize>() as u64;
    let mut g = c.benchmark_group("stats");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n * 2000));
    g.bench_function("cell_replicates_b2000", |b| {
        b.iter(|| agg.design.replicates(0, 2000))
    });
    let lin = agg.design.cells.len() - 1;
    let contrib: Vec<f64> = agg
        .design
        .contributions(&Lin::cell(lin).minus(&Lin::cell(lin - 1)))
        .into_iter()
        .map(|x| x.1)
        .collect();
    g.throughput(Throughput::Elements(contrib.len() as u64 * 9999));
    g.bench_function("sign_flip_9999", |b| {
        b.iter(|| sign_flip_p(&contrib, 9999, 0, 1))
    });
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
