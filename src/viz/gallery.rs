//! Galleries: one row per perturbation of a modality (base and medical), columns clean and
//! L1..L5, each tile captioned with the achieved SSIM and the strength (or why the level is not
//! in band). Used by `medfm-robust gallery`, `demo` and docs/perturbations.md.

use super::contact::{Sheet, Tile};
use crate::calibrate::{self, SearchOptions};
use crate::error::Result;
use crate::image::{BitDepth, Image};
use crate::perturb::{self, Ctx, Modality};
use crate::ssim::SsimReference;
use rayon::prelude::*;

/// Caption lines of one calibrated level.
pub fn caption(ssim: f64, strength: f32, in_band: bool, reason: Option<&str>) -> Vec<String> {
    let mut v = vec![format!("SSIM {ssim:.3}"), format!("s={}", short(strength))];
    if !in_band {
        let why = match reason {
            Some(r) if r.starts_with("unreachable") => "UNREACHABLE",
            Some(r) if r.starts_with("band skipped") => "SKIPPED",
            _ => "OUT OF BAND",
        };
        v.push(why.to_string());
    }
    v
}

fn short(s: f32) -> String {
    if s == 0.0 || (s.abs() >= 0.01 && s.abs() < 1000.0) {
        format!("{s:.3}")
    } else {
        format!("{s:.2e}")
    }
}

/// Calibrate every perturbation of `modality` on `image` and lay out the sheet.
pub fn gallery(
    modality: Modality,
    image: &Image,
    depth: BitDepth,
    seed: u64,
    opts: &SearchOptions,
    tile: usize,
) -> Result<Sheet> {
    crate::viz::contact::check_tile(tile)?;
    let ps = perturb::select("all", Some(modality))?;
    let reference = SsimReference::new(image, opts.variant)?;
    let ctx = Ctx::new(seed, crate::rng::fnv1a32(&format!("gallery/{modality}")));
    let levels = [1u8, 2, 3, 4, 5];
    let rows: Vec<Result<(String, Vec<Tile>)>> = ps
        .par_iter()
        .map(|p| {
            let outs = calibrate::perturb_image_with(
                *p, image, &reference, None, depth, &ctx, &levels, opts,
            )?;
            let mut tiles = vec![Tile {
                image: Some(image.clone()),
                caption: vec!["clean".into()],
            }];
            for o in outs {
                let c = caption(
                    o.ssim_written,
                    o.outcome.strength,
                    o.outcome.in_band,
                    o.outcome.reason.as_deref(),
                );
                tiles.push(Tile {
                    image: Some(o.image),
                    caption: c,
                });
            }
            Ok((p.id().to_string(), tiles))
        })
        .collect();
    Ok(Sheet {
        title: format!("{modality}: {} perturbations, SSIM ({}) bands L1 .90-.98, L2 .80-.89, L3 .70-.79, L4 .60-.69, L5 .50-.59", ps.len(), opts.variant.as_str()),
        columns: ["clean", "L1", "L2", "L3", "L4", "L5"].map(String::from).to_vec(),
        rows: rows.into_iter().collect::<Result<_>>()?,
        tile,
    })
}
