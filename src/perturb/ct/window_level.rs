//! `ct_window_level`: the display window mis-set. The image is taken as displayed through the
//! full window [0, 1]; the perturbed window has centre `0.5 + s u` and width `1 - s / 2` (both on the
//! [0, 1] scale, i.e. fractions of the displayed range), `u = +-U(0.25, 0.5)` fixed per seed, and the
//! output is `clip((x - lo) / width)` with `lo = centre - width / 2`. At s = 0 this is exactly x.
//! Range 0-1.5 (width down to a quarter of the range) so SSIM L5 is reachable whatever the sign
//! of u; the reference VLM `window_level` used 0.1-0.5 and re-drew u at every call.
//! Source: reference VLM `window_level` (centre += U(+-s) range, width = range (1 - s/2)).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::grey::{pointwise, pointwise_u8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct CtWindowLevel;

const INFO: Info = Info {
    id: "ct_window_level",
    category: Category::Medical,
    modality: Some(Modality::Ct),
    model: "window centre 0.5 + s u (u = +-U(0.25, 0.5) per seed), width 1 - s/2; clip((x - lo) / width)",
    strength_name: "window mis-set (centre shift s u, width 1 - s/2)",
    strength_range: (0.0, 1.5),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "reference VLM window_level (u fixed per seed instead of re-drawn)",
    monotone_tolerance: 0.0,
    device: Device::search_op(Family::Ct, "ct_pointwise", "MFR_CT_WINDOW_LEVEL", 0),
};

struct Prep<'a> {
    img: &'a Image,
    u: f32,
}

impl Perturbation for CtWindowLevel {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let rng = ctx.rng(INFO.id);
        let u = rng.param_sign(1) * rng.param_range(0, 0.25, 0.5);
        Ok(Box::new(Prep { img, u }))
    }
}

impl Prep<'_> {
    /// The per-sample model `f(i, v)` at strength `s` (the contract of `grey::map_pixels`).
    fn model(&self, s: f32) -> impl Fn(usize, f32) -> f32 + Sync + '_ {
        let width = 1.0 - s / 2.0;
        let lo = 0.5 + s * self.u - width / 2.0;
        move |_, v| (v - lo) / width
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
