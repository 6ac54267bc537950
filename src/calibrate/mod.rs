//! Severity calibration: find, per image, the strength whose SSIM falls in each band
//! (spec/ssim-calibration.md).
//!
//! Per-image mode ([`perturb_image`]) searches the five bands jointly (see [`search`]). Per-dataset
//! mode ([`dataset`]) calibrates on a subset, caches the strengths, and applies them to every image.
//! SSIM is always measured on the image quantised to the source bit depth (what is written), so the
//! manifest's SSIM can be recomputed from the files.

pub mod compat;
pub mod dataset;
#[cfg(feature = "cuda")]
pub mod gpu;
pub mod policy;
pub mod search;

use crate::error::Result;
use crate::image::{BitDepth, Image, Mask};
use crate::perturb::{Ctx, Perturbation, Prepared};
use crate::ssim::{SsimReference, SsimVariant};
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

/// The band of `level` (1..=5).
pub fn band(level: u8) -> Result<Band> {
    BANDS
        .iter()
        .find(|b| b.level == level)
        .copied()
        .ok_or_else(|| {
            crate::error::Error::invalid("level", format!("{level} is not a severity level (1-5)"))
        })
}

/// L1..L5 of the paper.
pub const BANDS: [Band; 5] = [
    Band {
        level: 1,
        lo: 0.90,
        hi: 0.98,
    },
    Band {
        level: 2,
        lo: 0.80,
        hi: 0.89,
    },
    Band {
        level: 3,
        lo: 0.70,
        hi: 0.79,
    },
    Band {
        level: 4,
        lo: 0.60,
        hi: 0.69,
    },
    Band {
        level: 5,
        lo: 0.50,
        hi: 0.59,
    },
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
        SearchOptions {
            variant: SsimVariant::Wang,
            max_evals_per_band: 20,
        }
    }
}

/// The outcome of calibrating one level of one image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelOutcome {
    pub level: u8,
    pub strength: f32,
    /// SSIM of the (unquantised) perturbed image at `strength`.
    pub ssim: f64,
    pub target: [f64; 2],
    pub in_band: bool,
    /// Why the level is not in band, in words (the kind is [`LevelOutcome::verdict`]).
    pub reason: Option<String>,
    pub evaluations: u32,
    /// What the search concluded for this band.
    #[serde(default)]
    pub verdict: Verdict,
}

/// What the strength policy concluded for one level, as a type (the words are in `reason`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The measured SSIM is inside the band ([`Band::contains`]).
    #[default]
    InBand,
    /// SSIM at the maximal strength is still above the band: the perturbation cannot degrade
    /// the image that much.
    UnreachableAbove,
    /// SSIM at the minimal strength is already below the band.
    UnreachableBelow,
    /// The band was not hit: the curve jumps over it, the budget ran out, or a fixed / cached
    /// strength lands outside it on this image.
    Skipped,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::InBand => "in_band",
            Verdict::UnreachableAbove => "unreachable_above",
            Verdict::UnreachableBelow => "unreachable_below",
            Verdict::Skipped => "skipped",
        }
    }
    pub fn in_band(self) -> bool {
        self == Verdict::InBand
    }
    pub fn unreachable(self) -> bool {
        matches!(self, Verdict::UnreachableAbove | Verdict::UnreachableBelow)
    }
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
/// Levels that cannot be reached are returned with `in_band: false`, a reason, and the image at the
/// strength that came closest (callers decide whether to write it).
pub fn perturb_image(
    p: &dyn Perturbation,
    img: &Image,
    mask: Option<&Mask>,
    depth: BitDepth,
    ctx: &Ctx,
    levels: &[u8],
    opts: &SearchOptions,
) -> Result<Vec<PerturbedLevel>> {
    let reference = SsimReference::new(img, opts.variant)?;
    perturb_image_with(p, img, &reference, mask, depth, ctx, levels, opts)
}

/// As [`perturb_image`] with the clean image's SSIM moments computed once by the caller (one
/// [`SsimReference`] serves every perturbation of an image).
#[allow(clippy::too_many_arguments)]
pub fn perturb_image_with(
    p: &dyn Perturbation,
    img: &Image,
    reference: &SsimReference,
    mask: Option<&Mask>,
    depth: BitDepth,
    ctx: &Ctx,
    levels: &[u8],
    opts: &SearchOptions,
) -> Result<Vec<PerturbedLevel>> {
    let prepared = p.prepare(img, ctx)?;
    let (outcomes, kept) = search_keeping(prepared.as_ref(), p, reference, depth, levels, opts)?;
    outcomes
        .into_iter()
        .zip(kept)
        .map(|(o, image)| {
            // the search measured the quantised output at this very strength: its SSIM is the
            // written file's, and the in-band image it measured is kept, so neither is redone
            finish(
                prepared.as_ref(),
                reference,
                mask,
                depth,
                o,
                Measured::BySearch(image),
            )
        })
        .collect()
}

