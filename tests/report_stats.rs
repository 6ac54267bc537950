//! The report's statistics end to end from records: interval coverage by simulation, Eq. 3
//! estimates and CE against independent recomputations (tools/gen_report_fixture.py), byte-identical
//! reports for any thread count, and the corpus-metric bootstrap hook on captions.

use medfm_robust::report::aggregate::Aggregate;
use medfm_robust::report::inference::{Baseline, Statistics, StatsOptions};
use medfm_robust::rng::Rng;
use medfm_robust::run::records::{self, Record};
use medfm_robust::stats::bootstrap;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn rec(sample: usize, perturbation: &str, level: u8, iou: f64, ssim: Option<f64>) -> Record {
    Record {
        unit: format!("{sample}/{perturbation}/{level}"),
        model: "m".into(),
        strategy: "full".into(),
        preset: String::new(),
        dataset: "d".into(),
        task: "segmentation".into(),
        sample: format!("s{sample:04}"),
        perturbation: perturbation.into(),
        category: if perturbation == "clean" {
            "clean".into()
        } else {
            "base".into()
        },
        modality: None,
        level,
        strength: None,
        ssim,
        in_band: Some(true),
        reason: None,
        metrics: BTreeMap::from([("iou".to_string(), iou)]),
        prompt: None,
        error: None,
        verdict: None,
        content: None,
        fields: BTreeMap::new(),
    }
}

/// Acceptance: for 100 paired samples with a known normal difference (mean 0.05, sd 0.1), the 95%
/// interval of the drop covers the true mean in 92-98% of 400 seeded repetitions, for both the
/// percentile and the BCa interval; and the intervals are not trivially wide.
#[test]
fn drop_intervals_cover_the_true_mean() {
    let (mu, sd, n, reps) = (0.05, 0.1, 100usize, 400u32);
    let (mut cov_pct, mut cov_bca, mut width) = (0, 0, 0.0);
    for rep in 0..reps {
        let g = Rng::new(1_000 + rep as u64, 1, 2);
        let mut recs = Vec::new();
        for i in 0..n {
            let clean = 0.6 + 0.3 * g.uniform(0, i as u32) as f64;
            let d = mu + sd * g.normal(1, i as u32) as f64;
            recs.push(rec(i, "clean", 0, clean, None));
            recs.push(rec(i, "gaussian_noise", 3, clean - d, None));
        }
        let agg = Aggregate::from_records(recs.iter(), "iou");
        let opts = StatsOptions {
            seed: rep as u64,
            permutations: 99,
            ..Default::default()
        };
        let st = Statistics::compute(&agg, &opts).unwrap();
        let v = st.drop.values().next().unwrap();
        let e = v.ci.unwrap();
        cov_pct += usize::from(e.percentile.contains(mu));
        cov_bca += usize::from(e.bca.unwrap().contains(mu));
        width += e.percentile.hi - e.percentile.lo;
    }
    let (p, b) = (cov_pct as f64 / reps as f64, cov_bca as f64 / reps as f64);
    eprintln!(
        "coverage over {reps} repetitions: percentile {p:.4}, BCa {b:.4}; mean width {:.5}",
        width / reps as f64
    );
    assert!((0.92..=0.98).contains(&p), "percentile coverage {p}");
    assert!((0.92..=0.98).contains(&b), "BCa coverage {b}");
    // The normal-theory width 2 * 1.96 * sd / sqrt(n) = 0.0392; the bootstrap's is close.
    let w = width / reps as f64 / (2.0 * 1.959964 * sd / (n as f64).sqrt());
    assert!((0.9..1.05).contains(&w), "relative width {w}");
}

