//! `endo_specular`: mirror reflections of the endoscope's light on wet mucosa: small saturated
//! white spots with a soft halo.
//!
//! Model: a fixed list of `N = 48` elliptical spots (centre, orientation, aspect 1-2.5, base
//! size `sigma_i` = 0.6-3.6 % of min(W, H), most spots small) drawn once per (seed, image). At
//! strength s in [0, 3] spot i has size `sigma_i * (0.5 + 0.5 s)` and alpha
//! `a_i = min(1, 1.6 * min(s, 1) * exp(-q / 2))` (q the squared Mahalanobis distance), so the core
//! saturates (a = 1) and the halo falls off softly; spots combine as independent occluders
//! (`1 - prod(1 - a_i)`) and `out = x + (1 - x) * a` on every channel (specular light is white).
//! Amplitude grows up to s = 1, size keeps growing up to s = 3 (twice the base size): the range
//! 0-3 (catalogue start 0-1)
//! makes L5 reachable.
//!
//! Source: reference SEG `_endo_specular_reflection` (2+8a Gaussian spots, amplitude a*(0.8+0.4u),
//! re-drawn count there; fixed list here); albumentations `RandomSunFlare` (behavioural).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::objects::union_alpha;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const N: usize = 48;
const CORE_GAIN: f32 = 1.6;

pub struct EndoSpecular;

static INFO: Info = Info {
    id: "endo_specular",
    category: Category::Medical,
    modality: Some(Modality::Endoscopy),
    model: "48 fixed elliptical spots screened to white: alpha min(1, 1.6*min(s,1)*exp(-q/2)), size sigma_i*(0.5+0.5s)",
    strength_name: "spot amplitude (0-1) then size growth (1-3)",
    strength_range: (0.0, 3.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _endo_specular_reflection (fixed spot list here)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Endoscopy, "endo_specular"),
};

/// One spot of the fixed list (pixel units). Also uploaded as-is by the CUDA wrapper
/// (src/backend/cuda/endoscopy.rs; kernels/endoscopy.cuh reads the same six values).
#[derive(Clone, Copy, Debug)]
pub struct Spot {
    pub cx: f32,
    pub cy: f32,
    /// unit major axis direction
    pub cos: f32,
    pub sin: f32,
    pub sigma_major: f32,
    pub sigma_minor: f32,
}

/// The strength-independent list of `N` spots of a `w x h` image, drawn from (seed, image) as
/// `prepare` does (the CUDA wrapper calls this same function).
pub fn specular_spots(w: usize, h: usize, ctx: &Ctx) -> Vec<Spot> {
    let rng = ctx.rng(INFO.id);
    let size = w.min(h) as f32;
    (0..N)
        .map(|i| {
            let u = rng.object(0, i as u32, 5);
            let theta = u[2] * std::f32::consts::PI;
            let sigma = size * (0.006 + 0.03 * u[3] * u[3]);
            let aspect = 1.0 + 1.5 * u[4];
            Spot {
                cx: u[0] * w as f32,
                cy: u[1] * h as f32,
                cos: theta.cos(),
                sin: theta.sin(),
                sigma_major: sigma * aspect.sqrt(),
                sigma_minor: sigma / aspect.sqrt(),
            }
        })
        .collect()
}

impl Perturbation for EndoSpecular {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped {
            img,
            spots: specular_spots(img.width, img.height, ctx),
        }))
    }
}

struct Prepped<'a> {
    img: &'a Image,
    spots: Vec<Spot>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        let (w, h) = (self.img.width, self.img.height);
        let amp = CORE_GAIN * s.min(1.0);
        let grow = 0.5 + 0.5 * s;
        let mut alpha = vec![0.0f32; w * h];
        for sp in &self.spots {
            let (a, b) = (sp.sigma_major * grow, sp.sigma_minor * grow);
            let ext = 3.5 * a;
            let x0 = (sp.cx - ext).floor().max(0.0) as usize;
            let x1 = ((sp.cx + ext).ceil() + 1.0).clamp(0.0, w as f32) as usize;
            let y0 = (sp.cy - ext).floor().max(0.0) as usize;
            let y1 = ((sp.cy + ext).ceil() + 1.0).clamp(0.0, h as f32) as usize;
            for y in y0..y1 {
                for x in x0..x1 {
                    let (dx, dy) = (x as f32 - sp.cx, y as f32 - sp.cy);
                    let u = (dx * sp.cos + dy * sp.sin) / a;
                    let v = (-dx * sp.sin + dy * sp.cos) / b;
                    let ai = (amp * (-0.5 * (u * u + v * v)).exp()).min(1.0);
                    union_alpha(&mut alpha[y * w + x], ai);
                }
            }
        }
        for plane in out.planes_mut() {
            plane
                .iter_mut()
                .zip(&alpha)
                .for_each(|(v, a)| *v = (*v + (1.0 - *v) * a).clamp(0.0, 1.0));
        }
        out
    }
}
