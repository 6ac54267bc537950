//! Eq. 3 of the paper, from records.
//!
//! For one metric M (IoU for segmentation), per (model, strategy, dataset):
//! - per sample i: M_clean(i) from the clean unit; per (perturbation p, level s):
//!   d(p, s, i) = M_clean(i) - M_p,s(i) (the reference's per-image drop);
//! - drop(p, s) = mean over samples i having both a clean and a (p, s) record without error;
//! - Eq. 3: Delta_tau^(s) = mean over p in P_tau of drop(p, s), tau in {base, medical, extra};
//! - Table 1: clean = mean M_clean over samples; base drop / medical drop = mean over levels s of
//!   Delta_tau^(s); "average base drop" = mean of the base drops over datasets.
//!
//! Records with an `error` are left out (and counted); units whose level was not reached in band
//! are kept (`in_band_fraction` reports how many were), as the reference keeps its closest probe.

use crate::run::records::Record;
use crate::stats::paired::{Cell, Design, Lin};
use std::collections::BTreeMap;

/// (model, strategy, dataset).
pub type Mds = (String, String, String);
/// A degradation-curve point: (SSIM, drop, unit).
pub type CurvePoint = (f64, f64, u32);

/// One perturbation at one level for one (model, strategy, dataset).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PerturbationCell {
    pub category: String,
    pub n: usize,
    pub clean: f64,
    pub perturbed: f64,
    pub drop: f64,
    pub in_band_fraction: f64,
}

/// Everything the report shows, for one metric.
#[derive(Clone, Debug, Default)]
pub struct Aggregate {
    pub metric: String,
    /// Mean clean metric and sample count per (model, strategy, dataset).
    pub clean: BTreeMap<Mds, (f64, usize)>,
    /// drop(p, s) per (mds, perturbation, level).
    pub per_perturbation: BTreeMap<(Mds, String, u8), PerturbationCell>,
    /// Eq. 3: Delta per (mds, category, level), with the number of perturbations averaged.
    pub delta: BTreeMap<(Mds, String, u8), (f64, usize)>,
    /// Records with an error (not used).
    pub errors: usize,
    /// The paired design behind every number: one cell per clean mean and per drop(p, s), over
    /// the samples of each dataset (src/stats/paired.rs).
    pub design: Design,
    /// Dataset -> group of the design.
    pub groups: BTreeMap<String, usize>,
    /// The cell of each clean mean and each drop(p, s).
    pub clean_cell: BTreeMap<Mds, usize>,
    pub pert_cell: BTreeMap<(Mds, String, u8), usize>,
    /// Degradation-curve points per (mds, perturbation): (SSIM, drop, unit), sorted by SSIM;
    /// records without an SSIM are not in them.
    pub curves: BTreeMap<(Mds, String), Vec<CurvePoint>>,
}

