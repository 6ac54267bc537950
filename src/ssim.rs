//! SSIM (Wang et al. 2004) in the three variants of spec/ssim-calibration.md, numerically equal
//! to scikit-image 0.26 `structural_similarity` (within 1e-6 on the fixtures of tools/).
//!
//! PLACEHOLDER API: implemented by the SSIM work item.

use crate::error::Result;
use crate::image::Image;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
#[serde(rename_all = "lowercase")]
pub enum SsimVariant {
    /// Gaussian window sigma 1.5 (11 taps), population covariance, fixed data range 1.
    #[default]
    Wang,
    /// Uniform 7x7 window, sample covariance (49/48), fixed data range 1 (skimage defaults).
    Skimage,
    /// As `skimage`, after min-max normalising each image over all its values (reference code).
    Compat,
}

impl SsimVariant {
    pub fn as_str(self) -> &'static str {
        match self {
            SsimVariant::Wang => "wang",
            SsimVariant::Skimage => "skimage",
            SsimVariant::Compat => "compat",
        }
    }
}

/// SSIM of two same-shaped images (mean over channels of the per-channel mean SSIM).
pub fn ssim(a: &Image, b: &Image, variant: SsimVariant) -> Result<f64> {
    SsimReference::new(a, variant)?.ssim(b)
}

/// The clean image's moments computed once, for many comparisons (calibration).
pub struct SsimReference {
    variant: SsimVariant,
    #[allow(dead_code)]
    reference: Image,
}

impl SsimReference {
    pub fn new(reference: &Image, variant: SsimVariant) -> Result<Self> {
        Ok(SsimReference { variant, reference: reference.clone() })
    }
    pub fn variant(&self) -> SsimVariant {
        self.variant
    }
    pub fn ssim(&self, _other: &Image) -> Result<f64> {
        todo!("SSIM not implemented yet")
    }
}
