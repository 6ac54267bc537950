//! Uncertainty for every number the report prints (docs/statistics.md): bootstrap intervals of
//! the Eq. 3 quantities, paired sign-flip tests with Holm correction for the comparisons the
//! tables and figures make, corruption errors against a baseline, and the area of the
//! drop-vs-SSIM curves. Works on an [`Aggregate`] (its paired design), never on records.

use super::aggregate::{Aggregate, CurvePoint, Mds};
use crate::error::{Error, Result};
use crate::rng::fnv1a32;
use crate::stats::bootstrap::{self, Estimate};
use crate::stats::paired::{sign_flip_p, Lin};
use crate::stats::{ce, holm::holm, isotonic};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Default number of sign-flip resamples per test.
pub const DEFAULT_PERMUTATIONS: usize = 9999;
/// At most this many bootstrap replicates for the SSIM-curve areas (one isotonic fit each; the
/// curves would otherwise dominate the cost, docs/statistics.md "Cost"). Percentile intervals
/// from 500 replicates have a Monte-Carlo error of about 0.05 standard errors at the ends.
pub const CURVE_REPLICATES_MAX: usize = 500;
/// How many perturbations the top-perturbations figure shows.
pub const TOP: usize = 15;

/// `report --baseline MODEL[/STRATEGY]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    pub model: String,
    pub strategy: Option<String>,
}

impl Baseline {
    pub fn parse(s: &str) -> Result<Baseline> {
        let (m, st) = match s.split_once('/') {
            Some((m, st)) => (m, Some(st.to_string())),
            None => (s, None),
        };
        if m.is_empty() || st.as_deref() == Some("") {
            return Err(Error::invalid(
                "--baseline",
                format!("'{s}': expected MODEL or MODEL/STRATEGY"),
            ));
        }
        Ok(Baseline {
            model: m.to_string(),
            strategy: st,
        })
    }

