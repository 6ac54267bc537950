//! `ct_metal_streaks`: streaks from metal (prostheses, fillings, clips) in filtered
//! back-projection. Rays through metal are photon-starved and beam-hardened; after filtering
//! they become alternating bright and dark lines through the metal, strongest near it, plus a dark
//! band along the line joining two metal objects.
//!
//! Model (image domain): 1 or 2 metal points (fixed per seed) inside the body (within half of
//! `r_max` of the body centre, [`BodyGeometry`]); through each, K = 10-16 lines at fixed
//! angles with alternating sign; a line's profile is Gaussian across (sigma 0.8-1.6 px at 256 px)
//! and decays as `exp(-|t| / (0.7 r_max))` along it. With two metals a dark band (sign -1, twice
//! as wide) joins them. The metal itself is a saturated disc. The field F (sum of all lines) is
//! drawn in `prepare`; the output is `clip(x + s F)`, the same on every channel. Range 0-2 so SSIM
//! L5 is reachable on typical slices.
//! Source: reference VLM `ct_metal` (lines added with amplitude a) and SEG `_ct_metal_artifacts`
//! (radial lines `x (1 +- 0.15 sev (1 - t/L))` from a random point, strength ignored there);
//! physics: ADN / CNN-MAR metal-artefact simulation (sinogram domain), not reproduced here.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::body::{mean_plane, BodyGeometry};
use crate::perturb::common::grey::{pointwise, pointwise_u8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};
use rayon::prelude::*;

pub struct CtMetalStreaks;

const INFO: Info = Info {
    id: "ct_metal_streaks",
    category: Category::Medical,
    modality: Some(Modality::Ct),
    model: "x + s F: alternating bright/dark lines through 1-2 fixed metal points, decaying away from the metal, dark band between metals, saturated metal disc; clip",
    strength_name: "streak amplitude (fraction of range)",
    strength_range: (0.0, 2.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "reference VLM ct_metal / SEG _ct_metal_artifacts (strength made effective); ADN, CNN-MAR for the physics",
    monotone_tolerance: 0.0,
    device: Device::search_op(Family::CtMetalStreaks, "ct_pointwise", "MFR_CT_METAL_STREAKS", 3),
};

struct Line {
    ox: f32,
    oy: f32,
    dx: f32,
    dy: f32,
    sign: f32,
    sigma: f32,
    /// Only the segment 0 <= t <= len is drawn when `segment` (the band between two metals).
    segment: Option<f32>,
}

struct Prep<'a> {
    img: &'a Image,
    field: Vec<f32>,
}

impl Perturbation for CtMetalStreaks {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prep {
            img,
            field: metal_streak_field(img, ctx),
        }))
    }
}

/// The strength-independent streak field F of `img` (w * h values, shared by every channel),
/// drawn from `ctx` as `prepare` does; `apply(s)` is `clip(x + s F)` (NaN -> 0). Public so the
/// CUDA wrapper (src/backend/cuda/ct.rs) uploads exactly the CPU's field.
pub fn metal_streak_field(img: &Image, ctx: &Ctx) -> Vec<f32> {
    let rng = ctx.rng(INFO.id);
    let (w, h) = (img.width, img.height);
    let geom = BodyGeometry::of(&mean_plane(&img.data, w, h, img.channels), w, h);
    let scale = (w.min(h) as f32 / 256.0).max(0.25);
    let n_metal = if rng.param(0) < 0.5 { 1 } else { 2 };
    let rho = geom.r_max as f32 * rng.param_range(1, 0.15, 0.5);
    let phi = rng.param_range(2, 0.0, std::f32::consts::TAU);
    let mut metals = vec![(
        geom.cx as f32 + rho * phi.cos(),
        geom.cy as f32 + rho * phi.sin(),
    )];
    if n_metal == 2 {
        // the second object roughly mirrored through the centre (e.g. bilateral hip implants)
        let rho2 = rho * rng.param_range(3, 0.8, 1.2);
        let phi2 = phi + std::f32::consts::PI + rng.param_range(4, -0.4, 0.4);
        metals.push((
            geom.cx as f32 + rho2 * phi2.cos(),
            geom.cy as f32 + rho2 * phi2.sin(),
        ));
    }
    let mut lines = Vec::new();
    for (m, &(ox, oy)) in metals.iter().enumerate() {
        let k = 10 + (rng.object(0, m as u32, 1)[0] * 7.0).floor().min(6.0) as usize;
        for j in 0..k {
            let u = rng.object(1 + m as u32, j as u32, 2);
            let theta = std::f32::consts::PI * (j as f32 + 0.8 * (u[0] - 0.5)) / k as f32;
            let sign = if j % 2 == 0 { 1.0 } else { -1.0 };
            lines.push(Line {
                ox,
                oy,
                dx: theta.cos(),
                dy: theta.sin(),
                sign,
                sigma: scale * (0.8 + 0.8 * u[1]),
                segment: None,
            });
        }
    }
    if let [(ax, ay), (bx, by)] = metals[..] {
        let len = ((bx - ax).powi(2) + (by - ay).powi(2)).sqrt().max(1.0);
        lines.push(Line {
            ox: ax,
            oy: ay,
            dx: (bx - ax) / len,
            dy: (by - ay) / len,
            sign: -1.0,
            sigma: 2.0 * scale * 1.6,
            segment: Some(len),
        });
    }
    let decay = 0.7 * geom.r_max as f32;
    let metal_r = (0.035 * geom.r_max as f32).max(1.0);
    let mut field = vec![0.0f32; w * h];
    field.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for (x, f) in row.iter_mut().enumerate() {
            let (px, py) = (x as f32, y as f32);
            let mut acc = 0.0f32;
            for l in &lines {
                let (rx, ry) = (px - l.ox, py - l.oy);
                let t = rx * l.dx + ry * l.dy;
                let perp = rx * l.dy - ry * l.dx;
                let z = perp / l.sigma;
                if z.abs() > 5.0 {
                    continue;
                }
                let along = match l.segment {
                    Some(len) => {
                        let out = (-t).max(t - len).max(0.0);
                        (-out / (4.0 * l.sigma)).exp()
                    }
                    None => (-t.abs() / decay).exp(),
                };
                acc += l.sign * along * (-0.5 * z * z).exp();
            }
            for &(mx, my) in &metals {
                let d = ((px - mx).powi(2) + (py - my).powi(2)).sqrt();
                if d < metal_r + 1.0 {
                    acc += 3.0 * (metal_r + 1.0 - d).min(1.0);
                }
            }
            *f = acc;
        }
    });
    field
}

impl Prep<'_> {
    /// The per-sample model `f(i, v)` at strength `s` (the contract of `grey::map_pixels`).
    fn model(&self, s: f32) -> impl Fn(usize, f32) -> f32 + Sync + '_ {
        move |i, v| v + s * self.field[i]
    }
}

impl Prepared for Prep<'_> {
    fn apply(&self, s: f32) -> Image {
        pointwise(self.img, s, self.model(s))
    }

    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        pointwise_u8(self.img, s, self.model(s), out)
    }
}