/// What the figures plot, as linear quantities (label, quantity), in label order.
#[derive(Clone, Debug, Default)]
pub struct FigureQuantities {
    /// Per "model / strategy": (clean metric, overall drop), each a mean over datasets.
    pub tradeoff: Vec<(String, Lin, Lin)>,
    /// Per strategy: mean over (model, dataset) of the overall drop.
    pub strategy: Vec<(String, Lin)>,
    /// Per "model (category)": mean of Delta over datasets, strategies and levels.
    pub model: Vec<(String, Lin)>,
    /// Per "dataset (category)".
    pub dataset: Vec<(String, Lin)>,
    /// Per perturbation: mean of drop(p, s) over (model, strategy, dataset) and levels.
    pub perturbation: Vec<(String, Lin)>,
    /// Per "model / strategy": (level, mean of Delta over datasets and categories).
    pub series: Vec<(String, Vec<(u8, Lin)>)>,
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

impl Aggregate {
    pub fn from_records<'a>(
        records: impl IntoIterator<Item = &'a Record>,
        metric: &str,
    ) -> Aggregate {
        let mut agg = Aggregate {
            metric: metric.to_string(),
            ..Default::default()
        };
        let mut clean: BTreeMap<(Mds, String), f64> = BTreeMap::new();
        let mut perturbed: Vec<&Record> = Vec::new();
        for r in records {
            if !r.ok() {
                agg.errors += 1;
                continue;
            }
            let Some(&v) = r.metrics.get(metric) else {
                continue;
            };
            let mds = (r.model.clone(), r.strategy.clone(), r.dataset.clone());
            if r.perturbation == crate::run::units::CLEAN {
                clean.insert((mds, r.sample.clone()), v);
            } else {
                perturbed.push(r);
            }
        }
        // The samples of each dataset (those with a clean result under some model) are the units
        // the bootstrap resamples; every cell of the dataset indexes into them.
        let mut universe: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
        for (mds, sample) in clean.keys() {
            universe
                .entry(mds.2.clone())
                .or_default()
                .insert(sample.clone(), 0);
        }
        for (g, (dataset, samples)) in universe.iter_mut().enumerate() {
            for (i, v) in samples.values_mut().enumerate() {
                *v = i as u32;
            }
            agg.design.group_sizes.push(samples.len());
            agg.design.group_keys.push(crate::rng::fnv1a32(dataset));
            agg.groups.insert(dataset.clone(), g);
        }
        let unit = |d: &str, s: &str| universe[d][s];

        let mut clean_by: BTreeMap<Mds, Vec<(u32, f64)>> = BTreeMap::new();
        for ((mds, sample), v) in &clean {
            clean_by
                .entry(mds.clone())
                .or_default()
                .push((unit(&mds.2, sample), *v));
        }
        for (mds, mut uv) in clean_by {
            uv.sort_by_key(|x| x.0);
            let cell = Cell {
                group: agg.groups[&mds.2],
                units: uv.iter().map(|x| x.0).collect(),
                values: uv.iter().map(|x| x.1).collect(),
            };
            agg.clean
                .insert(mds.clone(), (cell.mean(), cell.values.len()));
            agg.clean_cell.insert(mds, agg.design.cells.len());
            agg.design.cells.push(cell);
        }

        // (mds, p, s) -> (category, (unit, clean, perturbed), in band count)
        type Acc = (String, Vec<(u32, f64, f64)>, usize);
        let mut cells: BTreeMap<(Mds, String, u8), Acc> = BTreeMap::new();
        for r in perturbed {
            let mds = (r.model.clone(), r.strategy.clone(), r.dataset.clone());
            let Some(&c) = clean.get(&(mds.clone(), r.sample.clone())) else {
                continue;
            };
            let u = unit(&r.dataset, &r.sample);
            let p = r.metrics[metric];
            if let Some(s) = r.ssim.filter(|s| s.is_finite()) {
                agg.curves
                    .entry((mds.clone(), r.perturbation.clone()))
                    .or_default()
                    .push((s, c - p, u));
            }
            let e = cells
                .entry((mds, r.perturbation.clone(), r.level))
                .or_insert_with(|| (r.category.clone(), vec![], 0));
            e.1.push((u, c, p));
            e.2 += usize::from(r.in_band == Some(true));
        }
        for (k, (category, mut ucp, inb)) in cells {
            ucp.sort_by_key(|x| x.0);
            let n = ucp.len();
            let cell = Cell {
                group: agg.groups[&k.0 .2],
                units: ucp.iter().map(|x| x.0).collect(),
                values: ucp.iter().map(|x| x.1 - x.2).collect(),
            };
            let c: Vec<f64> = ucp.iter().map(|x| x.1).collect();
            let p: Vec<f64> = ucp.iter().map(|x| x.2).collect();
            agg.per_perturbation.insert(
                k.clone(),
                PerturbationCell {
                    category,
                    n,
                    clean: mean(&c),
                    perturbed: mean(&p),
                    drop: cell.mean(),
                    in_band_fraction: inb as f64 / n as f64,
                },
            );
            agg.pert_cell.insert(k, agg.design.cells.len());
            agg.design.cells.push(cell);
        }
        for pts in agg.curves.values_mut() {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
        }
        let mut by_cat: BTreeMap<(Mds, String, u8), Vec<f64>> = BTreeMap::new();
        for ((mds, _, level), cell) in &agg.per_perturbation {
            by_cat
                .entry((mds.clone(), cell.category.clone(), *level))
                .or_default()
                .push(cell.drop);
        }
        agg.delta = by_cat
            .into_iter()
            .map(|(k, v)| (k, (mean(&v), v.len())))
            .collect();
        agg
    }

