//! `ct_photon_starvation`: low-dose / photon-starved quantum noise, signal dependent:
//! `x + s * sqrt(x + eps) * N`, N ~ N(0, 1) fixed per (seed, image), eps = 0.01 (so air still gets
//! a little noise). Brighter (denser, more attenuating) regions receive fewer photons and get more
//! noise. The same N is used for every channel (CT is grey).
//! Source: reference SEG `_ct_photon_starvation` `x + N(0, sigma sqrt(|x| + 1))` (whose strength the
//! reference ignores; ours scales the noise).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::grey::{pointwise, pointwise_u8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct CtPhotonStarvation;

const EPS: f32 = 0.01;

const INFO: Info = Info {
    id: "ct_photon_starvation",
    category: Category::Medical,
    modality: Some(Modality::Ct),
    model:
        "x + s sqrt(x + 0.01) N, N ~ N(0,1) fixed per image (signal-dependent quantum noise), clip",
    strength_name: "noise sigma at x = 1 (fraction of range)",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "reference SEG _ct_photon_starvation (strength made effective)",
    monotone_tolerance: 0.0,
    device: Device::search_op(Family::Ct, "ct_pointwise", "MFR_CT_PHOTON_STARVATION", 1),
};

struct Prep<'a> {
    img: &'a Image,
    noise: Vec<f32>,
}

impl Perturbation for CtPhotonStarvation {
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
        move |i, v| v + s * (v.max(0.0) + EPS).sqrt() * self.noise[i]
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
