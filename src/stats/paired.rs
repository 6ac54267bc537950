//! Paired designs: cell means over samples, linear quantities built from them, their bootstrap
//! replicates, jackknife values and paired sign-flip tests.
//!
//! Model. A *group* is a set of `n` units (the samples of one dataset). A *cell* holds one value
//! per unit it has (for Eq. 3: the per-sample drop `M_clean(i) - M_p,s(i)` of one (model, strategy,
//! dataset, perturbation, level), or the clean metric); its estimate is the mean over its units.
//! Every number the report prints is a [`Lin`]: a linear combination `sum_c w_c mean_c` of cell
//! means (Eq. 3's category means, Table 1's level means, the figures' means over models or
//! datasets, and differences of any two of them).
//!
//! Bootstrap: replicate r reweights unit i of group g by its multinomial count k_gi(r)
//! ([`super::bootstrap::counts`], shared by every cell of the group), so the replicate of a cell
//! is `sum_i k_i v_i / sum_i k_i` over its units. A sample's clean and perturbed results stay
//! paired (the cell stores their difference), and every cell of a dataset sees the same
//! resampled samples, so differences between models, strategies or perturbations are paired too.
//!
//! Jackknife (for BCa): leaving unit i out changes a cell mean by `(mean_c - v_ci) / (n_c - 1)`,
//! so a Lin's leave-one-out values cost one pass over its cells.
//!
//! Sign-flip test: a Lin is `sum_i c_i` over units with `c_i = sum_{c ∋ i} w_c v_ci / n_c`; for a
//! difference of two quantities on the same samples, flipping the sign of `c_i` swaps the two
//! arms for sample i, which under H0 (exchangeable arms per sample) leaves the distribution
//! unchanged. The p-value is computed as scipy.stats.permutation_test(..., permutation_type=
//! 'samples', alternative='two-sided') does for a one-sample statistic: exact over all 2^m sign
//! vectors when `2^m <= resamples`, else `(#{T* <= T + g} + 1) / (R + 1)` per side,
//! `p = min(1, 2 min(p_less, p_greater))`, `g = 100 eps |T|`.

use super::bootstrap::{self, Estimate};
use crate::rng::Rng;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// One cell: values over a subset of a group's units.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cell {
    pub group: usize,
    /// Unit indices into the group, ascending, distinct.
    pub units: Vec<u32>,
    pub values: Vec<f64>,
}

impl Cell {
    pub fn mean(&self) -> f64 {
        self.values.iter().sum::<f64>() / self.values.len() as f64
    }
}

/// The groups and cells of a paired design.
#[derive(Clone, Debug, Default)]
pub struct Design {
    /// Units per group.
    pub group_sizes: Vec<usize>,
    /// Stable resampling key per group (e.g. FNV-1a of the dataset name).
    pub group_keys: Vec<u32>,
    pub cells: Vec<Cell>,
}

/// A linear combination of cell means: (cell, weight), sorted by cell, no duplicates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lin(pub Vec<(usize, f64)>);

impl Lin {
    pub fn cell(c: usize) -> Lin {
        Lin(vec![(c, 1.0)])
    }

    fn from_map(m: BTreeMap<usize, f64>) -> Lin {
        Lin(m.into_iter().collect())
    }

