//! `mri_bias_field`: smooth multiplicative intensity non-uniformity (B1 / receive-coil
//! inhomogeneity), in torchio's `BiasField` form:
//! `B = exp( sum_{i + j + k <= order} c_ijk X^i Y^j Z^k )`, output `x * B`.
//!
//! Coordinates as torchio builds them for a `1 x H x W x 1` volume: along an axis of length n,
//! `(arange(-n/2, n/2) + 0.5) / max` = `(2 k + 1 - n) / (n - 1)` in [-1, 1] (0 for n = 1); torchio's
//! X is the first spatial axis (image rows), Y the second (columns), and Z = 0 in 2-D so only the
//! `k = 0` terms contribute. Coefficients are enumerated in torchio's loop order (i outer, j, k
//! inner): 20 for order 3. The perturbation draws `u_ijk ~ U(-0.5, 0.5)` once per (seed, image)
//! (torchio's default `RandomBiasField(coefficients=0.5)`) and uses `c = s u`: s = 1 is a typical
//! torchio augmentation, s = 0 the identity. Range 0-4 so SSIM L5 is reachable.
//! Source: torchio 1.2.1 `BiasField.generate_bias_field` (order 3); tested against fixtures
//! produced by tools/gen_torchio_fixtures.py within 1e-5.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::grey::{pointwise, pointwise_u8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct MriBiasField;

/// Polynomial order of the field (torchio's default).
pub const BIAS_ORDER: usize = 3;

const INFO: Info = Info {
    id: "mri_bias_field",
    category: Category::Medical,
    modality: Some(Modality::Mri),
    model: "x exp(sum_{i+j<=3} c_ij X^i Y^j), c = s u, u ~ U(-0.5, 0.5) fixed per image (torchio BiasField, order 3, 2-D); clip",
    strength_name: "coefficient scale (1 = torchio default RandomBiasField)",
    strength_range: (0.0, 4.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "torchio 1.2.1 RandomBiasField / BiasField (order 3)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::MriBiasField, "mri_bias_field"),
};

/// Number of coefficients torchio enumerates for `order` in 3-D.
pub fn n_coefficients(order: usize) -> usize {
    let mut n = 0;
    for i in 0..=order {
        for j in 0..=order - i {
            n += order - i - j + 1;
        }
    }
    n
}

/// torchio's normalised coordinate of index k on an axis of length n.
fn coordinate(k: usize, n: usize) -> f64 {
    if n <= 1 {
        0.0
    } else {
        (2.0 * k as f64 + 1.0 - n as f64) / (n as f64 - 1.0)
    }
}

/// The log bias field `sum c_ijk X^i Y^j Z^k` (row-major `w x h`, f64) for a `1 x h x w x 1`
/// volume, coefficients in torchio's order; `coefficients.len()` must be
/// [`n_coefficients`]`(order)` (extra entries ignored, missing ones taken as 0).
pub fn log_bias_field(w: usize, h: usize, order: usize, coefficients: &[f64]) -> Vec<f64> {
    // only k = 0 terms survive (Z = 0); collect (i, j, c)
    let mut terms = Vec::new();
    let mut idx = 0;
    for i in 0..=order {
        for j in 0..=order - i {
            for k in 0..=order - i - j {
                let c = coefficients.get(idx).copied().unwrap_or(0.0);
                if k == 0 {
                    terms.push((i as i32, j as i32, c));
                }
                idx += 1;
            }
        }
    }
    let mut out = vec![0.0f64; w * h];
    for y in 0..h {
        let xr = coordinate(y, h);
        for x in 0..w {
            let yc = coordinate(x, w);
            out[y * w + x] = terms
                .iter()
                .map(|&(i, j, c)| c * xr.powi(i) * yc.powi(j))
                .sum();
        }
    }
    out
}

/// torchio `BiasField(coefficients, order)` applied to one plane (unclipped, f32 field as torchio
/// casts it): `x * float32(exp(log_field))`.
/// [`log_bias_field`] over a volume of `d` slices (torchio's 3-D polynomial: every term
/// `c_ijk X^i Y^j Z^k`, Z the slice coordinate in [-1, 1]); slice-major. With `d = 1` (Z = 0)
/// it is the 2-D field.
pub fn log_bias_field_volume(
    w: usize,
    h: usize,
    d: usize,
    order: usize,
    coefficients: &[f64],
) -> Vec<f64> {
    let mut terms = Vec::new();
    let mut idx = 0;
    for i in 0..=order {
        for j in 0..=order - i {
            for k in 0..=order - i - j {
                terms.push((
                    i as i32,
                    j as i32,
                    k as i32,
                    coefficients.get(idx).copied().unwrap_or(0.0),
                ));
                idx += 1;
            }
        }
    }
    let mut out = vec![0.0f64; w * h * d];
    for z in 0..d {
        let zc = coordinate(z, d);
        for y in 0..h {
            let xr = coordinate(y, h);
            for x in 0..w {
                let yc = coordinate(x, w);
                out[(z * h + y) * w + x] = terms
                    .iter()
                    .map(|&(i, j, k, c)| c * xr.powi(i) * yc.powi(j) * zc.powi(k))
                    .sum();
            }
        }
    }
    out
}

pub fn torchio_bias_field(
    plane: &[f32],
    w: usize,
    h: usize,
    order: usize,
    coefficients: &[f64],
) -> Vec<f32> {
    let lf = log_bias_field(w, h, order, coefficients);
    plane
        .iter()
        .zip(&lf)
        .map(|(&v, &l)| v * (l.exp() as f32))
        .collect()
}

/// The unit coefficients u (torchio order, 20 for order 3, each in U(-0.5, 0.5)) drawn for
/// (seed, image); the perturbation uses c = s u.
pub fn bias_coefficients(ctx: &Ctx) -> Vec<f64> {
    let rng = ctx.rng(INFO.id);
    (0..n_coefficients(BIAS_ORDER))
        .map(|k| rng.param_range(k as u32, -0.5, 0.5) as f64)
        .collect()
}

/// The f32 log bias field at s = 1 (`sum u_ijk X^i Y^j`, row-major `w x h`) for (seed, image):
/// what `apply(s)` scales by s; also uploaded by the CUDA kernel (src/backend/cuda/mri.rs).
pub fn unit_log_field(w: usize, h: usize, ctx: &Ctx) -> Vec<f32> {
    log_bias_field(w, h, BIAS_ORDER, &bias_coefficients(ctx))
        .iter()
        .map(|&v| v as f32)
        .collect()
}

struct Prep<'a> {
    img: &'a Image,
    /// sum u_ij X^i Y^j (the log field at s = 1).
    log_field: Vec<f32>,
}

