//! One aggregation for every task: which metric each task is reported on, Eq. 3 per task metric
//! ([`Aggregate`]), captioning's corpus-level BLEU/ROUGE-L/CIDEr computed from the records'
//! `prediction` and `references` (never averaged per item), and the printed summary every
//! front-end shows.

use super::aggregate::{Aggregate, Mds, PerturbationCell};
use crate::metrics::caption::{self, Tokenisation};
use crate::run::records::Record;
use crate::run::units::CLEAN;
use std::collections::{BTreeMap, BTreeSet};

/// The tasks in report order.
pub const TASKS: [&str; 4] = ["segmentation", "vqa", "caption", "grounding"];

/// The metrics a task is reported on; the first is its headline.
pub fn metrics_of(task: &str) -> &'static [&'static str] {
    match task {
        "segmentation" => &["iou", "dice"],
        "vqa" => &["correct"],
        "grounding" => &["correct", "iou"],
        "caption" => &["cider", "bleu4", "bleu1", "rouge_l"],
        _ => &[],
    }
}

/// Corpus-level caption metrics (not per-item means).
pub fn is_corpus(task: &str, metric: &str) -> bool {
    task == "caption"
        && matches!(
            metric,
            "bleu1" | "bleu2" | "bleu3" | "bleu4" | "rouge_l" | "cider"
        )
}

/// How a task's metric is named in tables and figures.
pub fn label(task: &str, metric: &str) -> String {
    match (task, metric) {
        ("vqa", "correct") => "accuracy".into(),
        ("grounding", "correct") => "Acc@IoU0.5".into(),
        ("grounding", "iou") => "mean IoU".into(),
        ("caption", "cider") => "CIDEr-D".into(),
        ("caption", m) => m.to_uppercase().replace("ROUGE_L", "ROUGE-L"),
        (_, m) => super::metric_label(m),
    }
}

/// Eq. 3 of `metric` over the records of `task` (errors counted, never scored).
pub fn aggregate<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    task: &str,
    metric: &str,
) -> Aggregate {
    let recs: Vec<&Record> = records.into_iter().filter(|r| r.task == task).collect();
    if is_corpus(task, metric) {
        corpus(&recs, metric)
    } else {
        Aggregate::from_records(recs, metric)
    }
}

/// The tasks present in `records`, in report order.
pub fn tasks_in<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<&'static str> {
    let have: BTreeSet<String> = records.into_iter().map(|r| r.task.clone()).collect();
    TASKS
        .iter()
        .copied()
        .filter(|t| have.contains(*t))
        .collect()
}

fn mds(r: &Record) -> (String, String, String) {
    (r.model.clone(), r.strategy.clone(), r.dataset.clone())
}

/// A caption item: (prediction, references).
type Caption = (String, Vec<String>);

/// Prediction and references of a caption record, normalised by its tokenisation.
fn caption_of(r: &Record) -> Option<Caption> {
    let tok = match r.fields.get("tokenisation").and_then(|v| v.as_str()) {
        Some("raw") => Tokenisation::Raw,
        _ => Tokenisation::Words,
    };
    let pred = r.fields.get("prediction")?.as_str()?;
    let refs = r.fields.get("references")?.as_array()?;
    Some((
        caption::normalise(pred, tok),
        refs.iter()
            .filter_map(|s| s.as_str())
            .map(|s| caption::normalise(s, tok))
            .collect(),
    ))
}

/// The corpus score of `metric` over the given (prediction, references); None when empty.
pub fn corpus_score(items: &[&Caption], metric: &str) -> Option<f64> {
    if items.is_empty() {
        return None;
    }
    let preds: Vec<String> = items.iter().map(|i| i.0.clone()).collect();
    let refs: Vec<Vec<String>> = items.iter().map(|i| i.1.clone()).collect();
    let (s, _) = caption::score(&preds, &refs).ok()?;
    Some(match metric {
        "bleu1" => s.bleu1,
        "bleu2" => s.bleu2,
        "bleu3" => s.bleu3,
        "bleu4" => s.bleu4,
        "rouge_l" => s.rouge_l,
        _ => s.cider,
    })
}

