//! `derm_hair`: occluding hairs between the lens and the skin: thin dark curved strokes.
//!
//! Model: a fixed list of `N = 60` hairs drawn once per (seed, image): each a cubic Bezier from a
//! random start point, random direction, length 0.3-0.8 of the image size and a random bend,
//! half-width 0.4-1.2 px scaled by `min(W, H) / 256` (at least 0.4 px), colour a dark brown-black
//! (RGB about (0.10, 0.07, 0.05) times a per-hair shade in [0.5, 1]; its BT.601 luminance on grey
//! images). Strength s in [0, 1] is the list fraction: hair i is composited with weight
//! `clamp(s * N - i, 0, 1)` ([`prefix_weight`]), i.e. hairs fade in one after another (count grows
//! continuously), `out = x * (1 - w a) + w a * colour`, `a` the anti-aliased stroke coverage.
//! Hairs are composited in list order, so the result is nested in s.
//!
//! Source: reference SEG `_derm_hair_artifacts` (3*sev cubic Beziers, thickness sev//2+1, 3x3
//! blur, alpha-blended to 0.2*min; strength ignored there); Katsch/Rinner/Tschandl 2022 hair
//! templates.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::objects::{prefix_weight, Sprite};
use crate::perturb::common::strokes::bezier_stroke;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

/// Hairs in the fixed list (`N` of the model).
pub const HAIR_COUNT: usize = 60;
const N: usize = HAIR_COUNT;
const HAIR_RGB: [f32; 3] = [0.10, 0.07, 0.05];

pub struct DermHair;

static INFO: Info = Info {
    id: "derm_hair",
    category: Category::Medical,
    modality: Some(Modality::Dermoscopy),
    model: "dark hairs: cubic Bezier strokes from a fixed list of 60, hair i blended in with weight clamp(s*60 - i, 0, 1)",
    strength_name: "fraction of the hair list shown",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _derm_hair_artifacts; Katsch/Rinner/Tschandl 2022",
    monotone_tolerance: 0.0,
    device: Device::search(Family::DermPrepared, "derm_hair"),
};

impl Perturbation for DermHair {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let (hairs, colour) = hair_list(img, ctx);
        Ok(Box::new(Prepped { img, hairs, colour }))
    }
}

/// A hair of the fixed list: (list index i, anti-aliased coverage sprite, shade in [0.5, 1]).
pub type Hair = (usize, Sprite, f32);

/// The strength-independent hair list of `img` (only hairs that touch the image, in list order)
/// and the hair colour per channel (RGB, or its BT.601 luminance on every channel otherwise),
/// drawn from `ctx` as `prepare` does. `apply(s)` composites hair i with weight
/// `prefix_weight(min(s, 1), HAIR_COUNT, i)` in list order. Public so the CUDA wrapper
/// (src/backend/cuda/dermoscopy.rs) uploads exactly the CPU's sprites.
pub fn hair_list(img: &Image, ctx: &Ctx) -> (Vec<Hair>, Vec<f32>) {
    let rng = ctx.rng(INFO.id);
    let (w, h) = (img.width as f32, img.height as f32);
    let size = w.min(h);
    let scale = (size / 256.0).max(1.0);
    let mut hairs = Vec::with_capacity(N);
    for i in 0..N {
        let u = rng.object(0, i as u32, 8);
        let (x0, y0) = (u[0] * w, u[1] * h);
        let theta = u[2] * std::f32::consts::TAU;
        let len = size * (0.3 + 0.5 * u[3]);
        let (dx, dy) = (theta.cos() * len, theta.sin() * len);
        // bend: control points pushed sideways by up to 0.3 * len, opposite or same side
        let bend = (u[4] - 0.5) * 0.6 * len;
        let bend2 = (u[5] - 0.5) * 0.6 * len;
        let (nx, ny) = (-theta.sin(), theta.cos());
        let p = [
            (x0, y0),
            (x0 + dx / 3.0 + nx * bend, y0 + dy / 3.0 + ny * bend),
            (
                x0 + 2.0 * dx / 3.0 + nx * bend2,
                y0 + 2.0 * dy / 3.0 + ny * bend2,
            ),
            (x0 + dx, y0 + dy),
        ];
        let half_width = (0.4 + 0.8 * u[6]) * scale;
        let shade = 0.5 + 0.5 * u[7];
        if let Some(sprite) = bezier_stroke(img.width, img.height, &p, half_width) {
            hairs.push((i, sprite, shade));
        }
    }
    let colour: Vec<f32> = if img.channels == 3 {
        HAIR_RGB.to_vec()
    } else {
        vec![0.299 * HAIR_RGB[0] + 0.587 * HAIR_RGB[1] + 0.114 * HAIR_RGB[2]; img.channels]
    };
    (hairs, colour)
}

struct Prepped<'a> {
    img: &'a Image,
    /// (list index, coverage sprite, shade) of the hairs that touch the image.
    hairs: Vec<Hair>,
    colour: Vec<f32>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        let w = self.img.width;
        for (c, plane) in out.planes_mut().enumerate() {
            let col = self.colour[c.min(self.colour.len() - 1)];
            for (i, sprite, shade) in &self.hairs {
                let wt = prefix_weight(s.min(1.0), N, *i);
                if wt <= 0.0 {
                    continue;
                }
                let target = col * shade;
                sprite.for_each(w, |idx, a| {
                    let a = wt * a;
                    plane[idx] = (plane[idx] * (1.0 - a) + a * target).clamp(0.0, 1.0);
                });
            }
        }
        out
    }
}
