//! `xray_grid`: a stationary anti-scatter grid (or one whose motion failed) leaves periodic
//! line shadows: `x * (1 - s * (1 + cos(2 pi y / p)) / 2)`, lines along the image rows, period
//! p px fixed per seed in [3, 8) (grid line frequencies of 30-80 lines/cm at typical pixel pitch
//! give a few pixels per period). At s = 1 the darkest rows go black.
//! Source: reference VLM `xray_grid_artifact` (every 4th row times 1 - g); smooth cosine profile
//! so that s and p are continuous.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::grey::{pointwise, pointwise_u8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct XrayGrid;

const INFO: Info = Info {
    id: "xray_grid",
    category: Category::Medical,
    modality: Some(Modality::Xray),
    model: "x (1 - s (1 + cos(2 pi y / p)) / 2), period p in [3, 8) px fixed per image",
    strength_name: "grid line depth",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "reference VLM xray_grid_artifact (cosine profile)",
    monotone_tolerance: 0.0,
    device: Device::search_op(Family::Xray, "xray_pointwise", "MFR_XRAY_GRID", 3),
};

/// The grid period (px) drawn for this (seed, image).
pub fn grid_period(ctx: &Ctx) -> f32 {
    ctx.rng(INFO.id).param_range(0, 3.0, 8.0)
}

/// `1 - s (1 + cos(2 pi y / p)) / 2` for row y.
#[inline]
pub fn grid_factor(y: usize, period: f32, s: f32) -> f32 {
    1.0 - s * (1.0 + (std::f32::consts::TAU * y as f32 / period).cos()) / 2.0
}

struct Prep<'a> {
    img: &'a Image,
    /// (1 + cos(2 pi y / p)) / 2 per row.
    rows: Vec<f32>,
}

impl Perturbation for XrayGrid {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let p = grid_period(ctx);
        let rows = (0..img.height)
            .map(|y| 1.0 - grid_factor(y, p, 1.0))
            .collect();
        Ok(Box::new(Prep { img, rows }))
    }
}

impl Prep<'_> {
    /// The per-sample model `f(i, v)` at strength `s` (the contract of `grey::map_pixels`).
    fn model(&self, s: f32) -> impl Fn(usize, f32) -> f32 + Sync + '_ {
        let w = self.img.width.max(1);
        move |i, v| v * (1.0 - s * self.rows[i / w])
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
