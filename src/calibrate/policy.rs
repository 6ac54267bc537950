//! The one strength policy: how a severity level becomes a strength, and what comes out of it.
//!
//! Every front-end (run, eval-seg, eval-vlm, demo, perturb) reaches perturbation through
//! [`produce`] (a GPU search's outcomes through [`produce_from_outcomes`]):
//! - [`Policy::PerImage`]: the joint band search on this image ([`super::calibrate_prepared`]);
//! - [`Policy::Table`]: one strength per level chosen ahead for the whole dataset (per-dataset
//!   calibration: the median in-band strength of the calibration images, [`calibrate_table`]; the
//!   compat profile: the authors' first-image search), applied to this image and measured;
//! - [`Policy::Fixed`]: strength = lo + (hi - lo) * level / 5 of the perturbation's range, measured.
//!
//! Each level is quantised to the source bit depth (what is written or sent), its SSIM measured
//! on exactly that image, and judged with [`super::Band::contains`], the only in-band test.

use super::{band, Band, SearchOptions, Verdict};
use crate::calibrate::dataset::{median_strength, CachedStrength};
use crate::error::Result;
use crate::image::{BitDepth, Image, Mask};
use crate::perturb::{Ctx, Perturbation};
use crate::ssim::SsimReference;
use std::collections::BTreeMap;

/// How strengths are chosen.
#[derive(Clone, Debug)]
pub enum Policy {
    /// Per-image joint search over the five bands.
    PerImage(SearchOptions),
    /// A strength per level chosen ahead (None: no calibration image reached the band).
    Table {
        strengths: BTreeMap<u8, Option<f32>>,
        /// Where the table comes from, for the reason of a miss ("per-dataset", "first-image").
        source: &'static str,
        /// Warp masks with geometric perturbations (the compat profile does not: a quirk kept).
        warp_masks: bool,
    },
    /// Level / 5 of the strength range, uncalibrated.
    Fixed,
}

impl Policy {
    pub fn name(&self) -> &'static str {
        match self {
            Policy::PerImage(_) => "per-image",
            Policy::Table { source, .. } => source,
            Policy::Fixed => "fixed",
        }
    }
}

/// One perturbed level, ready for evaluators.
#[derive(Clone, Debug)]
pub struct Produced {
    pub level: u8,
    pub strength: f32,
    /// SSIM of `image` (quantised, what is written) against the clean image.
    pub ssim: f64,
    pub verdict: Verdict,
    /// Why the level is not in band, in words.
    pub reason: Option<String>,
    /// SSIM evaluations the search spent on this band (0 for table and fixed strengths).
    pub evaluations: u32,
    pub image: Image,
    /// The mask moved with the image (geometric perturbations), else the input mask.
    pub mask: Option<Mask>,
}

/// Produce `levels` of `p` on `img` under `policy` (levels ascending, deduplicated).
#[allow(clippy::too_many_arguments)]
pub fn produce(
    policy: &Policy,
    p: &dyn Perturbation,
    img: &Image,
    reference: &SsimReference,
    mask: Option<&Mask>,
    depth: BitDepth,
    ctx: &Ctx,
    levels: &[u8],
) -> Result<Vec<Produced>> {
    let mut levels = levels.to_vec();
    levels.sort_unstable();
    levels.dedup();
    if let Policy::PerImage(opts) = policy {
        // The search keeps the image it measured at each chosen strength, so nothing is applied
        // or measured twice (crate::calibrate::perturb_image_with).
        return super::perturb_image_with(p, img, reference, mask, depth, ctx, &levels, opts)?
            .into_iter()
            .map(|pl| from_searched(pl, mask, policy))
            .collect();
    }
    let prepared = p.prepare(img, ctx)?;
    let (lo, hi) = p.info().strength_range;
    let mut out = Vec::with_capacity(levels.len());
    for &level in &levels {
        let b = band(level)?;
        let (strength, searched_verdict, reason, warp) = match policy {
            Policy::PerImage(_) => unreachable!("returned above"),
            Policy::Table { strengths, source, warp_masks } => match strengths.get(&level).copied().flatten() {
                Some(s) => (s, None, None, *warp_masks),
                None => (
                    hi,
                    Some(Verdict::UnreachableAbove),
                    Some(format!("unreachable: no {source} calibration image reached this band; shown at the maximal strength")),
                    *warp_masks,
                ),
            },
            Policy::Fixed => (lo + (hi - lo) * f32::from(level) / 5.0, None, None, true),
        };
        let image = prepared.apply_quantised(strength, depth);
        let ssim = reference.ssim(&image)?;
        let (verdict, reason) = judge(&b, ssim, strength, searched_verdict, reason, policy);
        let mask = mask.map(|m| {
            if warp {
                prepared.warp_mask(m, strength)
            } else {
                m.clone()
            }
        });
        out.push(Produced {
            level,
            strength,
            ssim,
            verdict,
            reason,
            evaluations: 0,
            image,
            mask,
        });
    }
    Ok(out)
}

