//! The bootstrap over samples: seeded resampling, percentile and BCa intervals, and a generic
//! bootstrap of any statistic of the resampled sample indices (the hook for corpus-level metrics).
//!
//! Resampling contract: replicate `r` of group `group` (a dataset: the universe of its samples)
//! draws `n` indices with replacement; draw `j` is word `j % 4` of the Philox block
//! `(stream r, index j / 4)` under the key `(seed, group, BOOTSTRAP_ID)` ([`crate::rng::Rng`]),
//! mapped to `[0, n)` by the multiply-shift `(w * n) >> 32`. So the draws are a pure function of
//! (seed, group, r, j): independent of thread count and of the order in which cells are computed,
//! and every quantity of one dataset (every model, strategy, perturbation and level) sees the SAME
//! resampled samples in replicate r. That makes differences of two quantities paired: replicate r
//! of "A - B" is replicate r of A minus replicate r of B.
//!
//! Intervals follow scipy.stats.bootstrap (1.17): percentile = `np.percentile` (linear
//! interpolation) of the replicates at `alpha/2` and `1 - alpha/2`; BCa with
//! `z0 = ndtri(((reps < theta) + (reps <= theta)) / 2B)` and the jackknife acceleration, per group
//! `U = (n_g - 1)(mean(theta_-i) - theta_-i)`, `a = sum_g sum U^3 / n_g^3 / (6 (sum_g sum U^2 /
//! n_g^2)^1.5)` (one group: Efron's formula).

use super::normal::{phi, phi_inv};
use crate::rng::Rng;

/// Default number of bootstrap replicates.
pub const DEFAULT_REPLICATES: usize = 2000;
/// Default confidence level.
pub const DEFAULT_LEVEL: f64 = 0.95;
/// Perturbation-id slot of the resampling key (no perturbation uses it: perturbation ids are
/// FNV-1a hashes of names, this is a fixed tag).
pub const BOOTSTRAP_ID: u32 = 0xB007_57A7;

/// The resampling draws of replicate `r` over `n` units of `group`, passed to `f` one by one.
#[inline]
pub fn for_each_draw(seed: u64, group: u32, r: u32, n: usize, mut f: impl FnMut(usize)) {
    let rng = Rng::new(seed, group, BOOTSTRAP_ID);
    let n64 = n as u64;
    let mut j = 0usize;
    let mut index = 0u32;
    while j < n {
        let b = rng.block(r, index);
        for w in b {
            if j == n {
                break;
            }
            f(((w as u64 * n64) >> 32) as usize);
            j += 1;
        }
        index += 1;
    }
}

/// The resampled indices of replicate `r` (length `n`, with repeats).
pub fn resample(seed: u64, group: u32, r: u32, n: usize) -> Vec<usize> {
    let mut v = Vec::with_capacity(n);
    for_each_draw(seed, group, r, n, |i| v.push(i));
    v
}

/// How often each unit is drawn in replicate `r` (the multinomial counts of [`resample`]).
pub fn counts(seed: u64, group: u32, r: u32, out: &mut [f64]) {
    out.iter_mut().for_each(|c| *c = 0.0);
    let n = out.len();
    for_each_draw(seed, group, r, n, |i| out[i] += 1.0);
}

/// A two-sided interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
    /// The interval excludes 0 (the difference it bounds "holds" at its level).
    pub fn excludes_zero(&self) -> bool {
        self.lo > 0.0 || self.hi < 0.0
    }
}

/// `np.percentile(sorted, 100 q)` (linear interpolation); `sorted` ascending, non-empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let i = h.floor() as usize;
    if i + 1 >= n {
        return sorted[n - 1];
    }
    let f = h - i as f64;
    sorted[i] + f * (sorted[i + 1] - sorted[i])
}

/// Percentile interval from ascending replicates.
pub fn percentile_interval(sorted: &[f64], level: f64) -> Interval {
    let a = (1.0 - level) / 2.0;
    Interval {
        lo: quantile_sorted(sorted, a),
        hi: quantile_sorted(sorted, 1.0 - a),
    }
}

/// The jackknife acceleration from leave-one-out values grouped by stratum (scipy's formula).
/// None when every leave-one-out value equals the others (no spread).
pub fn acceleration(jack_by_group: &[Vec<f64>]) -> Option<f64> {
    let (mut num, mut den) = (0.0, 0.0);
    for g in jack_by_group.iter().filter(|g| g.len() > 1) {
        let n = g.len() as f64;
        let m = g.iter().sum::<f64>() / n;
        let (mut s3, mut s2) = (0.0, 0.0);
        for &t in g {
            let u = (n - 1.0) * (m - t);
            s3 += u * u * u;
            s2 += u * u;
        }
        num += s3 / (n * n * n);
        den += s2 / (n * n);
    }
    (den > 0.0).then(|| num / (6.0 * den.powf(1.5)))
}

