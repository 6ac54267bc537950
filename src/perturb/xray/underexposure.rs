//! `xray_underexposure`: too little dose: the image is darker AND noisier (quantum noise).
//!
//! Model: with dose fraction `f = 1 - s`, the detector signal scales to `f x`; the quantum noise
//! of the full-dose image (variance `x / N0` at f = 1, N0 = 400 photons per pixel at x = 1) grows to
//! the variance of dose f, so the noise added on top of the darkened image has variance
//! `f (1 - f) x / N0`: `f x + sqrt(f (1 - f) x / N0) * N`, N ~ N(0, 1) fixed per image, clip.
//! At s = 0 (f = 1) nothing is added: the identity. The noise-to-signal ratio
//! `sqrt((1 - f) / (f x N0))` grows monotonically with s. Not just `x f`: SSIM with min-max
//! normalisation (the reference protocol) cannot see a pure gain, and real low-dose images are
//! noisy. Range 0-0.95.
//! Source: reference VLM `xray_underexposure` (`x f`, f = 0.85-0.25); low-dose simulation by
//! added Poisson/Gaussian noise (e.g. Veldkamp et al. 2009).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::grey::{pointwise, pointwise_u8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct XrayUnderexposure;

/// Photons per pixel at x = 1 and full dose.
pub const N0: f32 = 400.0;

const INFO: Info = Info {
    id: "xray_underexposure",
    category: Category::Medical,
    modality: Some(Modality::Xray),
    model: "f x + sqrt(f (1 - f) x / N0) N, f = 1 - s, N0 = 400, N fixed per image: darker and noisier (quantum noise); clip",
    strength_name: "dose reduction 1 - f",
    strength_range: (0.0, 0.95),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "reference VLM xray_underexposure (x f) plus quantum noise",
    monotone_tolerance: 0.0,
    device: Device::search_op(Family::Xray, "xray_pointwise", "MFR_XRAY_UNDEREXPOSURE", 1),
};

struct Prep<'a> {
    img: &'a Image,
    noise: Vec<f32>,
}

impl Perturbation for XrayUnderexposure {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let mut noise = vec![0.0f32; img.plane_len()];
        ctx.rng(INFO.id).fill_normal(0, &mut noise);
        Ok(Box::new(Prep { img, noise }))
    }
}

impl Prep<'_> {
    /// The per-sample model `f(i, v)` at strength `s` (the contract of `grey::map_pixels`).
    fn model(&self, s: f32) -> impl Fn(usize, f32) -> f32 + Sync + '_ {
        let f = 1.0 - s;
        let k = f * (1.0 - f) / N0;
        move |i, v| f * v + (k * v.max(0.0)).sqrt() * self.noise[i]
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