    /// The (model, strategy) this names among `models`: the strategy may be left out when the
    /// model has exactly one.
    pub fn resolve(&self, models: &[(String, String)]) -> Result<(String, String)> {
        let cands: Vec<&(String, String)> = models
            .iter()
            .filter(|(m, s)| *m == self.model && self.strategy.as_ref().is_none_or(|st| st == s))
            .collect();
        match cands.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::invalid(
                "--baseline",
                format!(
                    "no records of {}{}; the run has {}",
                    self.model,
                    self.strategy
                        .as_ref()
                        .map_or(String::new(), |s| format!("/{s}")),
                    models
                        .iter()
                        .map(|(m, s)| format!("{m}/{s}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            many => Err(Error::invalid(
                "--baseline",
                format!(
                    "{} has several strategies ({}); name one as MODEL/STRATEGY",
                    self.model,
                    many.iter()
                        .map(|x| x.1.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}

/// How the statistics are computed.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsOptions {
    /// Bootstrap replicates B (0: no intervals).
    pub replicates: usize,
    /// Seed of the resampling and of the sign flips.
    pub seed: u64,
    /// Confidence level of the intervals; also 1 - alpha of the "holds" verdicts.
    pub level: f64,
    /// Sign-flip resamples per test.
    pub permutations: usize,
    pub baseline: Option<Baseline>,
}

impl Default for StatsOptions {
    fn default() -> Self {
        StatsOptions {
            replicates: bootstrap::DEFAULT_REPLICATES,
            seed: 0,
            level: bootstrap::DEFAULT_LEVEL,
            permutations: DEFAULT_PERMUTATIONS,
            baseline: None,
        }
    }
}

/// A point estimate with its interval (None when B = 0 or undefined).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Value {
    pub estimate: f64,
    pub ci: Option<Estimate>,
}

/// One paired comparison: A - B.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// table1_strategy, table1_model, base_vs_medical, strategy_ranking, top_perturbations.
    pub family: String,
    /// A: model, strategy, dataset, category, perturbation ("*" where pooled).
    pub model: String,
    pub strategy: String,
    pub dataset: String,
    pub category: String,
    pub perturbation: String,
    /// What A is compared with, as the report names it.
    pub versus: String,
    /// Paired units (samples) in the difference.
    pub n: usize,
    pub diff: Value,
    pub p: f64,
    pub p_holm: f64,
}

impl Comparison {
    /// Holds at the options' level: Holm-adjusted p below 1 - level.
    pub fn holds(&self, level: f64) -> bool {
        self.p_holm < 1.0 - level
    }

    pub fn a_label(&self) -> String {
        let mut parts = vec![];
        for x in [
            &self.model,
            &self.strategy,
            &self.dataset,
            &self.category,
            &self.perturbation,
        ] {
            if x != "*" {
                parts.push(x.as_str());
            }
        }
        parts.join(" / ")
    }
}

/// CE of one (model, strategy, dataset): per perturbation and the means.
#[derive(Clone, Debug, PartialEq)]
pub struct CeRow {
    pub mds: Mds,
    /// Perturbation id, or "*" for the mean (mCE) over `category` ("all" or a category).
    pub perturbation: String,
    pub category: String,
    pub ce: Option<f64>,
    pub rel_ce: Option<f64>,
}

/// A bar or point of a figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub label: String,
    pub value: Value,
}

/// The figures' numbers with intervals, in drawing order; `*_distinct[k]`: bar k differs from
/// bar k + 1 (Holm-adjusted sign-flip p < 1 - level).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FigureStats {
    pub tradeoff: Vec<(String, Value, Value)>,
    pub strategy: Vec<Item>,
    pub strategy_distinct: Vec<bool>,
    pub model: Vec<Item>,
    pub dataset: Vec<Item>,
    pub top: Vec<Item>,
    pub top_distinct: Vec<bool>,
    pub series: Vec<(String, Vec<(u8, Value)>)>,
    /// Per perturbation: mean over (model, strategy, dataset) of the SSIM-curve area, descending.
    pub ssim_area: Vec<Item>,
}

/// Everything with an interval.
#[derive(Clone, Debug, Default)]
pub struct Statistics {
    pub options: StatsOptions,
    pub clean: BTreeMap<Mds, Value>,
    pub drop: BTreeMap<(Mds, String, u8), Value>,
    pub delta: BTreeMap<(Mds, String, u8), Value>,
    /// Table 1's category drops per (mds, category).
    pub category: BTreeMap<(Mds, String), Value>,
    /// Clean score minus the category drop per (mds, category): the perturbed score Eq. 3
    /// implies (the VLM figure's "perturbed" bars), paired with the clean score.
    pub perturbed: BTreeMap<(Mds, String), Value>,
    pub average_base: BTreeMap<(String, String), Value>,
    pub figures: FigureStats,
    pub comparisons: Vec<Comparison>,
    /// The resolved baseline, when one was given.
    pub baseline: Option<(String, String)>,
    pub ce: Vec<CeRow>,
    /// Area of the drop-vs-SSIM curve over [0.5, 1] per (mds, perturbation), with its sample count.
    pub ssim_area: BTreeMap<(Mds, String), (Value, usize)>,
}

struct Ctx<'a> {
    agg: &'a Aggregate,
    reps: Option<crate::stats::paired::Replicates>,
    level: f64,
}

impl Ctx<'_> {
    fn value(&self, lin: &Lin) -> Value {
        let estimate = self.agg.design.estimate(lin);
        Value {
            estimate,
            ci: self
                .reps
                .as_ref()
                .and_then(|r| self.agg.design.summarise(r, lin, self.level)),
        }
    }

    fn values<K: Clone + Ord + Send + Sync>(&self, lins: Vec<(K, Lin)>) -> BTreeMap<K, Value> {
        let vals: Vec<Value> = lins.par_iter().map(|(_, l)| self.value(l)).collect();
        lins.into_iter().map(|x| x.0).zip(vals).collect()
    }
}

fn sorted_desc(items: Vec<(String, Lin)>, ctx: &Ctx) -> Vec<(Item, Lin)> {
    let vals: Vec<Value> = items.par_iter().map(|(_, l)| ctx.value(l)).collect();
    let mut v: Vec<(Item, Lin)> = items
        .into_iter()
        .zip(vals)
        .map(|((label, lin), value)| (Item { label, value }, lin))
        .collect();
    v.sort_by(|a, b| {
        b.0.value
            .estimate
            .total_cmp(&a.0.value.estimate)
            .then(a.0.label.cmp(&b.0.label))
    });
    v
}