/// A (perturbation, level) cell: its category and, by sample, the caption and whether the
/// level was in band.
type CaptionCell = (String, BTreeMap<String, (Caption, bool)>);

/// The ok caption records of one (model, strategy, dataset), grouped for corpus scoring.
#[derive(Default)]
struct Grouped {
    clean: BTreeMap<String, Caption>,
    cells: BTreeMap<(String, u8), CaptionCell>,
}

/// The caption records by (model, strategy, dataset), and how many of them failed.
fn group_captions<'a>(
    recs: impl IntoIterator<Item = &'a Record>,
) -> (BTreeMap<Mds, Grouped>, usize) {
    let mut groups: BTreeMap<Mds, Grouped> = BTreeMap::new();
    let mut errors = 0;
    for r in recs {
        let Some(c) = r.ok().then(|| caption_of(r)).flatten() else {
            errors += usize::from(!r.ok());
            continue;
        };
        let g = groups.entry(mds(r)).or_default();
        if r.perturbation == CLEAN {
            g.clean.insert(r.sample.clone(), c);
        } else {
            g.cells
                .entry((r.perturbation.clone(), r.level))
                .or_insert_with(|| (r.category.clone(), BTreeMap::new()))
                .1
                .insert(r.sample.clone(), (c, r.in_band == Some(true)));
        }
    }
    (groups, errors)
}

/// Eq. 3 for a corpus-level caption metric: per (perturbation, level), the clean corpus score
/// and the perturbed corpus score over the SAME samples (those with both records ok); the drop is
/// their difference. Category means and Table 1 follow as for per-item metrics.
fn corpus(recs: &[&Record], metric: &str) -> Aggregate {
    let (groups, errors) = group_captions(recs.iter().copied());
    let mut agg = Aggregate {
        metric: metric.to_string(),
        errors,
        ..Default::default()
    };
    for (k, g) in &groups {
        let items: Vec<&Caption> = g.clean.values().collect();
        if let Some(v) = corpus_score(&items, metric) {
            agg.clean.insert(k.clone(), (v, items.len()));
        }
        for ((p, s), (category, by_sample)) in &g.cells {
            // (clean, perturbed, in band) of the samples with both
            let paired: Vec<(&Caption, &Caption, bool)> = by_sample
                .iter()
                .filter_map(|(id, (c, inb))| g.clean.get(id).map(|cl| (cl, c, *inb)))
                .collect();
            let c_items: Vec<&Caption> = paired.iter().map(|x| x.0).collect();
            let p_items: Vec<&Caption> = paired.iter().map(|x| x.1).collect();
            let (Some(c), Some(pv)) = (
                corpus_score(&c_items, metric),
                corpus_score(&p_items, metric),
            ) else {
                continue;
            };
            let n = paired.len();
            let inb = paired.iter().filter(|x| x.2).count();
            agg.per_perturbation.insert(
                (k.clone(), p.clone(), *s),
                PerturbationCell {
                    category: category.clone(),
                    n,
                    clean: c,
                    perturbed: pv,
                    drop: c - pv,
                    in_band_fraction: inb as f64 / n as f64,
                },
            );
        }
    }
    let mut by_cat: BTreeMap<(Mds, String, u8), Vec<f64>> = BTreeMap::new();
    for ((k, _, level), cell) in &agg.per_perturbation {
        by_cat
            .entry((k.clone(), cell.category.clone(), *level))
            .or_default()
            .push(cell.drop);
    }
    agg.delta = by_cat
        .into_iter()
        .map(|(k, v)| (k, (v.iter().sum::<f64>() / v.len() as f64, v.len())))
        .collect();
    agg
}