/// A level the search produced (on the CPU, or on the GPU and finished by the CPU,
/// [`super::perturb_image_from_outcomes`]) as the policy's output: judged on its written SSIM.
pub fn from_searched(
    pl: super::PerturbedLevel,
    mask: Option<&Mask>,
    policy: &Policy,
) -> Result<Produced> {
    let b = band(pl.outcome.level)?;
    let o = pl.outcome;
    let (verdict, reason) = judge(
        &b,
        pl.ssim_written,
        o.strength,
        Some(o.verdict),
        o.reason,
        policy,
    );
    Ok(Produced {
        level: o.level,
        strength: o.strength,
        ssim: pl.ssim_written,
        verdict,
        reason,
        evaluations: o.evaluations,
        image: pl.image,
        mask: pl.mask.or_else(|| mask.cloned()),
    })
}

/// Largest |GPU SSIM - CPU SSIM| accepted for an on-GPU search result re-measured by the CPU
/// (the calibration parity bound of the kernels with device expf; the exact kernels agree to
/// 1e-6, spec/gpu.md). Beyond it the image is calibrated again on the CPU.
pub const GPU_RECHECK_TOL: f64 = 1e-3;

/// [`produce`], or, given per-image search outcomes found elsewhere (the GPU), those outcomes
/// finished by the CPU: applied, quantised and re-measured here. When the CPU does not reproduce
/// an outcome's SSIM within [`GPU_RECHECK_TOL`] the device got this image wrong: the levels come
/// from [`produce`] on the CPU instead, with a warning saying so (a device error never reaches a
/// record).
#[allow(clippy::too_many_arguments)]
pub fn produce_from_outcomes(
    policy: &Policy,
    p: &dyn Perturbation,
    img: &Image,
    reference: &SsimReference,
    mask: Option<&Mask>,
    depth: BitDepth,
    ctx: &Ctx,
    levels: &[u8],
    outcomes: Option<Vec<super::LevelOutcome>>,
) -> Result<(Vec<Produced>, Option<String>)> {
    let Some(outcomes) = outcomes else {
        return Ok((
            produce(policy, p, img, reference, mask, depth, ctx, levels)?,
            None,
        ));
    };
    let finished =
        super::perturb_image_from_outcomes(p, img, reference, mask, depth, ctx, outcomes)?;
    if let Some(bad) = finished
        .iter()
        .find(|pl| (pl.ssim_written - pl.outcome.ssim).abs() > GPU_RECHECK_TOL)
    {
        let warning = format!(
            "GPU SSIM {:.6} at strength {} but the CPU measures {:.6} (L{}); calibrated on the CPU instead",
            bad.outcome.ssim, bad.outcome.strength, bad.ssim_written, bad.outcome.level
        );
        let cpu = produce(policy, p, img, reference, mask, depth, ctx, levels)?;
        return Ok((cpu, Some(warning)));
    }
    let levels = finished
        .into_iter()
        .map(|pl| from_searched(pl, mask, policy))
        .collect::<Result<_>>()?;
    Ok((levels, None))
}

/// The verdict of a measured level: in band by [`Band::contains`] on the written SSIM; otherwise
/// the search's own verdict when it had one, else skipped with the measurement as the reason.
fn judge(
    b: &Band,
    ssim: f64,
    strength: f32,
    searched: Option<Verdict>,
    reason: Option<String>,
    policy: &Policy,
) -> (Verdict, Option<String>) {
    if b.contains(ssim) {
        return (Verdict::InBand, None);
    }
    match (searched, reason) {
        (Some(v), Some(r)) if v != Verdict::InBand => (v, Some(r)),
        _ => (
            Verdict::Skipped,
            Some(format!(
                "{} strength {strength} gives written SSIM {ssim:.4}, outside the band {:.2}-{:.2}",
                policy.name(),
                b.lo,
                b.hi
            )),
        ),
    }
}