    /// Eq. 3 drop(p, s) as a linear quantity.
    pub fn drop_lin(&self, key: &(Mds, String, u8)) -> Option<Lin> {
        self.pert_cell.get(key).map(|&c| Lin::cell(c))
    }

    /// Mean clean metric of (model, strategy, dataset).
    pub fn clean_lin(&self, mds: &Mds) -> Option<Lin> {
        self.clean_cell.get(mds).map(|&c| Lin::cell(c))
    }

    /// Eq. 3 Delta_tau^(s): the mean over the category's perturbations of drop(p, s).
    pub fn delta_lin(&self, mds: &Mds, category: &str, level: u8) -> Option<Lin> {
        let parts: Vec<Lin> = self
            .per_perturbation
            .iter()
            .filter(|((m, _, l), c)| m == mds && *l == level && c.category == category)
            .map(|(k, _)| Lin::cell(self.pert_cell[k]))
            .collect();
        (!parts.is_empty()).then(|| Lin::mean(&parts))
    }

    /// Table 1's category drop: the mean over levels of Delta_tau^(s).
    pub fn category_lin(&self, mds: &Mds, category: &str) -> Option<Lin> {
        let parts: Vec<Lin> = self
            .delta
            .keys()
            .filter(|(m, c, _)| m == mds && c == category)
            .filter_map(|(m, c, l)| self.delta_lin(m, c, *l))
            .collect();
        (!parts.is_empty()).then(|| Lin::mean(&parts))
    }

    /// Table 1's "average base drop" of (model, strategy): the mean over datasets of the base drop.
    pub fn average_base_lin(&self, model: &str, strategy: &str) -> Option<Lin> {
        let parts: Vec<Lin> = self
            .datasets()
            .into_iter()
            .filter_map(|d| self.category_lin(&(model.into(), strategy.into(), d), "base"))
            .collect();
        (!parts.is_empty()).then(|| Lin::mean(&parts))
    }

    /// The overall drop of (model, strategy, dataset): the mean of Delta over categories and levels.
    pub fn overall_lin(&self, mds: &Mds) -> Option<Lin> {
        let parts: Vec<Lin> = self
            .delta
            .keys()
            .filter(|(m, _, _)| m == mds)
            .filter_map(|(m, c, l)| self.delta_lin(m, c, *l))
            .collect();
        (!parts.is_empty()).then(|| Lin::mean(&parts))
    }

