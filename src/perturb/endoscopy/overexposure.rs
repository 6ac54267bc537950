//! `endo_overexposure`: the light source too close to the mucosa ("light reflection",
//! auto-exposure lag): large soft regions burn out towards white.
//!
//! Model: a fixed set of `N = 5` large Gaussian blobs (centre in the central 80 % of each axis,
//! `sigma_i` = 12-25 % of min(W, H)) drawn once per (seed, image); their union `m = 1 - prod(1 - g_i)` (g_i peak 1) is a
//! fixed smooth field. `a = min(1, s * m)` and `out = x + (1 - x) * a` on every channel: the blob
//! cores reach pure white at s = 1 and the burnt-out area keeps growing up to s = 2 (range
//! 0-2, catalogue start 0-1: at s = 1 the phantom's SSIM is 0.44-0.6 depending on the blob draw,
//! so L5 is marginal there; near-total saturation gave measured SSIM up-steps of 3e-4 to 8e-4 at
//! s = 2.5-2.9 (partly saturated windows lose the structure the blend gradient added), so the
//! range stops at 2).
//!
//! Source: reference SEG `_endo_saturation` (15r soft blobs, mask x8r, blended toward the channel
//! max; blob count re-drawn there, fixed here).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::objects::union_alpha;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const N: usize = 5;

pub struct EndoOverexposure;

static INFO: Info = Info {
    id: "endo_overexposure",
    category: Category::Medical,
    modality: Some(Modality::Endoscopy),
    model:
        "light source too close: 5 fixed large soft blobs m, x + (1-x)*min(1, s*m) (blend to white)",
    strength_name: "blob gain",
    strength_range: (0.0, 2.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _endo_saturation (fixed blob list here)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Endoscopy, "endo_overexposure"),
};

impl Perturbation for EndoOverexposure {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped {
            img,
            field: overexposure_field(img.width, img.height, ctx),
        }))
    }
}

/// The strength-independent blob union `m = 1 - prod(1 - g_i)` of a `w x h` image (row-major
/// `w * h`), drawn from (seed, image) as `prepare` does. Also the host-prepared field of the CUDA
/// kernel (kernels/endoscopy.cu `endo_overexposure`), so both use this one function.
pub fn overexposure_field(w: usize, h: usize, ctx: &Ctx) -> Vec<f32> {
    let rng = ctx.rng(INFO.id);
    let size = w.min(h) as f32;
    let blobs: Vec<(f32, f32, f32)> = (0..N)
        .map(|i| {
            let u = rng.object(0, i as u32, 3);
            (
                w as f32 * (0.1 + 0.8 * u[0]),
                h as f32 * (0.1 + 0.8 * u[1]),
                size * (0.12 + 0.13 * u[2]),
            )
        })
        .collect();
    let mut field = vec![0.0f32; w * h];
    for (i, m) in field.iter_mut().enumerate() {
        let (x, y) = ((i % w) as f32, (i / w) as f32);
        for &(cx, cy, sg) in &blobs {
            let d2 = (x - cx).powi(2) + (y - cy).powi(2);
            union_alpha(m, (-d2 / (2.0 * sg * sg)).exp());
        }
    }
    field
}

struct Prepped<'a> {
    img: &'a Image,
    field: Vec<f32>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        for plane in out.planes_mut() {
            plane.iter_mut().zip(&self.field).for_each(|(v, m)| {
                let a = (s * m).min(1.0);
                *v = (*v + (1.0 - *v) * a).clamp(0.0, 1.0);
            });
        }
        out
    }
}
