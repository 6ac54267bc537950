//! `derm_light_reflection`: glare from the immersion gel / polarised light reflecting off the
//! contact plate: a bright, white, saturating blob.
//!
//! Model: `out = clip(x + s * G(x, y))` on every channel (white light), with
//! `G = exp(-|p - c|^2 / (2 sigma^2))`, peak 1, centre `c` fixed per seed inside the middle half
//! of the image, `sigma = 0.25 * min(W, H)`. Amplitude s in 0-4 (catalogue start 0-2): the blob
//! saturates to white wherever `s * G >= 1 - x`, so the saturated disc grows continuously with s
//! (radius sigma * sqrt(2 ln s) on a black pixel); the wider range makes L5 reachable.
//!
//! Source: reference SEG `_derm_light_reflection` (Gaussian glare at a random centre in the
//! middle half, sigma = min(h,w)/(10 - sev), amplitude 0.3*sev*max; strength ignored there).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const SIGMA_FRACTION: f32 = 0.25;

pub struct DermLightReflection;

static INFO: Info = Info {
    id: "derm_light_reflection",
    category: Category::Medical,
    modality: Some(Modality::Dermoscopy),
    model: "gel/light glare: clip(x + s*exp(-|p-c|^2/(2 sigma^2))), white, c fixed in the middle half, sigma = 0.25*min(W,H)",
    strength_name: "glare amplitude (fraction of range)",
    strength_range: (0.0, 4.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _derm_light_reflection",
    monotone_tolerance: 0.0,
};

impl Perturbation for DermLightReflection {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let rng = ctx.rng(INFO.id);
        let (w, h) = (img.width, img.height);
        let cx = w as f32 * (0.25 + 0.5 * rng.param(0));
        let cy = h as f32 * (0.25 + 0.5 * rng.param(1));
        let sigma = SIGMA_FRACTION * w.min(h) as f32;
        let inv = 1.0 / (2.0 * sigma * sigma);
        let glare = (0..w * h)
            .map(|i| {
                let (dx, dy) = ((i % w) as f32 - cx, (i / w) as f32 - cy);
                (-(dx * dx + dy * dy) * inv).exp()
            })
            .collect();
        Ok(Box::new(Prepped { img, glare }))
    }
}

struct Prepped<'a> {
    img: &'a Image,
    glare: Vec<f32>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        for plane in out.planes_mut() {
            plane.iter_mut().zip(&self.glare).for_each(|(v, g)| *v = (*v + s * g).clamp(0.0, 1.0));
        }
        out
    }
}