/// Most bootstrap replicates for a corpus caption metric: every replicate rescores the corpus of
/// every (perturbation, level) cell, so B is capped (200 replicates give the 2.5/97.5 % quantiles
/// to about +-0.01 of a typical CIDEr-D interval; docs/statistics.md).
pub const CAPTION_REPLICATES_MAX: usize = 200;

/// Bootstrap replicates of a corpus caption metric (report::vlm turns them into intervals):
/// replicate r of each dataset resamples its samples with the same draws as every other
/// statistic of that dataset ([`bootstrap::resample`] under the dataset's group key) and rescores
/// the clean corpus and, per (perturbation, level) cell, the clean and perturbed corpora over the
/// resampled samples that have both. NaN where a replicate leaves a quantity undefined.
///
/// [`bootstrap::resample`]: crate::stats::bootstrap::resample
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaptionReplicates {
    pub clean: BTreeMap<Mds, Vec<f64>>,
    /// Per (mds, perturbation, level): the drop's replicates; the category is the cell's.
    pub cells: BTreeMap<(Mds, String, u8), (String, Vec<f64>)>,
}

impl CaptionReplicates {
    /// Replicates of a category's drop as Eq. 3 averages it (perturbations within a level, then
    /// levels); empty when the category has no cell.
    pub fn category(&self, mds: &Mds, category: &str) -> Vec<f64> {
        let mut levels: BTreeMap<u8, Vec<&Vec<f64>>> = BTreeMap::new();
        for ((m, _, level), (c, reps)) in &self.cells {
            if m == mds && c == category {
                levels.entry(*level).or_default().push(reps);
            }
        }
        let b = self.clean.get(mds).map_or(0, Vec::len);
        if levels.is_empty() {
            return Vec::new();
        }
        (0..b)
            .map(|r| {
                let means: Vec<f64> = levels
                    .values()
                    .map(|cells| mean_defined(cells.iter().map(|c| c[r])))
                    .collect();
                mean_defined(means.into_iter())
            })
            .collect()
    }

    /// Replicates of the mean drop of `perturbation` over every cell that has it (every model
    /// and level), as the impact figure averages it.
    pub fn perturbation(&self, perturbation: &str) -> Vec<f64> {
        let cells: Vec<&Vec<f64>> = self
            .cells
            .iter()
            .filter(|((_, p, _), _)| p == perturbation)
            .map(|(_, (_, reps))| reps)
            .collect();
        let b = cells.first().map_or(0, |c| c.len());
        (0..b)
            .map(|r| mean_defined(cells.iter().map(|c| c[r])))
            .collect()
    }
}

