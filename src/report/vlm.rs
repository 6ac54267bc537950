//! The VLM side of the report (Fig. 3 (g)-(l) and the VLM tables): per task and model the clean
//! score, the base and medical drops (Eq. 3, mean over levels), the clean vs perturbed figure and
//! the perturbation impact per task. Captioning is scored corpus-level (report::tasks).

use super::aggregate::{Aggregate, Mds};
use super::figures::{Bar, Ci, Fig};
use super::inference::{Statistics, StatsOptions};
use super::tasks::{self, label};
use crate::run::records::Record;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One row of the VLM table: (task, metric, model/strategy, dataset) -> clean, base, medical.
#[derive(Clone, Debug, PartialEq)]
pub struct VlmRow {
    pub task: String,
    pub metric: String,
    pub model: String,
    pub dataset: String,
    pub n: usize,
    pub clean: f64,
    pub base_drop: Option<f64>,
    pub medical_drop: Option<f64>,
    /// Paired bootstrap intervals of clean, base drop, medical drop (report::inference; for
    /// captioning's corpus metrics, percentile intervals with the corpus rescored in each
    /// resample, report::tasks::caption_replicates).
    pub clean_ci: Option<Ci>,
    pub base_ci: Option<Ci>,
    pub medical_ci: Option<Ci>,
    /// Intervals of clean - base drop and clean - medical drop (the perturbed scores Eq. 3
    /// implies), paired with the clean score.
    pub base_perturbed_ci: Option<Ci>,
    pub medical_perturbed_ci: Option<Ci>,
}

/// The statistics of one VLM task's aggregate: the paired bootstrap of per-item metrics
/// (report::inference), or the corpus rescored in each resample for captioning.
pub enum TaskStats {
    Paired(Box<Statistics>),
    Corpus(tasks::CaptionReplicates),
    /// No intervals (B = 0, or the design could not be built).
    None,
}