    /// The mean of several quantities (the report's "mean over levels", "mean over datasets").
    pub fn mean<'a>(parts: impl IntoIterator<Item = &'a Lin>) -> Lin {
        let parts: Vec<&Lin> = parts.into_iter().collect();
        let k = parts.len() as f64;
        let mut m = BTreeMap::new();
        for p in parts {
            for &(c, w) in &p.0 {
                *m.entry(c).or_insert(0.0) += w / k;
            }
        }
        Lin::from_map(m)
    }

    /// self - other.
    pub fn minus(&self, other: &Lin) -> Lin {
        let mut m: BTreeMap<usize, f64> = self.0.iter().copied().collect();
        for &(c, w) in &other.0 {
            *m.entry(c).or_insert(0.0) -= w;
        }
        m.retain(|_, w| *w != 0.0);
        Lin::from_map(m)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Bootstrap replicates of every cell mean (cell-major: replicates of cell c at
/// `[c * b, (c + 1) * b)`).
pub struct Replicates {
    pub b: usize,
    data: Vec<f64>,
}

impl Replicates {
    pub fn cell(&self, c: usize) -> &[f64] {
        &self.data[c * self.b..(c + 1) * self.b]
    }

    /// Replicates of a linear quantity.
    pub fn of(&self, lin: &Lin) -> Vec<f64> {
        let mut out = vec![0.0; self.b];
        for &(c, w) in &lin.0 {
            for (o, x) in out.iter_mut().zip(self.cell(c)) {
                *o += w * x;
            }
        }
        out
    }
}

impl Design {
    pub fn estimate(&self, lin: &Lin) -> f64 {
        lin.0.iter().map(|&(c, w)| w * self.cells[c].mean()).sum()
    }

    /// `b` replicates of every cell mean, keyed by `seed`. Parallel over replicates; each value
    /// is a pure function of (seed, group, replicate, cell), so the result is the same for any
    /// thread count.
    pub fn replicates(&self, seed: u64, b: usize) -> Replicates {
        let nc = self.cells.len();
        let mut by_group: Vec<Vec<usize>> = vec![Vec::new(); self.group_sizes.len()];
        for (c, cell) in self.cells.iter().enumerate() {
            by_group[cell.group].push(c);
        }
        const CHUNK: usize = 32;
        // Replicate-major chunks, then transposed to cell-major.
        let chunks: Vec<Vec<f64>> = (0..b.div_ceil(CHUNK))
            .into_par_iter()
            .map(|k| {
                let r0 = k * CHUNK;
                let r1 = (r0 + CHUNK).min(b);
                let mut out = vec![0.0; (r1 - r0) * nc];
                let mut counts = Vec::new();
                for (g, cells) in by_group.iter().enumerate() {
                    if cells.is_empty() {
                        continue;
                    }
                    counts.resize(self.group_sizes[g], 0.0);
                    for r in r0..r1 {
                        bootstrap::counts(seed, self.group_keys[g], r as u32, &mut counts);
                        let row = &mut out[(r - r0) * nc..(r - r0 + 1) * nc];
                        for &c in cells {
                            let cell = &self.cells[c];
                            let (mut s, mut t) = (0.0, 0.0);
                            for (&u, &v) in cell.units.iter().zip(&cell.values) {
                                let k = counts[u as usize];
                                s += k * v;
                                t += k;
                            }
                            row[c] = if t > 0.0 { s / t } else { f64::NAN };
                        }
                    }
                }
                out
            })
            .collect();
        let mut data = vec![0.0; nc * b];
        for (k, chunk) in chunks.iter().enumerate() {
            let rows = chunk.len() / nc.max(1);
            for j in 0..rows {
                let r = k * CHUNK + j;
                for c in 0..nc {
                    data[c * b + r] = chunk[j * nc + c];
                }
            }
        }
        Replicates { b, data }
    }

    /// Per-unit contributions `c_i` (sum = the estimate), keyed by (group, unit), ascending.
    pub fn contributions(&self, lin: &Lin) -> Vec<((usize, u32), f64)> {
        let mut m: BTreeMap<(usize, u32), f64> = BTreeMap::new();
        for &(c, w) in &lin.0 {
            let cell = &self.cells[c];
            let f = w / cell.values.len() as f64;
            for (&u, &v) in cell.units.iter().zip(&cell.values) {
                *m.entry((cell.group, u)).or_insert(0.0) += f * v;
            }
        }
        m.into_iter().collect()
    }

    /// Leave-one-unit-out values of a Lin, per group (units the Lin touches only).
    pub fn jackknife(&self, lin: &Lin) -> Vec<Vec<f64>> {
        let theta = self.estimate(lin);
        let mut m: BTreeMap<(usize, u32), f64> = BTreeMap::new();
        for &(c, w) in &lin.0 {
            let cell = &self.cells[c];
            let n = cell.values.len();
            let mean = cell.mean();
            for (&u, &v) in cell.units.iter().zip(&cell.values) {
                let d = if n > 1 {
                    w * (mean - v) / (n - 1) as f64
                } else {
                    0.0
                };
                *m.entry((cell.group, u)).or_insert(0.0) += d;
            }
        }
        let mut out: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for ((g, _), d) in m {
            out.entry(g).or_default().push(theta + d);
        }
        out.into_values().collect()
    }

    /// Estimate with percentile and BCa intervals.
    pub fn summarise(&self, reps: &Replicates, lin: &Lin, level: f64) -> Option<Estimate> {
        if lin.is_empty() {
            return None;
        }
        let jack = self.jackknife(lin);
        bootstrap::summarise(self.estimate(lin), reps.of(lin), Some(&jack), level)
    }
}

/// Perturbation-id slot of the sign-flip key.
pub const SIGN_FLIP_ID: u32 = 0x5161_F11B;

/// Two-sided sign-flip p-value of `H0: E sum_i c_i = 0` with scipy's conventions (module docs).
/// `key` separates the sign streams of different tests.
pub fn sign_flip_p(c: &[f64], resamples: usize, seed: u64, key: u32) -> f64 {
    let m = c.len();
    if m == 0 {
        return f64::NAN;
    }
    let t: f64 = c.iter().sum();
    let gamma = (100.0 * f64::EPSILON * t).abs();
    let total = t;
    let (less, greater, count, adj) = if m < 63 && (1u64 << m) <= resamples as u64 {
        // Exact: every sign vector (bit i set = flip unit i).
        let all = 1u64 << m;
        let (mut less, mut greater) = (0u64, 0u64);
        for s in 0..all {
            let mut v = 0.0;
            for (i, &x) in c.iter().enumerate() {
                v += if s >> i & 1 == 1 { -x } else { x };
            }
            less += u64::from(v <= t + gamma);
            greater += u64::from(v >= t - gamma);
        }
        (less, greater, all, 0u64)
    } else {
        let rng = Rng::new(seed, key, SIGN_FLIP_ID);
        let counts: Vec<(u64, u64)> = (0..resamples as u32)
            .into_par_iter()
            .with_min_len(256)
            .map(|r| {
                // Sum of the flipped c_i, 128 signs per Philox block.
                let mut flipped = 0.0;
                for (blk, chunk) in c.chunks(128).enumerate() {
                    let b = rng.block(r, blk as u32);
                    for (i, &x) in chunk.iter().enumerate() {
                        let bit = b[i / 32] >> (i % 32) & 1;
                        flipped += if bit == 1 { x } else { 0.0 };
                    }
                }
                let v = total - 2.0 * flipped;
                (u64::from(v <= t + gamma), u64::from(v >= t - gamma))
            })
            .collect();
        let less = counts.iter().map(|x| x.0).sum();
        let greater = counts.iter().map(|x| x.1).sum();
        (less, greater, resamples as u64, 1u64)
    };
    let pl = (less + adj) as f64 / (count + adj) as f64;
    let pg = (greater + adj) as f64 / (count + adj) as f64;
    (2.0 * pl.min(pg)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design() -> Design {
        Design {
            group_sizes: vec![4, 3],
            group_keys: vec![1, 2],
            cells: vec![
                Cell {
                    group: 0,
                    units: vec![0, 1, 2, 3],
                    values: vec![1.0, 2.0, 3.0, 6.0],
                },
                Cell {
                    group: 0,
                    units: vec![1, 3],
                    values: vec![4.0, 0.0],
                },
                Cell {
                    group: 1,
                    units: vec![0, 1, 2],
                    values: vec![0.5, 0.5, 2.0],
                },
            ],
        }
    }

    #[test]
    fn lin_contributions_and_jackknife_are_consistent() {
        let d = design();
        let lin = Lin::mean([&Lin::cell(0), &Lin::cell(1), &Lin::cell(2)]);
        let est = d.estimate(&lin);
        assert!((est - (3.0 + 2.0 + 1.0) / 3.0).abs() < 1e-12);
        let c = d.contributions(&lin);
        assert!((c.iter().map(|x| x.1).sum::<f64>() - est).abs() < 1e-12);
        // Jackknife by brute force: drop unit i of group g from every cell.
        let jack = d.jackknife(&lin);
        for (g, jg) in jack.iter().enumerate() {
            for (i, &got) in jg.iter().enumerate() {
                let mut e = 0.0;
                for (ci, cell) in d.cells.iter().enumerate() {
                    let vals: Vec<f64> = cell
                        .units
                        .iter()
                        .zip(&cell.values)
                        .filter(|(u, _)| !(cell.group == g && **u as usize == i))
                        .map(|x| *x.1)
                        .collect();
                    e += lin.0.iter().find(|x| x.0 == ci).unwrap().1 * vals.iter().sum::<f64>()
                        / vals.len() as f64;
                }
                assert!((got - e).abs() < 1e-12, "group {g} unit {i}");
            }
        }
    }

    #[test]
    fn replicates_are_weighted_means_of_the_shared_counts() {
        let d = design();
        let reps = d.replicates(9, 50);
        for r in 0..50u32 {
            let mut k = vec![0.0; 4];
            bootstrap::counts(9, 1, r, &mut k);
            let want = (k[1] * 4.0 + k[3] * 0.0) / (k[1] + k[3]);
            let got = reps.cell(1)[r as usize];
            assert!(got.is_nan() && want.is_nan() || (got - want).abs() < 1e-12);
        }
        let a = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| d.replicates(9, 77).data);
        let b = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| d.replicates(9, 77).data);
        assert_eq!(
            a.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            b.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn sign_flip_exact_small_case() {
        // c = [1, 2, 3]: T = 6; the 8 sign sums are {6, 4, 2, 0, 0, -2, -4, -6}; only +6 >= 6 ->
        // p_greater = 1/8, p = 2/8.
        assert!((sign_flip_p(&[1.0, 2.0, 3.0], 9999, 0, 0) - 0.25).abs() < 1e-15);
        assert_eq!(sign_flip_p(&[1.0, -1.0], 9999, 0, 0), 1.0);
    }
}
