//! `endo_bubbles`: fluid/air bubbles on the lens or in the lumen: each bubble acts as a small
//! lens (magnifies what is behind it), has a bright thin rim where light is reflected at the
//! grazing interface, and one or two specular highlights.
//!
//! Model: a fixed list of `N = 64` bubbles (centre, radius 2-8 % of min(W, H)) drawn once per
//! (seed, image) and rendered once against the clean image in `prepare`:
//! - interior `d < r`: lens warp, sampled bilinearly (reflect border) at
//!   `c + (p - c) * (0.55 + 0.45 (d/r)^2)` (magnifying centre, continuous at the rim), lifted by
//!   10 % towards white (thin fluid film);
//! - white overlay: a rim ring of half-width max(1, 0.12 r) px at `d = r` (alpha 0.9), a highlight
//!   Gaussian (sigma 0.14 r, alpha 1) at `c + (-0.4, -0.4) r` and a smaller one (sigma 0.08 r,
//!   alpha 0.7) at `c + (0.35, 0.35) r`.
//!
//! Strength s in [0, 1] is the coverage: bubble i is composited with weight
//! `w = clamp(s * N - i, 0, 1)` ([`prefix_weight`]) in REVERSE list order (bubble 0 on top: a
//! bubble fading in lies beneath those already shown, whose interiors are rendered from the clean
//! image and would otherwise be partly replaced, making SSIM rise),
//! `x <- x (1 - w a_in) + w a_in * interior`, then `x <- x + (1 - x) w a_white`. The local warp is
//! an intensity artefact for mask purposes (the catalogue leaves masks alone).
//!
//! Source: reference SEG `_endo_bubbles` (max(3, 80c) circles with radial lens warp, 2-4
//! highlights, bright rim, brighter interior; count re-drawn there, nested fixed list here).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::filter::reflect_index;
use crate::perturb::common::objects::{
    disc_coverage, prefix_weight, ring_profile, union_alpha, Sprite,
};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const N: usize = 64;

pub struct EndoBubbles;

static INFO: Info = Info {
    id: "endo_bubbles",
    category: Category::Medical,
    modality: Some(Modality::Endoscopy),
    model: "fluid bubbles from a fixed nested list of 64: magnifying lens warp inside, bright rim and highlights; bubble i weight clamp(s*64 - i, 0, 1)",
    strength_name: "coverage (fraction of the bubble list shown)",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _endo_bubbles (fixed nested list here)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Endoscopy, "endo_bubbles"),
};

/// One rendered bubble: interior coverage, white overlay and lens-warped interior colour over
/// one box. Also uploaded as-is by the CUDA wrapper (src/backend/cuda/endoscopy.rs).
pub struct Bubble {
    pub sprite: Sprite,
    /// white-overlay alpha over the same box
    pub white: Vec<f32>,
    /// interior colour per channel over the same box (planar, channels * box)
    pub interior: Vec<f32>,
}

/// Bilinear sample of a plane at (x, y) with the reflect border.
fn sample(plane: &[f32], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (tx, ty) = (x - x0, y - y0);
    let (x0, y0) = (x0 as isize, y0 as isize);
    let at = |xi: isize, yi: isize| plane[reflect_index(yi, h) * w + reflect_index(xi, w)];
    let top = at(x0, y0) * (1.0 - tx) + at(x0 + 1, y0) * tx;
    let bot = at(x0, y0 + 1) * (1.0 - tx) + at(x0 + 1, y0 + 1) * tx;
    top * (1.0 - ty) + bot * ty
}

impl Perturbation for EndoBubbles {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped {
            img,
            bubbles: bubble_list(img, ctx),
        }))
    }
}

/// The strength-independent list of `N` bubbles rendered against the clean `img` (None where a
/// bubble misses the image), drawn from (seed, image) as `prepare` does. The CUDA wrapper uploads
/// these same renderings.
pub fn bubble_list(img: &Image, ctx: &Ctx) -> Vec<Option<Bubble>> {
    let rng = ctx.rng(INFO.id);
    let (w, h) = (img.width, img.height);
    let size = w.min(h) as f32;
    let mut bubbles = Vec::with_capacity(N);
    for i in 0..N {
        let u = rng.object(0, i as u32, 3);
        let (cx, cy) = (u[0] * w as f32, u[1] * h as f32);
        let r = size * (0.02 + 0.06 * u[2]);
        let rim = (0.12 * r).max(1.0);
        let ext = r + rim + 1.0;
        let Some(sprite) =
            Sprite::from_fn(w, h, (cx - ext, cy - ext, cx + ext, cy + ext), |x, y| {
                disc_coverage(((x - cx).powi(2) + (y - cy).powi(2)).sqrt(), r, 1.0)
            })
        else {
            bubbles.push(None);
            continue;
        };
        let n = sprite.w * sprite.h;
        let mut white = vec![0.0f32; n];
        let mut interior = vec![0.0f32; n * img.channels];
        let (h1x, h1y, h1s) = (cx - 0.4 * r, cy - 0.4 * r, 0.14 * r);
        let (h2x, h2y, h2s) = (cx + 0.35 * r, cy + 0.35 * r, 0.08 * r);
        for yy in 0..sprite.h {
            for xx in 0..sprite.w {
                let (x, y) = ((sprite.x0 + xx) as f32, (sprite.y0 + yy) as f32);
                let (dx, dy) = (x - cx, y - cy);
                let d = (dx * dx + dy * dy).sqrt();
                let k = yy * sprite.w + xx;
                let mut a = 0.9 * ring_profile(d, r, rim);
                union_alpha(
                    &mut a,
                    (-((x - h1x).powi(2) + (y - h1y).powi(2)) / (2.0 * h1s * h1s)).exp(),
                );
                union_alpha(
                    &mut a,
                    0.7 * (-((x - h2x).powi(2) + (y - h2y).powi(2)) / (2.0 * h2s * h2s)).exp(),
                );
                white[k] = a;
                let q = (d / r).min(1.0);
                let m = 0.55 + 0.45 * q * q;
                for c in 0..img.channels {
                    let v = sample(img.plane(c), w, h, cx + dx * m, cy + dy * m);
                    interior[c * n + k] = v + 0.1 * (1.0 - v);
                }
            }
        }
        bubbles.push(Some(Bubble {
            sprite,
            white,
            interior,
        }));
    }
    bubbles
}

struct Prepped<'a> {
    img: &'a Image,
    /// indexed by list position; None where the bubble misses the image
    bubbles: Vec<Option<Bubble>>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        let w = self.img.width;
        for (c, plane) in out.planes_mut().enumerate() {
            // reverse list order: bubble 0 ends on top, so a bubble fading in lies beneath the ones
            // already shown and never uncovers (restores) pixels they hide: nested and monotone
            for (i, b) in self.bubbles.iter().enumerate().rev() {
                let wt = prefix_weight(s.min(1.0), N, i);
                let Some(b) = b else { continue };
                if wt <= 0.0 {
                    continue;
                }
                let n = b.sprite.w * b.sprite.h;
                for yy in 0..b.sprite.h {
                    let row = (b.sprite.y0 + yy) * w + b.sprite.x0;
                    for xx in 0..b.sprite.w {
                        let k = yy * b.sprite.w + xx;
                        let idx = row + xx;
                        let a_in = wt * b.sprite.alpha[k];
                        let mut v = plane[idx] * (1.0 - a_in) + a_in * b.interior[c * n + k];
                        v += (1.0 - v) * wt * b.white[k];
                        plane[idx] = v.clamp(0.0, 1.0);
                    }
                }
            }
        }
        out
    }
}