#[test]
fn estimates_equal_eq3_and_ce_matches_the_independent_recomputation() {
    let recs = records::read_records(&fixture("report_records.jsonl")).unwrap();
    let want: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("report_expected.json")).unwrap())
            .unwrap();
    let agg = Aggregate::from_records(recs.iter(), "iou");
    let opts = StatsOptions {
        replicates: 200,
        baseline: Some(Baseline::parse("medsam/full").unwrap()),
        ..Default::default()
    };
    let st = Statistics::compute(&agg, &opts).unwrap();
    let key = |k: &[Value]| {
        (
            (
                k[0].as_str().unwrap().to_string(),
                k[1].as_str().unwrap().to_string(),
                k[2].as_str().unwrap().to_string(),
            ),
            k[3].as_str().unwrap().to_string(),
            k[4].as_u64().unwrap() as u8,
        )
    };
    for d in want["drop"].as_array().unwrap() {
        let k = d.as_array().unwrap();
        let v = &st.drop[&key(k)];
        assert!((v.estimate - k[6].as_f64().unwrap()).abs() < 1e-12);
        let p = v.ci.unwrap().percentile;
        assert!(p.lo <= p.hi);
    }
    for d in want["delta"].as_array().unwrap() {
        let k = d.as_array().unwrap();
        assert!((st.delta[&key(k)].estimate - k[5].as_f64().unwrap()).abs() < 1e-12);
    }
    for r in want["table1"].as_array().unwrap() {
        let (m, s) = (
            r["model"].as_str().unwrap().to_string(),
            r["strategy"].as_str().unwrap().to_string(),
        );
        assert!(
            (st.average_base[&(m.clone(), s.clone())].estimate
                - r["average_base_drop"].as_f64().unwrap())
            .abs()
                < 1e-12
        );
        for (d, c) in ["isic", "kvasir"]
            .iter()
            .zip(r["cells"].as_array().unwrap())
        {
            let mds = (m.clone(), s.clone(), d.to_string());
            assert!(
                (st.category[&(mds.clone(), "base".into())].estimate - c[1].as_f64().unwrap())
                    .abs()
                    < 1e-12
            );
            assert!(
                (st.category[&(mds, "medical".into())].estimate - c[2].as_f64().unwrap()).abs()
                    < 1e-12
            );
        }
    }
    // CE per (mds, perturbation) and mCE against medsam/full, recomputed in Python.
    let ce = want["ce"].as_array().unwrap();
    assert!(ce.len() > 20);
    for w in ce {
        let k = w.as_array().unwrap();
        let row = st
            .ce
            .iter()
            .find(|r| {
                r.mds.0 == k[0].as_str().unwrap()
                    && r.mds.1 == k[1].as_str().unwrap()
                    && r.mds.2 == k[2].as_str().unwrap()
                    && r.perturbation == k[3].as_str().unwrap()
                    && r.category == k[4].as_str().unwrap()
            })
            .unwrap_or_else(|| panic!("no CE row {k:?}"));
        assert!(
            (row.ce.unwrap() - k[5].as_f64().unwrap()).abs() < 1e-12,
            "CE {k:?}: {:?}",
            row.ce
        );
        assert!(
            (row.rel_ce.unwrap() - k[6].as_f64().unwrap()).abs() < 1e-12,
            "relative CE {k:?}: {:?}",
            row.rel_ce
        );
    }
    // Table 1 prints every cell with its interval.
    let md = medfm_robust::report::tables::table1_markdown_with(&agg, Some(&st), &[]);
    let row = md
        .lines()
        .find(|l| l.starts_with("| medsam | lora |"))
        .unwrap();
    assert_eq!(row.matches(" [").count(), 2 * 3 + 1, "{row}");
}

/// Records with a measured SSIM (a deterministic function of the unit) so that every part of the
/// statistics, curves included, runs.
fn write_run(dir: &Path) {
    let mut text = String::new();
    for mut r in records::read_records(&fixture("report_records.jsonl")).unwrap() {
        if r.perturbation != "clean" {
            let h = medfm_robust::rng::fnv1a32(&r.unit) as f64 / u32::MAX as f64;
            r.ssim = Some(1.0 - 0.1 * r.level as f64 + 0.05 * h);
        }
        text.push_str(&serde_json::to_string(&r).unwrap());
        text.push('\n');
    }
    std::fs::write(dir.join("records.jsonl"), text).unwrap();
}