/// The mean of the defined (not NaN) values; NaN when there is none.
fn mean_defined(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v
        .filter(|x| !x.is_nan())
        .fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

/// The replicates of a corpus caption metric's aggregate (empty when `replicates` is 0, at most
/// [`CAPTION_REPLICATES_MAX`]).
pub fn caption_replicates(
    records: &[&Record],
    agg: &Aggregate,
    opts: &super::inference::StatsOptions,
) -> CaptionReplicates {
    use crate::stats::bootstrap;
    use rayon::prelude::*;
    let mut out = CaptionReplicates::default();
    let b = opts.replicates.min(CAPTION_REPLICATES_MAX);
    if b == 0 {
        return out;
    }
    let recs: Vec<&Record> = records
        .iter()
        .copied()
        .filter(|r| r.task == "caption")
        .collect();
    // The resampling universe of a dataset: every sample with a caption record, failed or not.
    let mut universe: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in &recs {
        universe
            .entry(r.dataset.as_str())
            .or_default()
            .insert(r.sample.as_str());
    }
    let (groups, _) = group_captions(recs.iter().copied());
    for k in agg.clean.keys() {
        let (Some(g), Some(samples)) = (groups.get(k), universe.get(k.2.as_str())) else {
            continue;
        };
        let samples: Vec<&str> = samples.iter().copied().collect();
        let group = crate::rng::fnv1a32(&k.2);
        // per replicate: the clean score, then each cell's drop in `g.cells` order
        let reps: Vec<(f64, Vec<f64>)> = (0..b as u32)
            .into_par_iter()
            .map(|r| {
                let idx = bootstrap::resample(opts.seed, group, r, samples.len());
                let drawn: Vec<&str> = idx.iter().map(|&i| samples[i]).collect();
                let clean: Vec<&Caption> = drawn.iter().filter_map(|s| g.clean.get(*s)).collect();
                let c = corpus_score(&clean, &agg.metric).unwrap_or(f64::NAN);
                let drops = g
                    .cells
                    .values()
                    .map(|(_, by_sample)| {
                        let (mut ci, mut pi) = (Vec::new(), Vec::new());
                        for s in &drawn {
                            if let (Some(a), Some((p, _))) = (g.clean.get(*s), by_sample.get(*s)) {
                                ci.push(a);
                                pi.push(p);
                            }
                        }
                        match (
                            corpus_score(&ci, &agg.metric),
                            corpus_score(&pi, &agg.metric),
                        ) {
                            (Some(a), Some(p)) => a - p,
                            _ => f64::NAN,
                        }
                    })
                    .collect();
                (c, drops)
            })
            .collect();
        out.clean
            .insert(k.clone(), reps.iter().map(|(c, _)| *c).collect());
        for (j, ((p, level), (category, _))) in g.cells.iter().enumerate() {
            out.cells.insert(
                (k.clone(), p.clone(), *level),
                (category.clone(), reps.iter().map(|(_, d)| d[j]).collect()),
            );
        }
    }
    out
}

/// The printed summary of a run (every front-end prints this): per task and model, the clean
/// score of the headline metric, its drop per category and level (Eq. 3), and how many units
/// failed (excluded from every number).
pub fn summary_text(records: &[Record]) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let failed = records.iter().filter(|r| !r.ok()).count();
    for task in tasks_in(records) {
        for &metric in metrics_of(task) {
            let agg = aggregate(records, task, metric);
            for ((model, strategy, dataset), (clean, n)) in &agg.clean {
                let mds = (model.clone(), strategy.clone(), dataset.clone());
                let _ = write!(
                    s,
                    "{task} {model}/{strategy} on {dataset}: clean {} {clean:.4} (n = {n})",
                    label(task, metric)
                );
                for cat in ["base", "medical", "extra"] {
                    if let Some(d) = agg.category_drop(&mds, cat) {
                        let _ = write!(s, "; {cat} drop {d:+.4}");
                    }
                }
                s.push('\n');
                for ((m, c, level), (d, k)) in &agg.delta {
                    if *m == mds {
                        let _ = writeln!(s, "  drop {c} L{level} ({k} perturbations): {d:+.4}");
                    }
                }
            }
        }
    }
    let _ = writeln!(
        s,
        "records: {}, failed: {failed}{}",
        records.len(),
        if failed > 0 {
            " (failed units are excluded from every metric above; their records say why)"
        } else {
            ""
        }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(sample: &str, pert: &str, level: u8, pred: &str) -> Record {
        let mut r: Record = serde_json::from_value(serde_json::json!({
            "unit": format!("{sample}{pert}{level}"), "model": "m", "strategy": "full", "dataset": "d", "task": "caption",
            "sample": sample, "perturbation": pert, "category": if pert == "clean" { "clean" } else { "base" }, "level": level,
        }))
        .unwrap();
        r.fields
            .insert("prediction".into(), serde_json::json!(pred));
        r.fields.insert(
            "references".into(),
            serde_json::json!([
                "a chest x ray with a small nodule",
                "a small nodule in the lung"
            ]),
        );
        r
    }

    #[test]
    fn caption_drops_are_corpus_scores_over_the_same_samples() {
        let recs = vec![
            rec("a", "clean", 0, "a chest x ray with a small nodule"),
            rec("b", "clean", 0, "a small nodule in the lung"),
            rec("a", "blur", 3, "an image"),
            rec("b", "blur", 3, "a small nodule in the lung"),
        ];
        let agg = aggregate(&recs, "caption", "bleu4");
        let k = ("m".to_string(), "full".to_string(), "d".to_string());
        let cell = &agg.per_perturbation[&(k.clone(), "blur".to_string(), 3)];
        let norm = |p: &str| {
            (
                p.to_string(),
                vec![
                    "a chest x ray with a small nodule".to_string(),
                    "a small nodule in the lung".to_string(),
                ],
            )
        };
        let clean = corpus_score(
            &[
                &norm("a chest x ray with a small nodule"),
                &norm("a small nodule in the lung"),
            ],
            "bleu4",
        )
        .unwrap();
        let perturbed = corpus_score(
            &[&norm("an image"), &norm("a small nodule in the lung")],
            "bleu4",
        )
        .unwrap();
        assert!((cell.clean - clean).abs() < 1e-12 && (cell.perturbed - perturbed).abs() < 1e-12);
        assert!((cell.drop - (clean - perturbed)).abs() < 1e-12);
        // Not the mean of per-item scores.
        let per_item = (corpus_score(&[&norm("an image")], "bleu4").unwrap()
            + corpus_score(&[&norm("a small nodule in the lung")], "bleu4").unwrap())
            / 2.0;
        assert!(
            (per_item - perturbed).abs() > 1e-6,
            "{per_item} vs {perturbed}"
        );
        assert_eq!(agg.clean[&k].1, 2);
    }

    #[test]
    fn caption_intervals_rescore_the_corpus_per_resample() {
        let preds = [
            "a chest x ray with a small nodule",
            "a small nodule in the lung",
            "an image",
            "a chest",
            "lung nodule small",
            "x ray of a chest",
        ];
        let mut recs = Vec::new();
        for (i, p) in preds.iter().enumerate() {
            let s = format!("s{i}");
            recs.push(rec(&s, "clean", 0, p));
            // "blur" leaves every caption as it was; "noise" turns half of them into noise.
            recs.push(rec(&s, "blur", 3, p));
            recs.push(rec(&s, "noise", 3, if i % 2 == 0 { "zzz" } else { p }));
        }
        for r in recs.iter_mut().filter(|r| r.perturbation == "noise") {
            r.category = "medical".into();
        }
        let refs: Vec<&Record> = recs.iter().collect();
        let agg = aggregate(refs.iter().copied(), "caption", "bleu1");
        let opts = super::super::inference::StatsOptions {
            replicates: 100,
            ..Default::default()
        };
        let reps = caption_replicates(&refs, &agg, &opts);
        let k = ("m".to_string(), "full".to_string(), "d".to_string());
        let ci = |theta: f64, v: Vec<f64>| {
            let e = crate::stats::bootstrap::summarise(theta, v, None, 0.95).unwrap();
            (e.percentile.lo, e.percentile.hi)
        };
        let theta = agg.clean[&k].0;
        let (lo, hi) = ci(theta, reps.clean[&k].clone());
        let theta = agg.clean[&k].0;
        assert!(
            lo <= theta && theta <= hi && hi - lo > 1e-3,
            "{lo} {theta} {hi}"
        );
        // Unchanged captions: every resample's drop is exactly 0.
        assert_eq!(ci(0.0, reps.category(&k, "base")), (0.0, 0.0));
        assert_eq!(reps.category(&k, "base"), reps.perturbation("blur"));
        let md = agg.category_drop(&k, "medical").unwrap();
        let (mlo, mhi) = ci(md, reps.category(&k, "medical"));
        assert!(mlo > 0.0 && mlo <= md && md <= mhi, "{mlo} {md} {mhi}");
        assert_eq!(
            reps,
            caption_replicates(&refs, &agg, &opts),
            "deterministic"
        );
        let none = super::super::inference::StatsOptions {
            replicates: 0,
            ..Default::default()
        };
        assert_eq!(
            caption_replicates(&refs, &agg, &none),
            CaptionReplicates::default()
        );
    }
}