/// As [`perturb_image_with`] with the search already done elsewhere (the on-GPU search,
/// src/calibrate/gpu.rs): apply each outcome's strength on the CPU, quantise, re-measure the SSIM
/// of what is written and warp the mask. `outcomes` are in ascending level order.
pub fn perturb_image_from_outcomes(
    p: &dyn Perturbation,
    img: &Image,
    reference: &SsimReference,
    mask: Option<&Mask>,
    depth: BitDepth,
    ctx: &Ctx,
    outcomes: Vec<LevelOutcome>,
) -> Result<Vec<PerturbedLevel>> {
    let prepared = p.prepare(img, ctx)?;
    outcomes
        .into_iter()
        .map(|o| finish(prepared.as_ref(), reference, mask, depth, o, Measured::No))
        .collect()
}

/// The search alone: one outcome per requested level (ascending level order).
pub fn calibrate_prepared(
    prepared: &dyn Prepared,
    p: &dyn Perturbation,
    reference: &SsimReference,
    depth: BitDepth,
    levels: &[u8],
    opts: &SearchOptions,
) -> Result<Vec<LevelOutcome>> {
    Ok(search_keeping(prepared, p, reference, depth, levels, opts)?.0)
}

/// The search, keeping for each band the quantised image of its best in-band evaluation (the one
/// [`search`] reports: closest to the target, then the smaller strength), so the caller need not
/// apply it again; at most one image per band is held at any time.
fn search_keeping(
    prepared: &dyn Prepared,
    p: &dyn Perturbation,
    reference: &SsimReference,
    depth: BitDepth,
    levels: &[u8],
    opts: &SearchOptions,
) -> Result<(Vec<LevelOutcome>, Vec<Option<Image>>)> {
    let mut bands: Vec<Band> = levels.iter().map(|&l| band(l)).collect::<Result<_>>()?;
    bands.sort_by_key(|b| b.level);
    bands.dedup_by_key(|b| b.level);
    let info = p.info();
    let (s_min, s_max) = info.strength_range;
    let mut kept: Vec<Option<(f32, f64, Image)>> = vec![None; bands.len()];
    let outcomes = {
        let kept = &mut kept;
        let bands_ref = &bands;
        let mut evals = search::Evaluations::new(move |s| {
            let image = prepared.apply_quantised(s, depth);
            let v = reference.ssim(&image)?;
            if let Some(i) = bands_ref.iter().position(|b| b.contains(v)) {
                let t = bands_ref[i].target();
                let better = match &kept[i] {
                    None => true,
                    Some((ks, kv, _)) => (v - t)
                        .abs()
                        .total_cmp(&(kv - t).abs())
                        .then(s.total_cmp(ks))
                        .is_lt(),
                };
                if better {
                    kept[i] = Some((s, v, image));
                }
            }
            Ok(v)
        });
        match p.integer_steps() {
            Some(steps) => {
                search::search_bands_steps(&mut evals, &bands, steps, opts.max_evals_per_band)?
            }
            None => search::search_bands(
                &mut evals,
                &bands,
                s_min,
                s_max,
                info.kind,
                opts.max_evals_per_band,
            )?,
        }
    };
    let images = outcomes
        .iter()
        .map(|o| {
            let i = bands.iter().position(|b| b.level == o.level)?;
            match kept[i].take() {
                Some((s, v, image))
                    if o.in_band && s == o.strength && v.to_bits() == o.ssim.to_bits() =>
                {
                    Some(image)
                }
                _ => None,
            }
        })
        .collect();
    Ok((outcomes, images))
}

/// Whether a level's SSIM was measured on exactly the image `finish` writes.
enum Measured {
    /// By the CPU search (on `apply_quantised(strength, depth)`), with its image if kept.
    BySearch(Option<Image>),
    /// Not (a fixed strength, or the on-GPU search): apply and measure.
    No,
}

fn finish(
    prepared: &dyn Prepared,
    reference: &SsimReference,
    mask: Option<&Mask>,
    depth: BitDepth,
    mut outcome: LevelOutcome,
    measured: Measured,
) -> Result<PerturbedLevel> {
    let (image, ssim_written) = match measured {
        Measured::BySearch(Some(image)) => (image, outcome.ssim),
        Measured::BySearch(None) => (
            prepared.apply_quantised(outcome.strength, depth),
            outcome.ssim,
        ),
        Measured::No => {
            let image = prepared.apply_quantised(outcome.strength, depth);
            let v = reference.ssim(&image)?;
            (image, v)
        }
    };
    if outcome.ssim.is_nan() {
        // Fixed strength: the band verdict comes from the measurement.
        outcome.ssim = ssim_written;
        let band = Band {
            level: outcome.level,
            lo: outcome.target[0],
            hi: outcome.target[1],
        };
        outcome.in_band = band.contains(ssim_written);
        outcome.verdict = if outcome.in_band {
            Verdict::InBand
        } else {
            Verdict::Skipped
        };
        if !outcome.in_band {
            outcome.reason = Some(format!(
                "fixed strength {} gives SSIM {ssim_written:.4}, outside the band",
                outcome.strength
            ));
        }
    }
    let mask = mask.map(|m| prepared.warp_mask(m, outcome.strength));
    Ok(PerturbedLevel {
        outcome,
        image,
        mask,
        ssim_written,
    })
}