fn report_bytes(dir: &Path, out: &Path, threads: usize, seed: u64) -> BTreeMap<String, Vec<u8>> {
    let opts = StatsOptions {
        seed,
        replicates: 500,
        baseline: Some(Baseline::parse("medsam/full").unwrap()),
        ..Default::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let s = pool
        .install(|| medfm_robust::report::write_report_with(dir, out, &opts))
        .unwrap();
    s.files
        .iter()
        .map(|f| {
            (
                f.strip_prefix(out).unwrap().display().to_string(),
                std::fs::read(f).unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_records_and_seed_give_byte_identical_reports_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    write_run(dir.path());
    let one = report_bytes(dir.path(), &dir.path().join("r1"), 1, 5);
    let two = report_bytes(dir.path(), &dir.path().join("r2"), 2, 5);
    let three = report_bytes(dir.path(), &dir.path().join("r3"), 3, 5);
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    for (k, v) in &one {
        assert!(
            v == &two[k] && v == &three[k],
            "{k} differs between thread counts"
        );
    }
    // The seed matters (so the comparison above is not vacuous).
    let other = report_bytes(dir.path(), &dir.path().join("r4"), 2, 6);
    assert_ne!(one["summary.csv"], other["summary.csv"]);
    let summary = String::from_utf8(one["summary.csv"].clone()).unwrap();
    for kind in [
        ",drop,",
        ",eq3,",
        ",table1,",
        ",table1_average,",
        ",ce,",
        ",ssim_area,",
        ",comparison,",
    ] {
        assert!(summary.contains(kind), "summary.csv has no {kind} rows");
    }
    let html = String::from_utf8(one["report.html"].clone()).unwrap();
    assert!(
        html.contains("holds at 95%"),
        "one verdict line per comparison"
    );
    assert!(html.matches("<li>").count() >= summary.matches(",comparison,").count());
}

/// The generic hook: a corpus-level metric (BLEU-4 over the resampled captions, clean and
/// perturbed on the same resample) recomputed inside each replicate.
#[test]
fn corpus_bleu_drop_is_bootstrapped_through_the_index_hook() {
    use medfm_robust::metrics::caption::{normalise, score, Tokenisation};
    let mut refs: Vec<Vec<String>> = Vec::new();
    let mut clean: Vec<String> = Vec::new();
    for line in std::fs::read_to_string(fixture("caption_corpus.jsonl"))
        .unwrap()
        .lines()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        clean.push(normalise(
            v["prediction"].as_str().unwrap(),
            Tokenisation::Words,
        ));
        refs.push(
            v["references"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| normalise(r.as_str().unwrap(), Tokenisation::Words))
                .collect(),
        );
    }
    // "Perturbed" predictions: every other caption loses its second half.
    let pert: Vec<String> = clean
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.split(' ')
                    .take(c.split(' ').count().div_ceil(2))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                c.clone()
            }
        })
        .collect();
    let n = clean.len();
    let bleu4 = |preds: &[String], idx: &[usize]| {
        let p: Vec<String> = idx.iter().map(|&i| preds[i].clone()).collect();
        let r: Vec<Vec<String>> = idx.iter().map(|&i| refs[i].clone()).collect();
        score(&p, &r).unwrap().0.bleu4
    };
    let stat = |idx: &[usize]| bleu4(&clean, idx) - bleu4(&pert, idx);
    let all: Vec<usize> = (0..n).collect();
    let theta = stat(&all);
    let reps = bootstrap::bootstrap_indices(3, 99, n, 300, stat);
    // Replicate r is the statistic on exactly resample(seed, group, r, n).
    assert_eq!(reps[7], stat(&bootstrap::resample(3, 99, 7, n)));
    let e = bootstrap::summarise(theta, reps, None, 0.95).unwrap();
    assert!(
        theta > 0.0 && e.percentile.lo < theta && theta < e.percentile.hi,
        "{theta} {e:?}"
    );
    assert!(e.se > 0.0);
}

/// A real difference between two strategies (drop 0.10 vs 0.02, sd 0.05, 40 samples) holds and is
/// marked distinguishable; two strategies with the same drop distribution are not.
#[test]
fn ranking_marks_follow_the_paired_test() {
    let build = |gap: f64| {
        let g = Rng::new(77, 0, 0);
        let mut recs = Vec::new();
        for (s, base) in [("full", 0.02), ("lora", 0.02 + gap)] {
            for i in 0..40usize {
                let clean = 0.8;
                let mut c = rec(i, "clean", 0, clean, None);
                c.strategy = s.into();
                c.unit = format!("{s}/{}", c.unit);
                recs.push(c);
                let mut p = rec(
                    i,
                    "gaussian_noise",
                    2,
                    clean - base - 0.05 * g.normal(u32::from(s == "lora"), i as u32) as f64,
                    None,
                );
                p.strategy = s.into();
                p.unit = format!("{s}/{}", p.unit);
                recs.push(p);
            }
        }
        let agg = Aggregate::from_records(recs.iter(), "iou");
        Statistics::compute(
            &agg,
            &StatsOptions {
                replicates: 300,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let st = build(0.08);
    assert_eq!(
        st.figures
            .strategy
            .iter()
            .map(|i| i.label.as_str())
            .collect::<Vec<_>>(),
        ["lora", "full"]
    );
    let c = st
        .comparisons
        .iter()
        .find(|c| c.family == "strategy_ranking")
        .unwrap();
    assert!(
        c.p_holm < 0.001 && c.diff.ci.unwrap().ci().excludes_zero(),
        "{c:?}"
    );
    assert_eq!(st.figures.strategy_distinct, [true]);
    let st = build(0.0);
    let c = st
        .comparisons
        .iter()
        .find(|c| c.family == "strategy_ranking")
        .unwrap();
    assert!(c.p_holm > 0.05, "{c:?}");
    assert_eq!(st.figures.strategy_distinct, [false]);
}