/// The statistics of each VLM aggregate.
pub fn statistics(
    records: &[&Record],
    aggs: &[(&'static str, Aggregate)],
    opts: &StatsOptions,
) -> Vec<TaskStats> {
    aggs.iter()
        .map(|(task, agg)| {
            if tasks::is_corpus(task, &agg.metric) {
                let reps = tasks::caption_replicates(records, agg, opts);
                if reps.clean.is_empty() {
                    TaskStats::None
                } else {
                    TaskStats::Corpus(reps)
                }
            } else {
                Statistics::compute(agg, opts)
                    .map_or(TaskStats::None, |s| TaskStats::Paired(Box::new(s)))
            }
        })
        .collect()
}

/// The percentile interval of replicates (NaN replicates dropped) around `theta`.
fn ci_reps(theta: Option<f64>, reps: Vec<f64>, level: f64) -> Option<Ci> {
    let e = crate::stats::bootstrap::summarise(theta?, reps, None, level)?;
    Some((e.percentile.lo, e.percentile.hi))
}

impl TaskStats {
    /// Intervals of (clean, base drop, medical drop, clean - base drop, clean - medical drop).
    fn row_cis(&self, agg: &Aggregate, mds: &Mds, level: f64) -> [Option<Ci>; 5] {
        let cat = |c: &str| (mds.clone(), c.to_string());
        match self {
            TaskStats::Paired(st) => [
                ci_of(st.clean.get(mds)),
                ci_of(st.category.get(&cat("base"))),
                ci_of(st.category.get(&cat("medical"))),
                ci_of(st.perturbed.get(&cat("base"))),
                ci_of(st.perturbed.get(&cat("medical"))),
            ],
            TaskStats::Corpus(reps) => {
                let clean = agg.clean.get(mds).map(|c| c.0);
                let c = reps.clean.get(mds).cloned().unwrap_or_default();
                let drop = |name: &str| {
                    let d = reps.category(mds, name);
                    let theta = agg.category_drop(mds, name);
                    let pert: Vec<f64> = c.iter().zip(&d).map(|(c, d)| c - d).collect();
                    (
                        ci_reps(theta, d, level),
                        ci_reps(clean.zip(theta).map(|(c, t)| c - t), pert, level),
                    )
                };
                let (base, base_p) = drop("base");
                let (medical, medical_p) = drop("medical");
                [
                    ci_reps(clean, c.clone(), level),
                    base,
                    medical,
                    base_p,
                    medical_p,
                ]
            }
            TaskStats::None => [None; 5],
        }
    }
}

fn ci_of(v: Option<&super::inference::Value>) -> Option<Ci> {
    v.and_then(|v| v.ci.as_ref()).map(|e| {
        let i = e.ci();
        (i.lo, i.hi)
    })
}

/// The headline aggregate of every VLM task present.
pub fn aggregates(records: &[&Record]) -> Vec<(&'static str, Aggregate)> {
    tasks::tasks_in(records.iter().copied())
        .into_iter()
        .filter(|t| *t != "segmentation")
        .map(|t| {
            (
                t,
                tasks::aggregate(records.iter().copied(), t, tasks::metrics_of(t)[0]),
            )
        })
        .collect()
}

pub fn rows(
    aggs: &[(&'static str, Aggregate)],
    stats: &[TaskStats],
    opts: &StatsOptions,
) -> Vec<VlmRow> {
    let mut v = Vec::new();
    for ((task, agg), st) in aggs.iter().zip(stats) {
        for (mds, (clean, n)) in &agg.clean {
            let [clean_ci, base_ci, medical_ci, base_perturbed_ci, medical_perturbed_ci] =
                st.row_cis(agg, mds, opts.level);
            v.push(VlmRow {
                task: task.to_string(),
                metric: agg.metric.clone(),
                model: format!("{} / {}", mds.0, mds.1),
                dataset: mds.2.clone(),
                n: *n,
                clean: *clean,
                base_drop: agg.category_drop(mds, "base"),
                medical_drop: agg.category_drop(mds, "medical"),
                clean_ci,
                base_ci,
                medical_ci,
                base_perturbed_ci,
                medical_perturbed_ci,
            });
        }
    }
    v
}

fn f(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.3}"))
}

/// `x [lo, hi]`, or `x` without an interval.
fn fc(v: Option<f64>, ci: Option<Ci>) -> String {
    match (v, ci) {
        (Some(x), Some((lo, hi))) => format!("{x:.3} [{lo:.3}, {hi:.3}]"),
        (v, _) => f(v),
    }
}

pub fn table_markdown(rows: &[VlmRow], header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "<!-- {h} -->");
    }
    s.push_str("\nVLM table: clean score and Eq. 3 drops (mean over levels) per task and model, with paired bootstrap 95% intervals [lo, hi] (captioning is corpus-level, its intervals rescored in each resample).\n\n");
    s.push_str("| task | metric | model | dataset | n | clean | base drop | medical drop |\n|---|---|---|---|---:|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.task,
            label(&r.task, &r.metric),
            r.model,
            r.dataset,
            r.n,
            fc(Some(r.clean), r.clean_ci),
            fc(r.base_drop, r.base_ci),
            fc(r.medical_drop, r.medical_ci)
        );
    }
    s
}

pub fn table_csv(rows: &[VlmRow], header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "# {h}");
    }
    s.push_str("task,metric,model,dataset,n,clean,clean_ci_low,clean_ci_high,base_drop,base_ci_low,base_ci_high,medical_drop,medical_ci_low,medical_ci_high\n");
    for r in rows {
        let q = |t: &str| {
            if t.contains(',') || t.contains('"') {
                format!("\"{}\"", t.replace('"', "\"\""))
            } else {
                t.to_string()
            }
        };
        let o = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x:.6}"));
        let lo = |c: Option<Ci>| o(c.map(|c| c.0));
        let hi = |c: Option<Ci>| o(c.map(|c| c.1));
        let _ = writeln!(
            s,
            "{},{},{},{},{},{:.6},{},{},{},{},{},{},{},{}",
            r.task,
            r.metric,
            q(&r.model),
            q(&r.dataset),
            r.n,
            r.clean,
            lo(r.clean_ci),
            hi(r.clean_ci),
            o(r.base_drop),
            lo(r.base_ci),
            hi(r.base_ci),
            o(r.medical_drop),
            lo(r.medical_ci),
            hi(r.medical_ci)
        );
    }
    s
}