impl Statistics {
    /// Compute every interval, test and CE of `agg`.
    pub fn compute(agg: &Aggregate, opts: &StatsOptions) -> Result<Statistics> {
        let t0 = std::time::Instant::now();
        let tm = |what: &str| {
            if std::env::var_os("MEDFM_STATS_TIMING").is_some() {
                eprintln!("{what}: {:.2} s", t0.elapsed().as_secs_f64())
            }
        };
        let reps = (opts.replicates > 0).then(|| agg.design.replicates(opts.seed, opts.replicates));
        tm("replicates");
        let ctx = Ctx {
            agg,
            reps,
            level: opts.level,
        };
        let mut st = Statistics {
            options: opts.clone(),
            ..Default::default()
        };
        st.clean = ctx.values(
            agg.clean_cell
                .iter()
                .map(|(k, &c)| (k.clone(), Lin::cell(c)))
                .collect(),
        );
        st.drop = ctx.values(
            agg.pert_cell
                .iter()
                .map(|(k, &c)| (k.clone(), Lin::cell(c)))
                .collect(),
        );
        st.delta = ctx.values(
            agg.delta
                .keys()
                .filter_map(|k| agg.delta_lin(&k.0, &k.1, k.2).map(|l| (k.clone(), l)))
                .collect(),
        );
        let cats: BTreeSet<(Mds, String)> = agg
            .delta
            .keys()
            .map(|(m, c, _)| (m.clone(), c.clone()))
            .collect();
        st.category = ctx.values(
            cats.iter()
                .filter_map(|(m, c)| agg.category_lin(m, c).map(|l| ((m.clone(), c.clone()), l)))
                .collect(),
        );
        st.perturbed = ctx.values(
            cats.iter()
                .filter_map(|(m, c)| {
                    let clean = Lin::cell(*agg.clean_cell.get(m)?);
                    let drop = agg.category_lin(m, c)?;
                    Some(((m.clone(), c.clone()), clean.minus(&drop)))
                })
                .collect(),
        );
        st.average_base = ctx.values(
            agg.models()
                .into_iter()
                .filter_map(|(m, s)| agg.average_base_lin(&m, &s).map(|l| ((m, s), l)))
                .collect(),
        );

        tm("tables");
        // Figures.
        let fq = agg.figure_quantities();
        tm("figure quantities");
        st.figures.tradeoff = fq
            .tradeoff
            .iter()
            .map(|(k, c, d)| (k.clone(), ctx.value(c), ctx.value(d)))
            .collect();
        let strategy = sorted_desc(fq.strategy, &ctx);
        let top: Vec<(Item, Lin)> = sorted_desc(fq.perturbation, &ctx)
            .into_iter()
            .take(TOP)
            .collect();
        st.figures.model = sorted_desc(fq.model, &ctx)
            .into_iter()
            .map(|x| x.0)
            .collect();
        st.figures.dataset = sorted_desc(fq.dataset, &ctx)
            .into_iter()
            .map(|x| x.0)
            .collect();
        st.figures.series = fq
            .series
            .iter()
            .map(|(k, pts)| {
                (
                    k.clone(),
                    pts.iter().map(|(l, lin)| (*l, ctx.value(lin))).collect(),
                )
            })
            .collect();

        // Comparisons: (family, A fields, versus, lin A - B).
        let mut defs: Vec<(Comparison, Lin)> = Vec::new();
        let cmp = |family: &str, a: [&str; 5], versus: String, lin: Lin| {
            let [model, strategy, dataset, category, perturbation] = a.map(String::from);
            (
                Comparison {
                    family: family.into(),
                    model,
                    strategy,
                    dataset,
                    category,
                    perturbation,
                    versus,
                    n: 0,
                    diff: Value {
                        estimate: f64::NAN,
                        ci: None,
                    },
                    p: f64::NAN,
                    p_holm: f64::NAN,
                },
                lin,
            )
        };
        let models = agg.models();
        let datasets = agg.datasets();
        for d in &datasets {
            for cat in ["base", "medical"] {
                let have: Vec<(&(String, String), Lin)> = models
                    .iter()
                    .filter_map(|(m, s)| {
                        agg.category_lin(&(m.clone(), s.clone(), d.clone()), cat)
                            .map(|l| ((m, s), l))
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .map(|((m, s), l)| (models.iter().find(|x| &x.0 == m && &x.1 == s).unwrap(), l))
                    .collect();
                for i in 0..have.len() {
                    for j in i + 1..have.len() {
                        let ((ma, sa), la) = (&have[i].0, &have[i].1);
                        let ((mb, sb), lb) = (&have[j].0, &have[j].1);
                        if ma == mb {
                            defs.push(cmp(
                                "table1_strategy",
                                [ma, sa, d, cat, "*"],
                                format!("{mb} / {sb}"),
                                la.minus(lb),
                            ));
                        } else if sa == sb {
                            defs.push(cmp(
                                "table1_model",
                                [ma, sa, d, cat, "*"],
                                format!("{mb} / {sb}"),
                                la.minus(lb),
                            ));
                        }
                    }
                }
            }
        }
        for mds in agg.clean.keys() {
            if let (Some(b), Some(m)) = (
                agg.category_lin(mds, "base"),
                agg.category_lin(mds, "medical"),
            ) {
                defs.push(cmp(
                    "base_vs_medical",
                    [&mds.0, &mds.1, &mds.2, "base", "*"],
                    "medical".into(),
                    b.minus(&m),
                ));
            }
        }
        for w in strategy.windows(2) {
            defs.push(cmp(
                "strategy_ranking",
                ["*", &w[0].0.label, "*", "*", "*"],
                w[1].0.label.clone(),
                w[0].1.minus(&w[1].1),
            ));
        }
        for w in top.windows(2) {
            defs.push(cmp(
                "top_perturbations",
                ["*", "*", "*", "*", &w[0].0.label],
                w[1].0.label.clone(),
                w[0].1.minus(&w[1].1),
            ));
        }
        tm("figures");
        let tested: Vec<(Value, usize, f64)> = defs
            .par_iter()
            .map(|(c, lin)| {
                let contrib: Vec<f64> = agg
                    .design
                    .contributions(lin)
                    .into_iter()
                    .map(|x| x.1)
                    .collect();
                let key = fnv1a32(&format!("{}|{}|{}", c.family, c.a_label(), c.versus));
                let p = sign_flip_p(&contrib, opts.permutations, opts.seed, key);
                (ctx.value(lin), contrib.len(), p)
            })
            .collect();
        let mut comps: Vec<Comparison> = defs
            .into_iter()
            .zip(tested)
            .map(|((mut c, _), (v, n, p))| {
                c.diff = v;
                c.n = n;
                c.p = p;
                c
            })
            .collect();
        let families: BTreeSet<String> = comps.iter().map(|c| c.family.clone()).collect();
        for f in families {
            let idx: Vec<usize> = (0..comps.len()).filter(|&i| comps[i].family == f).collect();
            let adj = holm(&idx.iter().map(|&i| comps[i].p).collect::<Vec<_>>());
            for (i, a) in idx.into_iter().zip(adj) {
                comps[i].p_holm = a;
            }
        }
        let distinct = |family: &str| {
            comps
                .iter()
                .filter(|c| c.family == family)
                .map(|c| c.holds(opts.level))
                .collect::<Vec<bool>>()
        };
        st.figures.strategy_distinct = distinct("strategy_ranking");
        st.figures.top_distinct = distinct("top_perturbations");
        st.figures.strategy = strategy.into_iter().map(|x| x.0).collect();
        st.figures.top = top.into_iter().map(|x| x.0).collect();
        st.comparisons = comps;

        if let Some(b) = &opts.baseline {
            let base = b.resolve(&models)?;
            st.ce = corruption_errors(agg, &base);
            st.baseline = Some(base);
        }
        tm("comparisons");
        let areas = ssim_areas(agg, opts);
        tm("curves");
        // Mean area per perturbation over (model, strategy, dataset); its replicates are the means
        // of the per-(mds) replicates (same resampled samples per dataset).
        let mut by_p: BTreeMap<String, Vec<(f64, &Vec<f64>)>> = BTreeMap::new();
        for ((_, p), (v, _, reps)) in &areas {
            by_p.entry(p.clone()).or_default().push((v.estimate, reps));
        }
        let mut area: Vec<Item> = by_p
            .into_iter()
            .map(|(label, v)| {
                let k = v.len() as f64;
                let estimate = v.iter().map(|x| x.0).sum::<f64>() / k;
                let reps: Vec<f64> = (0..v[0].1.len())
                    .map(|r| v.iter().map(|x| x.1[r]).sum::<f64>() / k)
                    .collect();
                let ci = if !reps.is_empty() {
                    bootstrap::summarise(estimate, reps, None, opts.level)
                } else {
                    None
                };
                Item {
                    label,
                    value: Value { estimate, ci },
                }
            })
            .collect();
        area.sort_by(|a, b| {
            b.value
                .estimate
                .total_cmp(&a.value.estimate)
                .then(a.label.cmp(&b.label))
        });
        area.truncate(TOP);
        st.ssim_area = areas
            .into_iter()
            .map(|(k, (v, n, _))| (k, (v, n)))
            .collect();
        st.figures.ssim_area = area;
        Ok(st)
    }
}

/// CE and relative CE of every (model, strategy, dataset) against the baseline on that dataset.
fn corruption_errors(agg: &Aggregate, base: &(String, String)) -> Vec<CeRow> {
    let scale = ce::error_scale(&agg.metric);
    let errors = |mds: &Mds, p: &str| -> Option<ce::Errors> {
        let clean = agg.clean.get(mds)?.0;
        let levels: Vec<(u8, f64)> = agg
            .per_perturbation
            .iter()
            .filter(|((m, q, _), _)| m == mds && q == p)
            .map(|((_, _, l), c)| (*l, scale - c.perturbed))
            .collect();
        (!levels.is_empty()).then_some(ce::Errors {
            clean: scale - clean,
            levels,
        })
    };
    let mut rows = Vec::new();
    for mds in agg.clean.keys() {
        let bmds = (base.0.clone(), base.1.clone(), mds.2.clone());
        let perts: BTreeMap<String, String> = agg
            .per_perturbation
            .iter()
            .filter(|((m, _, _), _)| m == mds)
            .map(|((_, p, _), c)| (p.clone(), c.category.clone()))
            .collect();
        let mut per: Vec<(String, Option<f64>, Option<f64>)> = Vec::new();
        for (p, cat) in &perts {
            let (c, r) = match (errors(mds, p), errors(&bmds, p)) {
                (Some(e), Some(b)) => ce::corruption_error(&e, &b),
                _ => (None, None),
            };
            rows.push(CeRow {
                mds: mds.clone(),
                perturbation: p.clone(),
                category: cat.clone(),
                ce: c,
                rel_ce: r,
            });
            per.push((cat.clone(), c, r));
        }
        let cats: BTreeSet<String> = per.iter().map(|x| x.0.clone()).collect();
        for cat in std::iter::once("all".to_string()).chain(cats) {
            let sel: Vec<&(String, Option<f64>, Option<f64>)> =
                per.iter().filter(|x| cat == "all" || x.0 == cat).collect();
            rows.push(CeRow {
                mds: mds.clone(),
                perturbation: "*".into(),
                category: cat,
                ce: ce::mean_defined(sel.iter().map(|x| x.1)),
                rel_ce: ce::mean_defined(sel.iter().map(|x| x.2)),
            });
        }
    }
    rows
}

/// The curve points of one (mds, perturbation) with the clean anchors: (SSIM, drop, unit), sorted.
fn curve_points(pts: &[CurvePoint]) -> Vec<CurvePoint> {
    let units: BTreeSet<u32> = pts.iter().map(|p| p.2).collect();
    let mut v: Vec<CurvePoint> = pts.iter().copied().filter(|p| p.0 < 1.0).collect();
    // Points at SSIM >= 1 are the clean image itself: their drop is whatever the model did on an
    // identical input, pooled with the anchors.
    v.extend(
        pts.iter()
            .copied()
            .filter(|p| p.0 >= 1.0)
            .map(|p| (1.0, p.1, p.2)),
    );
    v.extend(units.into_iter().map(|u| (1.0, 0.0, u)));
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
    v
}

/// Area over SSIM [0.5, 1] of each curve with a percentile interval (the same resampled samples
/// as every other quantity of the dataset).
fn ssim_areas(
    agg: &Aggregate,
    opts: &StatsOptions,
) -> BTreeMap<(Mds, String), (Value, usize, Vec<f64>)> {
    let curves: Vec<(&(Mds, String), usize, Vec<CurvePoint>)> = agg
        .curves
        .iter()
        .map(|(k, pts)| (k, agg.groups[&k.0 .2], curve_points(pts)))
        .collect();
    let b = opts.replicates.min(CURVE_REPLICATES_MAX);
    let areas: Vec<(Value, usize, Vec<f64>)> = curves
        .par_iter()
        .map(|(_, g, pts)| {
            let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
            let ys: Vec<f64> = pts.iter().map(|p| p.1).collect();
            let us: Vec<usize> = pts.iter().map(|p| p.2 as usize).collect();
            let mut stack = Vec::new();
            let est = isotonic::area_sorted(&xs, &ys, |_| 1.0, isotonic::SSIM_LO, 1.0, &mut stack);
            let n = us.iter().collect::<BTreeSet<_>>().len();
            let mut counts = vec![0.0; agg.design.group_sizes[*g]];
            let reps: Vec<f64> = (0..b as u32)
                .map(|r| {
                    bootstrap::counts(opts.seed, agg.design.group_keys[*g], r, &mut counts);
                    isotonic::area_sorted(
                        &xs,
                        &ys,
                        |k| counts[us[k]],
                        isotonic::SSIM_LO,
                        1.0,
                        &mut stack,
                    )
                })
                .collect();
            let ci = if b > 0 {
                bootstrap::summarise(est, reps.clone(), None, opts.level)
            } else {
                None
            };
            (Value { estimate: est, ci }, n, reps)
        })
        .collect();
    curves.into_iter().map(|x| x.0.clone()).zip(areas).collect()
}
