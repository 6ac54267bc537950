//! Statistics for the report: bootstrap confidence intervals, paired tests, multiple-comparison
//! correction, corruption errors and degradation curves (docs/statistics.md).
//!
//! Pure functions over plain slices and structs; nothing here knows records. The report's
//! aggregation (src/report/aggregate.rs) builds a [`paired::Design`] (one cell per Eq. 3 quantity
//! over the samples of a dataset) from records and asks this module for the numbers.
//! - [`bootstrap`]: seeded resampling of samples (Philox, counter-based), percentile and BCa
//!   intervals, and [`bootstrap::bootstrap_indices`], the hook for statistics that must be
//!   recomputed per resample (corpus BLEU / CIDEr-D).
//! - [`paired`]: linear quantities over cell means, their replicates and jackknife, and the paired
//!   sign-flip test ([`paired::sign_flip_p`], scipy.stats.permutation_test's conventions).
//! - [`holm`]: Holm's step-down correction over a family of comparisons.
//! - [`ce`]: CE, mCE and relative mCE against a baseline (ImageNet-C).
//! - [`isotonic`]: PAVA and the area of the drop-vs-SSIM curve over [0.5, 1].
//! - [`normal`]: the normal CDF and quantile (for BCa).

pub mod bootstrap;
pub mod ce;
pub mod holm;
pub mod isotonic;
pub mod normal;
pub mod paired;