pub fn table_html(rows: &[VlmRow]) -> String {
    let esc = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut s = String::from("<h2>VLM tasks</h2><p>Clean score and Eq. 3 drops (mean over levels) per task and model; captioning is scored corpus-level over the same samples.</p>\n<table><tr><th>task</th><th>metric</th><th>model</th><th>dataset</th><th>n</th><th>clean</th><th>base drop</th><th>medical drop</th></tr>\n");
    for r in rows {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.task),
            esc(&label(&r.task, &r.metric)),
            esc(&r.model),
            esc(&r.dataset),
            r.n,
            fc(Some(r.clean), r.clean_ci),
            fc(r.base_drop, r.base_ci),
            fc(r.medical_drop, r.medical_ci)
        );
    }
    s.push_str("</table>\n");
    s
}

/// Fig. 3 (g)-(l) style: per task and model the clean score and the perturbed scores Eq. 3
/// implies (clean - base drop, clean - medical drop), and per task the perturbations' impact
/// (drop averaged over levels and models); every bar with its 95% interval.
pub fn figures(
    aggs: &[(&'static str, Aggregate)],
    stats: &[TaskStats],
    rows: &[VlmRow],
    opts: &StatsOptions,
) -> Vec<(String, Fig)> {
    let mut out = Vec::new();
    let mut items = Vec::new();
    for r in rows {
        items.push((format!("{} {} clean", r.task, r.model), r.clean, r.clean_ci));
        for (name, drop, ci) in [
            ("base", r.base_drop, r.base_perturbed_ci),
            ("medical", r.medical_drop, r.medical_perturbed_ci),
        ] {
            if let Some(d) = drop {
                items.push((format!("{} {} {name}", r.task, r.model), r.clean - d, ci));
            }
        }
    }
    if !items.is_empty() {
        out.push((
            "vlm_clean_vs_perturbed".to_string(),
            Fig::Bars {
                title: "VLM tasks: clean vs perturbed (clean - Eq. 3 drop per category), 95% CI"
                    .into(),
                x_desc: "score".into(),
                items,
                marks: None,
            },
        ));
    }
    for ((task, agg), st) in aggs.iter().zip(stats) {
        // Paired statistics: the top-15 with intervals and distinguishability marks; corpus
        // captioning: the mean drop per perturbation with its rescored interval.
        let (items, marks): (Vec<Bar>, Option<Vec<bool>>) = match st {
            TaskStats::Paired(st) => (
                st.figures
                    .top
                    .iter()
                    .map(|i| (i.label.clone(), i.value.estimate, ci_of(Some(&i.value))))
                    .collect(),
                Some(st.figures.top_distinct.clone()),
            ),
            _ => {
                let mut by: BTreeMap<String, (f64, usize)> = BTreeMap::new();
                for ((_, p, _), c) in &agg.per_perturbation {
                    let e = by.entry(p.clone()).or_default();
                    e.0 += c.drop;
                    e.1 += 1;
                }
                let mut items: Vec<Bar> = by
                    .into_iter()
                    .map(|(k, (s, n))| {
                        let est = s / n as f64;
                        let ci = match st {
                            TaskStats::Corpus(reps) => {
                                ci_reps(Some(est), reps.perturbation(&k), opts.level)
                            }
                            _ => None,
                        };
                        (k, est, ci)
                    })
                    .collect();
                items.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                items.truncate(15);
                (items, None)
            }
        };
        if !items.is_empty() {
            out.push((
                format!("vlm_impact_{task}"),
                Fig::Bars {
                    title: format!(
                        "{task}: perturbation impact ({} drop, mean over levels), 95% CI",
                        label(task, &agg.metric)
                    ),
                    x_desc: format!("{} drop (clean - perturbed)", label(task, &agg.metric)),
                    items,
                    marks,
                },
            ));
        }
    }
    out
}
