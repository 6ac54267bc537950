//! Severity calibration: find, per image, the strength whose SSIM falls in each band
//! (spec/ssim-calibration.md).
//!
//! PLACEHOLDER API (signatures are final; bodies land with the calibration work item).

use crate::error::Result;
use crate::image::{BitDepth, Image, Mask};
use crate::perturb::{Ctx, Perturbation};
use crate::ssim::SsimVariant;
use serde::{Deserialize, Serialize};

/// An SSIM band, inclusive on both ends.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub level: u8,
    pub lo: f64,
    pub hi: f64,
}

impl Band {
    pub fn target(&self) -> f64 {
        0.5 * (self.lo + self.hi)
    }
    pub fn contains(&self, s: f64) -> bool {
        s >= self.lo && s <= self.hi
    }
}

/// L1..L5 of the paper.
pub const BANDS: [Band; 5] = [
    Band { level: 1, lo: 0.90, hi: 0.98 },
    Band { level: 2, lo: 0.80, hi: 0.89 },
    Band { level: 3, lo: 0.70, hi: 0.79 },
    Band { level: 4, lo: 0.60, hi: 0.69 },
    Band { level: 5, lo: 0.50, hi: 0.59 },
];

/// How strengths are chosen.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    pub variant: SsimVariant,
    /// Maximum SSIM evaluations spent on one band (default 20).
    pub max_evals_per_band: u32,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { variant: SsimVariant::Wang, max_evals_per_band: 20 }
    }
}

/// The outcome of calibrating one level of one image.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LevelOutcome {
    pub level: u8,
    pub strength: f32,
    /// SSIM of the (unquantised) perturbed image at `strength`.
    pub ssim: f64,
    pub target: [f64; 2],
    pub in_band: bool,
    /// Why the level is not in band ("unreachable": SSIM at the maximal strength is above the band).
    pub reason: Option<String>,
    pub evaluations: u32,
}

/// One perturbed output at one level.
#[derive(Clone, Debug)]
pub struct PerturbedLevel {
    pub outcome: LevelOutcome,
    /// The perturbed image quantised to the source bit depth: exactly what `perturb` writes.
    pub image: Image,
    /// The mask warped the same way (geometric perturbations), else the input mask.
    pub mask: Option<Mask>,
    /// SSIM of `image` (after quantisation) against the source: the manifest's `ssim`.
    pub ssim_written: f64,
}

/// Calibrate `levels` of perturbation `p` on `img` (per-image mode) and produce each level's output.
pub fn perturb_image(
    p: &dyn Perturbation,
    img: &Image,
    mask: Option<&Mask>,
    depth: BitDepth,
    ctx: &Ctx,
    levels: &[u8],
    opts: &SearchOptions,
) -> Result<Vec<PerturbedLevel>> {
    let _ = (p, img, mask, depth, ctx, levels, opts);
    todo!("calibration")
}
