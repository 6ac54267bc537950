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
use std::collections::BTreeMap;

/// (model, strategy, dataset).
pub type Mds = (String, String, String);

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
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

impl Aggregate {
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Record>, metric: &str) -> Aggregate {
        let mut agg = Aggregate { metric: metric.to_string(), ..Default::default() };
        let mut clean: BTreeMap<(Mds, String), f64> = BTreeMap::new();
        let mut perturbed: Vec<&Record> = Vec::new();
        for r in records {
            if !r.ok() {
                agg.errors += 1;
                continue;
            }
            let Some(&v) = r.metrics.get(metric) else { continue };
            let mds = (r.model.clone(), r.strategy.clone(), r.dataset.clone());
            if r.perturbation == crate::run::units::CLEAN {
                clean.insert((mds, r.sample.clone()), v);
            } else {
                perturbed.push(r);
            }
        }
        let mut clean_by: BTreeMap<Mds, Vec<f64>> = BTreeMap::new();
        for ((mds, _), v) in &clean {
            clean_by.entry(mds.clone()).or_default().push(*v);
        }
        agg.clean = clean_by.into_iter().map(|(k, v)| (k, (mean(&v), v.len()))).collect();

        // (mds, p, s) -> (category, clean values, perturbed values, in band count)
        type Acc = (String, Vec<f64>, Vec<f64>, usize);
        let mut cells: BTreeMap<(Mds, String, u8), Acc> = BTreeMap::new();
        for r in perturbed {
            let mds = (r.model.clone(), r.strategy.clone(), r.dataset.clone());
            let Some(&c) = clean.get(&(mds.clone(), r.sample.clone())) else { continue };
            let e = cells.entry((mds, r.perturbation.clone(), r.level)).or_insert_with(|| (r.category.clone(), vec![], vec![], 0));
            e.1.push(c);
            e.2.push(r.metrics[metric]);
            e.3 += usize::from(r.in_band == Some(true));
        }
        for (k, (category, c, p, inb)) in cells {
            let drops: Vec<f64> = c.iter().zip(&p).map(|(a, b)| a - b).collect();
            agg.per_perturbation.insert(
                k,
                PerturbationCell { category, n: c.len(), clean: mean(&c), perturbed: mean(&p), drop: mean(&drops), in_band_fraction: inb as f64 / c.len() as f64 },
            );
        }
        let mut by_cat: BTreeMap<(Mds, String, u8), Vec<f64>> = BTreeMap::new();
        for ((mds, _, level), cell) in &agg.per_perturbation {
            by_cat.entry((mds.clone(), cell.category.clone(), *level)).or_default().push(cell.drop);
        }
        agg.delta = by_cat.into_iter().map(|(k, v)| (k, (mean(&v), v.len()))).collect();
        agg
    }

    /// Mean over levels of Delta_tau for one (mds, category); None when no level has data.
    pub fn category_drop(&self, mds: &Mds, category: &str) -> Option<f64> {
        let v: Vec<f64> = self.delta.iter().filter(|((m, c, _), _)| m == mds && c == category).map(|(_, (d, _))| *d).collect();
        (!v.is_empty()).then(|| mean(&v))
    }

    pub fn models(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.clean.keys().map(|(m, s, _)| (m.clone(), s.clone())).collect();
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
                        self.clean.get(&mds).map(|(c, _)| (*c, self.category_drop(&mds, "base"), self.category_drop(&mds, "medical")))
                    })
                    .collect();
                let bases: Vec<f64> = cells.iter().filter_map(|c| c.and_then(|c| c.1)).collect();
                Table1Row { model, strategy, cells, average_base_drop: (!bases.is_empty()).then(|| mean(&bases)) }
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
