//! Perturbed inputs per level: what `perturb` writes (calibrated, the default) or a fixed strength
//! per level (the authors' VLM protocol used fixed tables, no SSIM search).

use crate::calibrate::SearchOptions;
use crate::error::Result;
use crate::image::{BitDepth, Image, Mask};
use crate::perturb::{Ctx, Perturbation};

/// How a level becomes a strength.
#[derive(Clone, Debug)]
pub enum Strengths {
    /// SSIM-calibrated per image: `calibrate::perturb_image`, exactly what `perturb` writes.
    Calibrated(SearchOptions),
    /// Strength = lo + (hi - lo) * level / 5 of the perturbation's range; no SSIM is measured
    /// (`ssim` is null in the records).
    Fixed,
}

/// One perturbed input.
#[derive(Clone, Debug)]
pub struct Variant {
    pub level: u8,
    pub strength: f32,
    pub ssim: Option<f64>,
    pub in_band: Option<bool>,
    /// Quantised to the source depth: the pixels `perturb` writes.
    pub image: Image,
    /// The mask moved with the image (geometric perturbations), else the input mask.
    pub mask: Option<Mask>,
}

pub fn variants(
    p: &dyn Perturbation,
    img: &Image,
    mask: Option<&Mask>,
    depth: BitDepth,
    ctx: &Ctx,
    levels: &[u8],
    mode: &Strengths,
) -> Result<Vec<Variant>> {
    match mode {
        Strengths::Calibrated(opts) => Ok(crate::calibrate::perturb_image(p, img, mask, depth, ctx, levels, opts)?
            .into_iter()
            .map(|l| Variant {
                level: l.outcome.level,
                strength: l.outcome.strength,
                ssim: Some(l.ssim_written),
                in_band: Some(l.outcome.in_band),
                image: l.image,
                mask: l.mask,
            })
            .collect()),
        Strengths::Fixed => {
            let prepared = p.prepare(img, ctx)?;
            let (lo, hi) = p.info().strength_range;
            Ok(levels
                .iter()
                .map(|&level| {
                    let s = lo + (hi - lo) * f32::from(level) / 5.0;
                    Variant {
                        level,
                        strength: s,
                        ssim: None,
                        in_band: None,
                        image: prepared.apply(s).quantised(depth),
                        mask: mask.map(|m| prepared.warp_mask(m, s)),
                    }
                })
                .collect())
        }
    }
}
