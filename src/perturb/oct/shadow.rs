//! `oct_shadow`: full-depth columns of signal loss (shadows cast by retinal vessels, floaters or
//! media opacities on everything below them in an A-scan).
//!
//! Model: `K = 3` columns at centres `c_k` fixed per seed (stratified: column k in the k-th
//! third of the width, so they rarely merge); column k has width `w_k = s * W * p_k`
//! with fixed shares `p_k` (sum 1), so the nominal total shadow width is `s * W`. Each pixel's
//! column coverage `a(x) = max_k coverage([c_k - w_k/2, c_k + w_k/2])` (exact box coverage,
//! 1-px anti-aliased edges), and `out = x * (1 - DEPTH * a(x))` with `DEPTH = 0.95` (5 %
//! residual signal). Widths grow around fixed centres, so the shadowed set is nested in s and SSIM
//! is non-increasing. The range 0-0.6 of the width (catalogue start 0-0.3) is widened so L5 is
//! reachable: at 0.3 the wang SSIM on the 96-px OCT phantom is still about 0.65; L5 lies near
//! 0.45.
//!
//! Source: reference SEG `_oct_shadow` (1-3 zeroed columns with linear edges), with the column
//! positions drawn once per (seed, image) instead of per call (rule 1).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::objects::interval_coverage;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const K: usize = 3;
const DEPTH: f32 = 0.95;

pub struct OctShadow;

static INFO: Info = Info {
    id: "oct_shadow",
    category: Category::Medical,
    modality: Some(Modality::Oct),
    model: "full-depth columns of signal loss at 3 fixed positions: x*(1 - 0.95*a(x)), a the column coverage; total width s*W",
    strength_name: "total shadow width (fraction of image width)",
    strength_range: (0.0, 0.6),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _oct_shadow (fixed positions here)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Oct, "oct_shadow"),
};

impl Perturbation for OctShadow {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped {
            img,
            cols: shadow_columns(img.width, ctx),
        }))
    }
}

/// The strength-independent columns of an image `width` px wide: (centre x in px, share of the
/// total width), shares summing to 1. Also uploaded by the CUDA kernel (kernels/oct.cu).
pub fn shadow_columns(width: usize, ctx: &Ctx) -> Vec<(f32, f32)> {
    let rng = ctx.rng(INFO.id);
    let w = width as f32;
    let mut cols = Vec::with_capacity(K);
    let mut total = 0.0;
    for k in 0..K {
        let u = rng.object(0, k as u32, 2);
        let share = 0.5 + u[1]; // shares in [0.5, 1.5) before normalising
        total += share;
        cols.push((w * (k as f32 + 0.2 + 0.6 * u[0]) / K as f32, share));
    }
    for c in &mut cols {
        c.1 /= total;
    }
    cols
}

struct Prepped<'a> {
    img: &'a Image,
    /// (centre x in px, share of the total width)
    cols: Vec<(f32, f32)>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        let w = self.img.width;
        let gain: Vec<f32> = (0..w)
            .map(|x| {
                let a = self
                    .cols
                    .iter()
                    .map(|&(c, p)| {
                        let half = 0.5 * s * w as f32 * p;
                        interval_coverage(x as f32, c - half, c + half)
                    })
                    .fold(0.0f32, f32::max);
                1.0 - DEPTH * a
            })
            .collect();
        for plane in out.planes_mut() {
            for row in plane.chunks_exact_mut(w) {
                for (v, g) in row.iter_mut().zip(&gain) {
                    *v = (*v * g).clamp(0.0, 1.0);
                }
            }
        }
        out
    }
}
