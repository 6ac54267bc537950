//! `path_bubbles`: air bubbles trapped under the coverslip. Inside a bubble there is no mounting
//! medium, so the tissue looks washed out towards the bright background; the air/medium interface
//! refracts light away from the objective and draws a thick dark rim with a thin bright
//! (refractile) line just inside it.
//!
//! Model: a fixed list of `N = 28` bubbles (centre, radius 7-20 % of min(W, H)) drawn once per
//! (seed, image). `bg_c` = the 92nd percentile of channel c (the slide background, as the
//! reference). Bubble i, with weight `w = clamp(s * N - i, 0, 1)` ([`prefix_weight`]), is
//! composited in REVERSE list order (bubble 0 on top, see `apply`):
//! - interior (anti-aliased disc): `x <- x (1 - 0.7 w a) + 0.7 w a bg_c`,
//! - dark rim (ring at d = r, half-width max(1.2, 0.07 r) px): `x <- x (1 - 0.55 w a_rim)`,
//! - refractile line (ring at d = r - 2.5 half-widths, half-width max(0.8, 0.035 r)):
//!   `x <- x + (1 - x) 0.5 w a_line`.
//!
//! s in [0, 1] is thus opacity and coverage at once (bubbles fade in one after another): the
//! result is nested and continuous in s.
//!
//! Source: reference SEG `_path_bubble_artifacts` (circles blended toward the 92nd-percentile
//! background, inner ring x1.08, outer ring x0.82-0.92; integer count re-drawn there);
//! MedMNIST-C `Bubble`.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::objects::{disc_coverage, prefix_weight, ring_profile, Sprite};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const N: usize = 28;

pub struct PathBubbles;

static INFO: Info = Info {
    id: "path_bubbles",
    category: Category::Medical,
    modality: Some(Modality::Pathology),
    model: "coverslip air bubbles from a fixed nested list of 28: interior blended 70% to the 92nd-percentile background, dark rim, bright refractile line; bubble i weight clamp(s*28 - i, 0, 1)",
    strength_name: "coverage/opacity (fraction of the bubble list shown)",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _path_bubble_artifacts (fixed nested list here); MedMNIST-C Bubble",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Pathology, "path_bubbles"),
};

/// One bubble: interior disc coverage, dark-rim and refractile-line profiles over one box. Also
/// uploaded as-is by the CUDA wrapper (src/backend/cuda/pathology.rs).
pub struct Bubble {
    pub interior: Sprite,
    pub rim: Vec<f32>,
    pub line: Vec<f32>,
}

/// The slide background `bg_c` per channel: the 92nd percentile of each plane (the CUDA wrapper
/// uploads these same values).
pub fn background(img: &Image) -> Vec<f32> {
    img.planes().map(|p| percentile(p, 0.92)).collect()
}

/// The q-quantile (nearest rank) of a plane.
fn percentile(plane: &[f32], q: f32) -> f32 {
    let mut v = plane.to_vec();
    v.sort_by(f32::total_cmp);
    v.get(((v.len() as f32 - 1.0) * q).round() as usize)
        .copied()
        .unwrap_or(1.0)
}

impl Perturbation for PathBubbles {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped {
            img,
            bg: background(img),
            bubbles: bubble_list(img.width, img.height, ctx),
        }))
    }
}

/// The strength-independent list of `N` bubbles of a `w x h` image (None where a bubble misses
/// the image), drawn from (seed, image) as `prepare` does. The CUDA wrapper uploads these same
/// sprites.
pub fn bubble_list(w: usize, h: usize, ctx: &Ctx) -> Vec<Option<Bubble>> {
    let rng = ctx.rng(INFO.id);
    let size = w.min(h) as f32;
    (0..N)
        .map(|i| {
            let u = rng.object(0, i as u32, 3);
            let (cx, cy) = (u[0] * w as f32, u[1] * h as f32);
            let r = size * (0.07 + 0.13 * u[2]);
            let rim_hw = (0.07 * r).max(1.2);
            let line_hw = (0.035 * r).max(0.8);
            let line_r = r - 2.5 * rim_hw;
            let ext = r + rim_hw + 1.0;
            let dist = |x: f32, y: f32| ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
            let interior =
                Sprite::from_fn(w, h, (cx - ext, cy - ext, cx + ext, cy + ext), |x, y| {
                    disc_coverage(dist(x, y), r, 1.5)
                })?;
            let mut rim = Vec::with_capacity(interior.alpha.len());
            let mut line = Vec::with_capacity(interior.alpha.len());
            for yy in 0..interior.h {
                for xx in 0..interior.w {
                    let d = dist((interior.x0 + xx) as f32, (interior.y0 + yy) as f32);
                    rim.push(ring_profile(d, r, rim_hw));
                    line.push(ring_profile(d, line_r, line_hw));
                }
            }
            Some(Bubble {
                interior,
                rim,
                line,
            })
        })
        .collect()
}

struct Prepped<'a> {
    img: &'a Image,
    bg: Vec<f32>,
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
            let bg = self.bg[c];
            // reverse list order: bubble 0 ends on top and a bubble fading in lies beneath those
            // already shown (drawn on top it could lift their dark rims back towards the clean
            // values: a measured SSIM up-step)
            for (i, b) in self.bubbles.iter().enumerate().rev() {
                let wt = prefix_weight(s.min(1.0), N, i);
                if wt <= 0.0 {
                    continue;
                }
                let Some(b) = b else { continue };
                let sp = &b.interior;
                for yy in 0..sp.h {
                    let row = (sp.y0 + yy) * w + sp.x0;
                    for xx in 0..sp.w {
                        let k = yy * sp.w + xx;
                        let a = 0.7 * wt * sp.alpha[k];
                        let mut v = plane[row + xx] * (1.0 - a) + a * bg;
                        v *= 1.0 - 0.55 * wt * b.rim[k];
                        v += (1.0 - v) * 0.5 * wt * b.line[k];
                        plane[row + xx] = v.clamp(0.0, 1.0);
                    }
                }
            }
        }
        out
    }
}
