//! `derm_light_reflection`: glare from the immersion gel / polarised light reflecting off the
//! contact plate: a bright, white, saturating blob.
//!
//! Model: `out = 1 - (1 - x) exp(-s G(x, y))` on every channel (white light), with
//! `G = exp(-|p - c|^2 / (2 sigma^2))`, peak 1, centre `c` fixed per seed inside the middle half
//! of the image, `sigma = 0.3 * min(W, H)`. To first order this is the catalogue's additive
//! glare `x + s G` scaled by the headroom `1 - x`; for large `s G` it saturates smoothly to white
//! (a sensor knee) instead of the hard `clip(x + s G)`. The hard clip made SSIM rise again
//! (measured +1.2e-3 on the grey phantom): an SSIM window half clipped has an artificial edge
//! that disappears once the whole window clips. The knee keeps SSIM non-increasing.
//! Amplitude s in 0-12 (catalogue start 0-2): where the skin is flat a washed-out patch keeps a
//! structure term `C2 / (sigma_x^2 + C2)` near 1, so L5 needs the glare to cover the lesion
//! (wang SSIM 0.53-0.55 at s = 12 on the 128-px dermoscopy phantom over 8 RNG keys: reachable,
//! with a small margin).
//!
//! Source: reference SEG `_derm_light_reflection` (Gaussian glare at a random centre in the
//! middle half, sigma = min(h,w)/(10 - sev), amplitude 0.3*sev*max; strength ignored there).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const SIGMA_FRACTION: f32 = 0.3;

pub struct DermLightReflection;

static INFO: Info = Info {
    id: "derm_light_reflection",
    category: Category::Medical,
    modality: Some(Modality::Dermoscopy),
    model: "gel/light glare saturating to white: 1 - (1-x)*exp(-s*G), G = exp(-|p-c|^2/(2 sigma^2)), c fixed in the middle half, sigma = 0.3*min(W,H)",
    strength_name: "glare amplitude (fraction of range)",
    strength_range: (0.0, 12.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _derm_light_reflection",
    monotone_tolerance: 0.0,
    device: Device::search(Family::DermPrepared, "derm_light_reflection"),
};

impl Perturbation for DermLightReflection {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped {
            img,
            glare: glare_field(img.width, img.height, ctx),
        }))
    }
}

/// The strength-independent glare G of a `w x h` image (w * h values in (0, 1], shared by every
/// channel), centre drawn from `ctx` as `prepare` does; `apply(s)` is
/// `clip(1 - (1 - x) exp(-s G))`. Public so the CUDA wrapper (src/backend/cuda/dermoscopy.rs)
/// uploads exactly the CPU's field.
pub fn glare_field(w: usize, h: usize, ctx: &Ctx) -> Vec<f32> {
    let rng = ctx.rng(INFO.id);
    let cx = w as f32 * (0.25 + 0.5 * rng.param(0));
    let cy = h as f32 * (0.25 + 0.5 * rng.param(1));
    let sigma = SIGMA_FRACTION * w.min(h) as f32;
    let inv = 1.0 / (2.0 * sigma * sigma);
    (0..w * h)
        .map(|i| {
            let (dx, dy) = ((i % w) as f32 - cx, (i / w) as f32 - cy);
            (-(dx * dx + dy * dy) * inv).exp()
        })
        .collect()
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
            plane
                .iter_mut()
                .zip(&self.glare)
                .for_each(|(v, g)| *v = (1.0 - (1.0 - *v) * (-s * g).exp()).clamp(0.0, 1.0));
        }
        out
    }
}
