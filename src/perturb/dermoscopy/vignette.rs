//! `derm_vignette`: dermatoscope lens vignetting ("dark corners": the round contact lens and its
//! housing shade the corners of a rectangular sensor).
//!
//! Model (closed form, tested against the formula): `out = x * clip(1 - s * (r / R)^k, 0, 1)` with
//! - `r` the distance of the pixel centre `(x, y)` from the image centre `((W-1)/2, (H-1)/2)`,
//! - `R = sqrt(W^2 + H^2) / 2`, the half-diagonal,
//! - `k = VIGNETTE_EXPONENT = 2` (cos^4-like quadratic fall-off).
//!
//! At s = 2 everything outside r = R/sqrt(2) (on a square image: the inscribed circle) is black,
//! the typical dark-corner look; larger s closes the circle further. Range 0-4 (catalogue start
//! 0-2): on the dermoscopy phantom L5 lies near s = 1.75; the wider range leaves margin for
//! images whose periphery carries little structure. Deterministic (no randomness).
//!
//! Source: reference SEG `_derm_artifacts` (`x*clip(1 - 0.1*sev*r/R)`, R = min(h,w)/2, strength
//! ignored there); MedMNIST-C `BlackCorner`.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

/// The fall-off exponent k of the model.
pub const VIGNETTE_EXPONENT: i32 = 2;

pub struct DermVignette;

static INFO: Info = Info {
    id: "derm_vignette",
    category: Category::Medical,
    modality: Some(Modality::Dermoscopy),
    model: "lens vignetting / dark corners: x*clip(1 - s*(r/R)^2, 0, 1), r from the image centre, R the half-diagonal",
    strength_name: "vignetting strength",
    strength_range: (0.0, 4.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _derm_artifacts (vignette part); MedMNIST-C BlackCorner",
    monotone_tolerance: 0.0,
    device: Device::search(Family::DermClosedForm, "derm_vignette"),
};

/// The gain `clip(1 - s * (r/R)^k, 0, 1)` at pixel (x, y) of a `w x h` image (definitions in the
/// module doc).
pub fn vignette_gain(x: usize, y: usize, w: usize, h: usize, s: f32) -> f32 {
    (1.0 - s * vignette_falloff(x, y, w, h)).clamp(0.0, 1.0)
}

/// `(r/R)^k` at pixel (x, y), in [0, 1] (pixel centres lie within the half-diagonal).
pub fn vignette_falloff(x: usize, y: usize, w: usize, h: usize) -> f32 {
    let (cx, cy) = ((w as f32 - 1.0) * 0.5, (h as f32 - 1.0) * 0.5);
    let r_max2 = ((w * w + h * h) as f32) * 0.25;
    let (dx, dy) = (x as f32 - cx, y as f32 - cy);
    let q = (dx * dx + dy * dy) / r_max2; // (r/R)^2
    q.powi(VIGNETTE_EXPONENT / 2)
}

impl Perturbation for DermVignette {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let (w, h) = (img.width, img.height);
        // (r/R)^k per pixel, so apply is one multiply-add per sample
        let falloff = (0..w * h)
            .map(|i| vignette_falloff(i % w, i / w, w, h))
            .collect();
        Ok(Box::new(Prepped { img, falloff }))
    }
}

struct Prepped<'a> {
    img: &'a Image,
    /// (r/R)^k per pixel
    falloff: Vec<f32>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        for plane in out.planes_mut() {
            plane
                .iter_mut()
                .zip(&self.falloff)
                .for_each(|(v, f)| *v = (*v * (1.0 - s * f).clamp(0.0, 1.0)).clamp(0.0, 1.0));
        }
        out
    }
}