    /// The quantities the figures plot, each a linear quantity (so each gets an interval).
    pub fn figure_quantities(&self) -> FigureQuantities {
        let ms = |mds: &Mds| format!("{} / {}", mds.0, mds.1);
        let group = |pairs: Vec<(String, Lin)>| -> Vec<(String, Lin)> {
            let mut m: BTreeMap<String, Vec<Lin>> = BTreeMap::new();
            for (k, l) in pairs {
                m.entry(k).or_default().push(l);
            }
            m.into_iter().map(|(k, v)| (k, Lin::mean(&v))).collect()
        };
        let overall: Vec<(Mds, Lin)> = self
            .clean
            .keys()
            .filter_map(|m| self.overall_lin(m).map(|l| (m.clone(), l)))
            .collect();
        let clean_ms = group(
            self.clean
                .keys()
                .filter_map(|m| self.clean_lin(m).map(|l| (ms(m), l)))
                .collect(),
        );
        let drop_ms: BTreeMap<String, Lin> =
            group(overall.iter().map(|(m, l)| (ms(m), l.clone())).collect())
                .into_iter()
                .collect();
        let tradeoff = clean_ms
            .into_iter()
            .filter_map(|(k, c)| drop_ms.get(&k).map(|d| (k, c, d.clone())))
            .collect();
        let strategy = group(
            overall
                .iter()
                .map(|(m, l)| (m.1.clone(), l.clone()))
                .collect(),
        );
        let deltas: Vec<(&(Mds, String, u8), Lin)> = self
            .delta
            .keys()
            .filter_map(|k| self.delta_lin(&k.0, &k.1, k.2).map(|l| (k, l)))
            .collect();
        let model = group(
            deltas
                .iter()
                .map(|((mds, cat, _), l)| (format!("{} ({cat})", mds.0), l.clone()))
                .collect(),
        );
        let dataset = group(
            deltas
                .iter()
                .map(|((mds, cat, _), l)| (format!("{} ({cat})", mds.2), l.clone()))
                .collect(),
        );
        let perturbation = group(
            self.pert_cell
                .iter()
                .map(|((_, p, _), c)| (p.clone(), Lin::cell(*c)))
                .collect(),
        );
        let mut series: BTreeMap<String, Vec<(u8, Lin)>> = BTreeMap::new();
        let by = {
            let mut m: BTreeMap<(String, u8), Vec<Lin>> = BTreeMap::new();
            for ((mds, _, l), lin) in &deltas {
                m.entry((ms(mds), *l)).or_default().push(lin.clone());
            }
            m
        };
        for ((k, l), v) in by {
            series.entry(k).or_default().push((l, Lin::mean(&v)));
        }
        FigureQuantities {
            tradeoff,
            strategy,
            model,
            dataset,
            perturbation,
            series: series.into_iter().collect(),
        }
    }

    /// Mean over levels of Delta_tau for one (mds, category); None when no level has data.
    pub fn category_drop(&self, mds: &Mds, category: &str) -> Option<f64> {
        let v: Vec<f64> = self
            .delta
            .iter()
            .filter(|((m, c, _), _)| m == mds && c == category)
            .map(|(_, (d, _))| *d)
            .collect();
        (!v.is_empty()).then(|| mean(&v))
    }

    pub fn models(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .clean
            .keys()
            .map(|(m, s, _)| (m.clone(), s.clone()))
            .collect();
        v.dedup();
        v
    }

    pub fn datasets(&self) -> Vec<String> {
        let mut v: Vec<String> = self.clean.keys().map(|(_, _, d)| d.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn levels(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self.delta.keys().map(|(_, _, l)| *l).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Table 1 rows: per (model, strategy): per dataset (clean, base drop, medical drop); then the
    /// mean base drop over the datasets that have one.
    pub fn table1(&self) -> Vec<Table1Row> {
        let datasets = self.datasets();
        self.models()
            .into_iter()
            .map(|(model, strategy)| {
                let cells: Vec<Option<Table1Cell>> = datasets
                    .iter()
                    .map(|d| {
                        let mds = (model.clone(), strategy.clone(), d.clone());
                        self.clean.get(&mds).map(|(c, _)| {
                            (
                                *c,
                                self.category_drop(&mds, "base"),
                                self.category_drop(&mds, "medical"),
                            )
                        })
                    })
                    .collect();
                let bases: Vec<f64> = cells.iter().filter_map(|c| c.and_then(|c| c.1)).collect();
                Table1Row {
                    model,
                    strategy,
                    cells,
                    average_base_drop: (!bases.is_empty()).then(|| mean(&bases)),
                }
            })
            .collect()
    }
}

/// (clean, base drop, medical drop) of one dataset.
pub type Table1Cell = (f64, Option<f64>, Option<f64>);

#[derive(Clone, Debug, PartialEq)]
pub struct Table1Row {
    pub model: String,
    pub strategy: String,
    /// Per dataset (sorted by name): (clean, base drop, medical drop).
    pub cells: Vec<Option<Table1Cell>>,
    pub average_base_drop: Option<f64>,
}
