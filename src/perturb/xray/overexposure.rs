//! `xray_overexposure`: too much dose / detector saturation burns out the image:
//! `clip(x * (1 + 2 s))`; everything above `1 / (1 + 2 s)` saturates to white.
//! Source: reference VLM `xray_overexposure` (`clip(x f)`, f = 1.15-2); range widened to
//! f = 1-5 (s = 0-2) so SSIM L5 is reachable on typical radiographs.
//!
//! Reach on real radiographs (assets/real/reach.json): L5 on the CR tibia (SSIM 0.56 at s = 1),
//! not on the CR chest, and no wider range would: at s = 2 (5 x the dose) 98% of the chest already
//! saturates, and the all-white limit (any gain) still scores SSIM 0.60 against it because most
//! of the chest is bright and locally smooth (0.604 at s = 20, gain 41). Range kept at 0-2.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::grey::{pointwise, pointwise_u8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct XrayOverexposure;

const INFO: Info = Info {
    id: "xray_overexposure",
    category: Category::Medical,
    modality: Some(Modality::Xray),
    model: "clip(x (1 + 2 s)): detector saturation",
    strength_name: "extra exposure (gain 1 + 2 s)",
    strength_range: (0.0, 2.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "reference VLM xray_overexposure",
    monotone_tolerance: 0.0,
    device: Device::search_op(Family::Xray, "xray_pointwise", "MFR_XRAY_OVEREXPOSURE", 0),
};

struct Prep<'a> {
    img: &'a Image,
}

impl Perturbation for XrayOverexposure {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prep { img }))
    }
}

impl Prep<'_> {
    /// The per-sample model `f(i, v)` at strength `s` (the contract of `grey::map_pixels`).
    fn model(&self, s: f32) -> impl Fn(usize, f32) -> f32 + Sync + '_ {
        let gain = 1.0 + 2.0 * s;
        move |_, v| v * gain
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