/// Per-dataset calibration of one perturbation: the joint search on each calibration image, and
/// per level the median of the in-band strengths (None when no image reached the band).
pub fn calibrate_table(
    p: &dyn Perturbation,
    images: &[(&Image, &SsimReference, BitDepth, Ctx)],
    levels: &[u8],
    opts: &SearchOptions,
) -> Result<BTreeMap<u8, CachedStrength>> {
    use rayon::prelude::*;
    // The calibration images are searched in parallel; the medians do not depend on the order.
    let searched: Vec<Result<Vec<super::LevelOutcome>>> = images
        .par_iter()
        .map(|(img, reference, depth, ctx)| {
            let prepared = p.prepare(img, ctx)?;
            super::calibrate_prepared(prepared.as_ref(), p, reference, *depth, levels, opts)
        })
        .collect();
    let mut by_level: BTreeMap<u8, Vec<f32>> = levels.iter().map(|&l| (l, Vec::new())).collect();
    for outcomes in searched {
        for o in outcomes? {
            if o.verdict.in_band() {
                by_level.entry(o.level).or_default().push(o.strength);
            }
        }
    }
    Ok(by_level
        .into_iter()
        .map(|(l, mut v)| {
            let in_band = v.len();
            (
                l,
                CachedStrength {
                    strength: median_strength(&mut v),
                    images: images.len(),
                    in_band,
                },
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb;

    fn ramp(w: usize, h: usize) -> Image {
        let mut img = Image::new(w, h, 1);
        for y in 0..h {
            for x in 0..w {
                img.data[y * w + x] = ((x * 7 + y * 13) % 97) as f32 / 96.0;
            }
        }
        img
    }

    #[test]
    fn every_policy_judges_with_the_band_on_the_written_image() {
        let img = ramp(48, 40);
        let reference = SsimReference::new(&img, crate::ssim::SsimVariant::Wang).unwrap();
        let p = perturb::by_id("gaussian_noise").unwrap();
        let ctx = Ctx::new(0, 7);
        let levels = [1, 3, 5];
        let table = Policy::Table {
            strengths: BTreeMap::from([(1, Some(0.05)), (3, None)]),
            source: "per-dataset",
            warp_masks: true,
        };
        for policy in [
            Policy::PerImage(SearchOptions::default()),
            table,
            Policy::Fixed,
        ] {
            let out = produce(
                &policy,
                p,
                &img,
                &reference,
                None,
                BitDepth::U8,
                &ctx,
                &levels,
            )
            .unwrap();
            assert_eq!(out.iter().map(|o| o.level).collect::<Vec<_>>(), levels);
            for o in &out {
                let written = reference.ssim(&o.image).unwrap();
                assert_eq!(written, o.ssim, "{policy:?}");
                assert_eq!(
                    o.verdict.in_band(),
                    band(o.level).unwrap().contains(o.ssim),
                    "{policy:?} {o:?}"
                );
                assert_eq!(o.reason.is_none(), o.verdict.in_band(), "{policy:?}");
            }
        }
        let fixed = produce(
            &Policy::Fixed,
            p,
            &img,
            &reference,
            None,
            BitDepth::U8,
            &ctx,
            &[5],
        )
        .unwrap();
        let (lo, hi) = p.info().strength_range;
        assert_eq!(fixed[0].strength, lo + (hi - lo));
    }

    /// An on-GPU search result the CPU cannot reproduce (here: a fabricated outcome whose
    /// strength was changed) is replaced by the CPU's own calibration, with a warning; a faithful
    /// one is kept as it is.
    #[test]
    fn gpu_outcomes_are_rechecked_by_the_cpu() {
        let img = crate::phantom::phantom(crate::perturb::Modality::Ct, 64, 64, 1, 3).image;
        let reference = SsimReference::new(&img, crate::ssim::SsimVariant::Wang).unwrap();
        let p = perturb::by_id("gaussian_noise").unwrap();
        let ctx = Ctx::new(1, 7);
        let levels = [2, 4];
        let opts = SearchOptions::default();
        let policy = Policy::PerImage(opts.clone());
        let prepared = p.prepare(&img, &ctx).unwrap();
        let cpu = crate::calibrate::calibrate_prepared(
            prepared.as_ref(),
            p,
            &reference,
            BitDepth::U8,
            &levels,
            &opts,
        )
        .unwrap();
        let run = |outcomes: Vec<crate::calibrate::LevelOutcome>| {
            produce_from_outcomes(
                &policy,
                p,
                &img,
                &reference,
                None,
                BitDepth::U8,
                &ctx,
                &levels,
                Some(outcomes),
            )
            .unwrap()
        };
        let strengths = |v: &[Produced]| v.iter().map(|o| o.strength).collect::<Vec<_>>();
        let want: Vec<f32> = cpu.iter().map(|o| o.strength).collect();
        let (kept, warning) = run(cpu.clone());
        assert!(warning.is_none(), "{warning:?}");
        assert_eq!(strengths(&kept), want);
        let mut wrong = cpu.clone();
        wrong[1].strength = wrong[0].strength * 0.5;
        let (redone, warning) = run(wrong);
        let w = warning.expect("a warning");
        assert!(
            w.contains("calibrated on the CPU") && w.contains("L4"),
            "{w}"
        );
        assert_eq!(strengths(&redone), want);
        assert!(redone.iter().all(|o| o.verdict.in_band()));
    }

    #[test]
    fn a_table_miss_is_unreachable_with_its_reason() {
        let img = ramp(48, 40);
        let reference = SsimReference::new(&img, crate::ssim::SsimVariant::Wang).unwrap();
        let p = perturb::by_id("gaussian_noise").unwrap();
        let table = Policy::Table {
            strengths: BTreeMap::from([(5, None)]),
            source: "first-image",
            warp_masks: false,
        };
        let out = produce(
            &table,
            p,
            &img,
            &reference,
            None,
            BitDepth::U8,
            &Ctx::new(0, 1),
            &[5],
        )
        .unwrap();
        if !out[0].verdict.in_band() {
            assert_eq!(out[0].verdict, Verdict::UnreachableAbove);
            assert!(out[0].reason.as_deref().unwrap().contains("first-image"));
        }
    }
}
