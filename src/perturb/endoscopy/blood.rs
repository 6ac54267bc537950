//! `endo_blood`: blood on the mucosa or the lens: red-shifted soft blobs. Haemoglobin absorbs
//! green and blue far more than red, so a film of blood of optical thickness m transmits
//! `T_c^m` of channel c (Beer-Lambert) with `T = (0.70, 0.12, 0.16)` (R, G, B) per unit thickness:
//! G and B are attenuated more than R, the region turns dark red.
//!
//! Model: a fixed list of `N = 24` blobs (centre, radius 7-21 % of min(W, H), an irregular
//! boundary `rho(theta) = r (1 + 0.2 sin(2 theta + p1) + 0.12 sin(3 theta + p2))`, thickness
//! profile `clamp(3 (1 - d / rho), 0, 1)`: flat pool with a soft edge) drawn once per
//! (seed, image). Strength s in [0, 1] is the coverage: blob i has weight
//! `clamp(s * N - i, 0, 1)` ([`prefix_weight`]); thicknesses add, `m = sum_i w_i b_i`,
//! `out_c = x_c * T_c^m`.
//!
//! Monotonicity: SSIM is non-increasing except for tiny up-steps (largest measured 2e-5, on a
//! grey phantom at SSIM 0.38, far below L5): where an earlier blob covers half of an SSIM window,
//! a later blob darkening the other half makes the window uniformly scaled again, which restores
//! some local structure. `monotone_tolerance` is 1e-4 for this reason.
//!
//! Grey input: the model works on luminance with the BT.601-weighted transmittance
//! `T_Y = 0.299 T_R + 0.587 T_G + 0.114 T_B` (about 0.30): the blood appears as dark soft blobs.
//! This is the documented luminance reading of the colour model (catalogue rule 6).
//!
//! Source: reference SEG `_endo_blood` (20c soft ellipses, R x(1 - 0.1m), G,B x(1 - 0.5m); count
//! re-drawn there); ImageNet-C `spatter` (mud). Beer-Lambert absorption of haemoglobin.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::objects::{prefix_weight, Sprite};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const N: usize = 24;
/// Per-unit-thickness transmittance (R, G, B).
pub const BLOOD_T: [f32; 3] = [0.70, 0.12, 0.16];

pub struct EndoBlood;

static INFO: Info = Info {
    id: "endo_blood",
    category: Category::Medical,
    modality: Some(Modality::Endoscopy),
    model: "blood film, Beer-Lambert: x_c * T_c^m, T = (0.70, 0.12, 0.16), m the thickness of a fixed nested list of 24 irregular soft blobs (blob i weight clamp(s*24 - i, 0, 1)); grey: luminance transmittance",
    strength_name: "coverage (fraction of the blob list shown)",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::PrefersRgb,
    source: "MedFM-Robust SEG _endo_blood (fixed nested list here); ImageNet-C spatter",
    // overlapping multiplicative blobs: see the module doc (measured up-step 2e-5)
    monotone_tolerance: 1e-4,
    device: Device::search(Family::Endoscopy, "endo_blood"),
};

impl Perturbation for EndoBlood {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let blobs = blood_blobs(img.width, img.height, ctx);
        let log_t = blood_log_transmittance(img.channels);
        Ok(Box::new(Prepped { img, blobs, log_t }))
    }
}

/// The strength-independent list of `N` blob thickness sprites of a `w x h` image (None where a
/// blob misses the image), drawn from (seed, image) as `prepare` does. The CUDA wrapper uploads
/// these same sprites (src/backend/cuda/endoscopy.rs).
pub fn blood_blobs(w: usize, h: usize, ctx: &Ctx) -> Vec<Option<Sprite>> {
    let rng = ctx.rng(INFO.id);
    let size = w.min(h) as f32;
    (0..N)
        .map(|i| {
            let u = rng.object(0, i as u32, 5);
            let (cx, cy) = (u[0] * w as f32, u[1] * h as f32);
            let r = size * (0.07 + 0.14 * u[2]);
            let (p1, p2) = (u[3] * std::f32::consts::TAU, u[4] * std::f32::consts::TAU);
            let ext = 1.35 * r;
            Sprite::from_fn(w, h, (cx - ext, cy - ext, cx + ext, cy + ext), |x, y| {
                let (dx, dy) = (x - cx, y - cy);
                let d = (dx * dx + dy * dy).sqrt();
                let th = dy.atan2(dx);
                let rho = r * (1.0 + 0.2 * (2.0 * th + p1).sin() + 0.12 * (3.0 * th + p2).sin());
                3.0 * (1.0 - d / rho)
            })
        })
        .collect()
}

/// `ln T_c` per channel of an image with `channels` channels: the RGB transmittances for 3
/// channels, the BT.601 luminance transmittance on every channel otherwise.
pub fn blood_log_transmittance(channels: usize) -> Vec<f32> {
    let transmittance = if channels == 3 {
        BLOOD_T.to_vec()
    } else {
        vec![0.299 * BLOOD_T[0] + 0.587 * BLOOD_T[1] + 0.114 * BLOOD_T[2]; channels]
    };
    transmittance.iter().map(|t| t.ln()).collect()
}

struct Prepped<'a> {
    img: &'a Image,
    blobs: Vec<Option<Sprite>>,
    log_t: Vec<f32>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        let w = self.img.width;
        let mut m = vec![0.0f32; self.img.plane_len()];
        for (i, b) in self.blobs.iter().enumerate() {
            let wt = prefix_weight(s.min(1.0), N, i);
            if let (Some(b), true) = (b, wt > 0.0) {
                b.for_each(w, |idx, a| m[idx] += wt * a);
            }
        }
        for (c, plane) in out.planes_mut().enumerate() {
            let lt = self.log_t[c.min(self.log_t.len() - 1)];
            plane.iter_mut().zip(&m).for_each(|(v, &mi)| {
                if mi > 0.0 {
                    *v = (*v * (lt * mi).exp()).clamp(0.0, 1.0);
                }
            });
        }
        out
    }
}
