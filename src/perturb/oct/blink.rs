//! `oct_blink`: full-width rows with no signal (the eyelid blocks the beam during a blink while
//! the scanner keeps acquiring B-scan lines).
//!
//! Model: `K = 4` horizontal bands at row centres fixed per seed with fixed shares `p_k` (sum 1);
//! band k has height `s * H * p_k`, so the nominal total blanked height is `s * H` (overlapping
//! bands merge, making the real total a little smaller). Row coverage
//! `a(y) = max_k coverage(band k)` (exact box coverage, 1-px anti-aliased edges) and
//! `out = x * (1 - a(y))`: covered rows are black, full width. Bands grow around fixed centres, so
//! the blanked set is nested in s and SSIM is non-increasing. Range 0-0.6 of the height
//! (catalogue start 0-0.4): on the OCT phantom L5 lies near 0.37-0.4, at the end of the
//! catalogue range; the wider range leaves margin for images with more empty (dark) rows.
//!
//! Source: reference SEG `_oct_blink` (k zeroed bands with ramps; k re-drawn per call there,
//! fixed nested bands here).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::objects::interval_coverage;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const K: usize = 4;

pub struct OctBlink;

static INFO: Info = Info {
    id: "oct_blink",
    category: Category::Medical,
    modality: Some(Modality::Oct),
    model: "eyelid blink: 4 full-width black row bands at fixed centres, total height s*H (nested, growing)",
    strength_name: "total blanked height (fraction of image height)",
    strength_range: (0.0, 0.6),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _oct_blink (fixed nested bands here)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Oct, "oct_blink"),
};

impl Perturbation for OctBlink {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped {
            img,
            bands: blink_bands(img.height, ctx),
        }))
    }
}

/// The strength-independent bands of an image `height` px high: (centre row in px, share of the
/// total height), shares summing to 1. Also uploaded by the CUDA kernel (kernels/oct.cu).
pub fn blink_bands(height: usize, ctx: &Ctx) -> Vec<(f32, f32)> {
    let rng = ctx.rng(INFO.id);
    let h = height as f32;
    let mut bands = Vec::with_capacity(K);
    let mut total = 0.0;
    for k in 0..K {
        let u = rng.object(0, k as u32, 2);
        let share = 0.5 + u[1];
        total += share;
        // centres spread over the height: band k lives in the k-th quarter
        bands.push((h * (k as f32 + 0.15 + 0.7 * u[0]) / K as f32, share));
    }
    for b in &mut bands {
        b.1 /= total;
    }
    bands
}

struct Prepped<'a> {
    img: &'a Image,
    /// (centre row in px, share of the total height)
    bands: Vec<(f32, f32)>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        let (w, h) = (self.img.width, self.img.height);
        let gain: Vec<f32> = (0..h)
            .map(|y| {
                let a = self
                    .bands
                    .iter()
                    .map(|&(c, p)| {
                        let half = 0.5 * s * h as f32 * p;
                        interval_coverage(y as f32, c - half, c + half)
                    })
                    .fold(0.0f32, f32::max);
                1.0 - a
            })
            .collect();
        for plane in out.planes_mut() {
            for (row, g) in plane.chunks_exact_mut(w).zip(&gain) {
                row.iter_mut().for_each(|v| *v = (*v * g).clamp(0.0, 1.0));
            }
        }
        out
    }
}
