//! `oct_speckle`: coherent speckle of the OCT interferometric signal, multiplicative log-normal.
//!
//! Model: `out = x * exp(s * N - s^2 / 2)`, `N ~ N(0, 1)` one fixed field per pixel (shared by all
//! channels: speckle is a property of the detected intensity, not of a colour channel), drawn
//! once per (seed, image). `exp(sN - s^2/2)` has mean 1 (the reference divides
//! `LogNormal(0, s)` by its mean), so brightness is preserved on average. Clip to [0, 1].
//! Range: log-sigma 0-1.5 as catalogued.
//!
//! Source: reference SEG `_oct_speckle` (`x * LogNormal(0, s) / mean`); MedMNIST-C octmnist speckle.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};
use rayon::prelude::*;

pub struct OctSpeckle;

static INFO: Info = Info {
    id: "oct_speckle",
    category: Category::Medical,
    modality: Some(Modality::Oct),
    model: "multiplicative log-normal speckle: x*exp(s*N - s^2/2), N a fixed N(0,1) field shared by channels",
    strength_name: "log-sigma",
    strength_range: (0.0, 1.5),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _oct_speckle (x*LogNormal(0,s)/mean); MedMNIST-C octmnist speckle",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Oct, "oct_speckle"),
};

impl Perturbation for OctSpeckle {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped {
            img,
            noise: speckle_field(img.plane_len(), ctx),
        }))
    }
}

/// The strength-independent N(0, 1) field N of an image with `plane_len` pixels (shared by every
/// channel), drawn from `ctx` as `prepare` does; `apply(s)` is `clip(x exp(s N - s^2 / 2))`.
/// Public so the CUDA wrapper (src/backend/cuda/oct.rs) uploads exactly the CPU's field.
pub fn speckle_field(plane_len: usize, ctx: &Ctx) -> Vec<f32> {
    let mut noise = vec![0.0f32; plane_len];
    ctx.rng(INFO.id).fill_normal(0, &mut noise);
    noise
}

struct Prepped<'a> {
    img: &'a Image,
    noise: Vec<f32>,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        let half_var = 0.5 * s * s;
        let n = self.img.plane_len();
        for plane in out.planes_mut() {
            plane
                .par_chunks_mut(4096)
                .enumerate()
                .for_each(|(ci, chunk)| {
                    let noise = &self.noise[ci * 4096..(ci * 4096 + chunk.len()).min(n)];
                    for (v, z) in chunk.iter_mut().zip(noise) {
                        *v = (*v * (s * z - half_var).exp()).clamp(0.0, 1.0);
                    }
                });
        }
        out
    }
}