impl Perturbation for MriBiasField {
    fn info(&self) -> &Info {
        &INFO
    }

    /// On a volume: one smooth 3-D field over all slices ([`log_bias_field_volume`]).
    fn volume_form(&self) -> crate::perturb::VolumeForm {
        crate::perturb::VolumeForm::Own
    }

    fn prepare_volume<'a>(&self, vol: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let field = log_bias_field_volume(
            vol.width,
            vol.height,
            vol.channels,
            BIAS_ORDER,
            &bias_coefficients(ctx),
        );
        Ok(Box::new(VolumePrep {
            vol,
            log_field: field.iter().map(|&v| v as f32).collect(),
        }))
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prep {
            img,
            log_field: unit_log_field(img.width, img.height, ctx),
        }))
    }
}

/// The 3-D field: `log_field` has one value per voxel (slice-major, as the volume's planes).
struct VolumePrep<'a> {
    vol: &'a Image,
    log_field: Vec<f32>,
}

impl Prepared for VolumePrep<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.vol.clone();
        if s <= 0.0 {
            return out;
        }
        for (v, l) in out.data.iter_mut().zip(&self.log_field) {
            let r = *v * (s * l).exp();
            *v = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        }
        out
    }
}

impl Prep<'_> {
    /// The per-sample model `f(i, v)` at strength `s` (the contract of `grey::map_pixels`).
    fn model(&self, s: f32) -> impl Fn(usize, f32) -> f32 + Sync + '_ {
        move |i, v| v * (s * self.log_field[i]).exp()
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