/// BCa interval from ascending replicates, the estimate and the acceleration; None when the bias
/// correction is infinite (every replicate on one side of the estimate).
pub fn bca_interval(sorted: &[f64], theta: f64, accel: f64, level: f64) -> Option<Interval> {
    let b = sorted.len() as f64;
    let below = sorted.partition_point(|&x| x < theta) as f64;
    let at_or_below = sorted.partition_point(|&x| x <= theta) as f64;
    let z0 = phi_inv((below + at_or_below) / (2.0 * b));
    if !z0.is_finite() || !accel.is_finite() {
        return None;
    }
    let za = phi_inv((1.0 - level) / 2.0);
    let adj = |z: f64| {
        let num = z0 + z;
        phi(z0 + num / (1.0 - accel * num))
    };
    let (a1, a2) = (adj(za), adj(-za));
    (a1.is_finite() && a2.is_finite()).then(|| Interval {
        lo: quantile_sorted(sorted, a1),
        hi: quantile_sorted(sorted, a2),
    })
}

/// An estimate with its bootstrap intervals.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub estimate: f64,
    /// Replicates used (those that were defined).
    pub replicates: usize,
    pub percentile: Interval,
    pub bca: Option<Interval>,
    /// Standard deviation of the replicates (bootstrap standard error).
    pub se: f64,
}

impl Estimate {
    /// The interval the report prints: BCa where defined, else the percentile interval.
    pub fn ci(&self) -> Interval {
        self.bca.unwrap_or(self.percentile)
    }
}

/// Summarise replicates (NaN replicates, where a resample left a quantity undefined, are dropped).
/// `jack_by_group`: leave-one-unit-out values per stratum for BCa, or None (percentile only).
pub fn summarise(
    theta: f64,
    mut reps: Vec<f64>,
    jack_by_group: Option<&[Vec<f64>]>,
    level: f64,
) -> Option<Estimate> {
    reps.retain(|x| !x.is_nan());
    if reps.is_empty() || !theta.is_finite() {
        return None;
    }
    reps.sort_by(f64::total_cmp);
    let n = reps.len() as f64;
    let m = reps.iter().sum::<f64>() / n;
    let se = (reps.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let percentile = percentile_interval(&reps, level);
    let bca = jack_by_group
        .and_then(acceleration)
        .and_then(|a| bca_interval(&reps, theta, a, level));
    Some(Estimate {
        estimate: theta,
        replicates: reps.len(),
        percentile,
        bca,
        se,
    })
}

/// Bootstrap any statistic of the resampled sample indices: replicate r calls `stat` with
/// [`resample`]`(seed, group, r, n)`. This is the hook for corpus-level metrics (BLEU, CIDEr-D),
/// which are recomputed inside each resample: pass a closure that scores the predictions and
/// references at those indices, clean and perturbed alike, and returns their difference. Runs the
/// replicates in parallel; the result does not depend on the thread count.
pub fn bootstrap_indices<F>(seed: u64, group: u32, n: usize, replicates: usize, stat: F) -> Vec<f64>
where
    F: Fn(&[usize]) -> f64 + Sync,
{
    use rayon::prelude::*;
    (0..replicates as u32)
        .into_par_iter()
        .map(|r| stat(&resample(seed, group, r, n)))
        .collect()
}

/// Leave-one-out values of `stat` (for BCa of a generic statistic; n evaluations).
pub fn jackknife_indices<F>(n: usize, stat: F) -> Vec<f64>
where
    F: Fn(&[usize]) -> f64 + Sync,
{
    use rayon::prelude::*;
    (0..n)
        .into_par_iter()
        .map(|i| stat(&(0..n).filter(|&k| k != i).collect::<Vec<_>>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_resample_and_sum_to_n() {
        let idx = resample(5, 77, 3, 37);
        let mut c = vec![0.0; 37];
        counts(5, 77, 3, &mut c);
        assert_eq!(c.iter().sum::<f64>(), 37.0);
        for (i, &k) in c.iter().enumerate() {
            assert_eq!(k as usize, idx.iter().filter(|&&j| j == i).count());
        }
        assert_ne!(idx, resample(5, 77, 4, 37), "replicates differ");
        assert_ne!(idx, resample(5, 78, 3, 37), "groups differ");
        assert_ne!(idx, resample(6, 77, 3, 37), "seeds differ");
    }

    #[test]
    fn quantile_is_numpy_linear() {
        let v = [1.0, 2.0, 4.0, 8.0];
        // np.percentile([1, 2, 4, 8], [0, 25, 50, 90, 100]) = [1, 1.75, 3, 6.8, 8]
        for (q, want) in [(0.0, 1.0), (0.25, 1.75), (0.5, 3.0), (0.9, 6.8), (1.0, 8.0)] {
            assert!((quantile_sorted(&v, q) - want).abs() < 1e-12, "{q}");
        }
    }

    #[test]
    fn bca_without_skew_or_bias_is_the_percentile_interval() {
        // Symmetric replicates around theta and zero acceleration: z0 = 0, a = 0 -> alpha levels
        // unchanged.
        let reps: Vec<f64> = (0..1001).map(|i| i as f64 / 1000.0 - 0.5).collect();
        let b = bca_interval(&reps, 0.0, 0.0, 0.95).unwrap();
        let p = percentile_interval(&reps, 0.95);
        assert!((b.lo - p.lo).abs() < 1e-12 && (b.hi - p.hi).abs() < 1e-12);
        assert!(
            bca_interval(&reps, 1.0, 0.0, 0.95).is_none(),
            "all replicates below theta"
        );
    }
}
