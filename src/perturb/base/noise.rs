//! Additive, impulse and multiplicative noise with fixed fields (ImageNet-C forms; research
//! notes section 3). Fields: stream = channel, index = pixel index within the plane, drawn once
//! in `prepare`; the strength only scales them, so SSIM(s) is continuous and non-increasing.

use super::{clip, map_chunks, quantise};
use crate::error::Result;
use crate::image::{BitDepth, Image};
use crate::perturb::common::codes::{code8, codes_into, source_codes, CHUNK};
use crate::perturb::common::simd;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Perturbation, Prepared, StrengthKind};
use rayon::prelude::*;

/// Standard-normal field of the image's size: plane c from stream c.
fn normal_field(img: &Image, ctx: &Ctx, id: &str) -> Vec<f32> {
    let rng = ctx.rng(id);
    let n = img.plane_len();
    let mut field = vec![0.0f32; img.data.len()];
    for (c, plane) in field.chunks_mut(n.max(1)).enumerate() {
        rng.fill_normal(c as u32, plane);
    }
    field
}

pub struct GaussianNoise;

static GAUSSIAN_NOISE: Info = Info {
    id: "gaussian_noise",
    category: Category::Base,
    modality: None,
    model: "x + s*N(0,1), independent per sample, clip to [0,1]",
    strength_name: "sigma, fraction of the value range",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "imagecorruptions gaussian_noise (fixed field)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Noise, "gaussian_noise"),
};

struct AdditiveNoise<'a> {
    img: &'a Image,
    field: Vec<f32>,
    /// false: x + s*n (gaussian); true: x + x*s*n (speckle).
    multiplicative: bool,
    /// The source's codes, if it is 8-bit valued: the 8-bit path reads a quarter of the bytes.
    codes: Option<Vec<u8>>,
}

impl AdditiveNoise<'_> {
    fn run(&self, s: f32, post: impl Fn(f32) -> f32 + Sync + Send) -> Image {
        let n = self.img.plane_len();
        map_chunks(self.img, |c, px, src, dst| {
            let f = &self.field[c * n + px.start..c * n + px.end];
            if self.multiplicative {
                for ((o, &x), &z) in dst.iter_mut().zip(src).zip(f) {
                    *o = post(x + x * s * z);
                }
            } else {
                for ((o, &x), &z) in dst.iter_mut().zip(src).zip(f) {
                    *o = post(x + s * z);
                }
            }
        })
    }
}

impl Prepared for AdditiveNoise<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        self.run(s, clip)
    }

    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        if s <= 0.0 {
            return self.img.quantised(depth);
        }
        let m = depth.max_value();
        self.run(s, move |v| quantise(v, m))
    }

    /// From the source's codes where it has them (x = code / 255, the division `io` makes, so
    /// the very sample), in the widest SIMD build: a quarter of the source bytes read.
    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        if s <= 0.0 {
            return codes_into(self.img, out);
        }
        let Some(codes) = &self.codes else {
            return codes_into(&self.apply_quantised(s, BitDepth::U8), out);
        };
        assert_eq!(out.len(), codes.len(), "8-bit output length");
        let mult = self.multiplicative;
        out.par_chunks_mut(CHUNK)
            .zip(codes.par_chunks(CHUNK))
            .zip(self.field.par_chunks(CHUNK))
            .for_each(|((o, k), z)| {
                if mult {
                    speckle_codes(o, k, z, s)
                } else {
                    additive_codes(o, k, z, s)
                }
            });
    }
}

simd::multiversion! {
    /// `code8(x + s * z)` from the codes of x.
    fn additive_codes(out: &mut [u8], codes: &[u8], z: &[f32], s: f32) {
        for ((o, &k), &z) in out.iter_mut().zip(codes).zip(z) {
            *o = code8(k as f32 / 255.0 + s * z);
        }
    }
}

simd::multiversion! {
    /// `code8(x + x * s * z)` from the codes of x.
    fn speckle_codes(out: &mut [u8], codes: &[u8], z: &[f32], s: f32) {
        for ((o, &k), &z) in out.iter_mut().zip(codes).zip(z) {
            let x = k as f32 / 255.0;
            *o = code8(x + x * s * z);
        }
    }
}

impl Perturbation for GaussianNoise {
    fn info(&self) -> &Info {
        &GAUSSIAN_NOISE
    }
    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(AdditiveNoise {
            img,
            field: normal_field(img, ctx, GAUSSIAN_NOISE.id),
            multiplicative: false,
            codes: source_codes(img),
        }))
    }
}

pub struct SpeckleNoise;

static SPECKLE_NOISE: Info = Info {
    id: "speckle_noise",
    category: Category::Base,
    modality: None,
    model: "x + x*s*N(0,1), independent per sample, clip to [0,1]",
    strength_name: "sigma of the multiplicative noise",
    strength_range: (0.0, 2.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "imagecorruptions speckle_noise (fixed field)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Noise, "speckle_noise"),
};

impl Perturbation for SpeckleNoise {
    fn info(&self) -> &Info {
        &SPECKLE_NOISE
    }
    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(AdditiveNoise {
            img,
            field: normal_field(img, ctx, SPECKLE_NOISE.id),
            multiplicative: true,
            codes: source_codes(img),
        }))
    }
}

pub struct SaltPepper;

static SALT_PEPPER: Info = Info {
    id: "salt_pepper",
    category: Category::Base,
    modality: None,
    model: "pixel set to 1 (salt) or 0 (pepper) where U < s; one flip mask shared by the channels, \
            salt/pepper from a second fixed field (V < 0.5 = salt); nested in s",
    strength_name: "fraction of pixels flipped",
    strength_range: (0.0, 0.5),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "skimage random_noise mode='s&p' (behavioural; mask shared by channels as the reference code)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Noise, "salt_pepper"),
};

struct SaltPepperPrepared<'a> {
    img: &'a Image,
    /// stream 0: flip field U (pixel flips where U < s)
    flip: Vec<f32>,
    /// stream 1: V < 0.5 means salt (1), else pepper (0)
    salt: Vec<f32>,
    /// The 8-bit path's pieces: the code a flipped pixel takes (255 salt, 0 pepper) and the
    /// source's codes (None unless the source is 8-bit valued).
    flip_code: Vec<u8>,
    codes: Option<Vec<u8>>,
}

impl SaltPepperPrepared<'_> {
    fn run(&self, s: f32, post: impl Fn(f32) -> f32 + Sync + Send) -> Image {
        map_chunks(self.img, |_, px, src, dst| {
            let (flip, salt) = (&self.flip[px.clone()], &self.salt[px]);
            for (((o, &x), &u), &v) in dst.iter_mut().zip(src).zip(flip).zip(salt) {
                let y = if u < s {
                    if v < 0.5 {
                        1.0
                    } else {
                        0.0
                    }
                } else {
                    x
                };
                *o = post(y);
            }
        })
    }
}

impl Prepared for SaltPepperPrepared<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        self.run(s, clip)
    }

    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        if s <= 0.0 {
            return self.img.quantised(depth);
        }
        let m = depth.max_value();
        self.run(s, move |v| quantise(v, m))
    }

    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        let Some(codes) = self.codes.as_deref().filter(|_| s > 0.0) else {
            return codes_into(&self.apply_quantised(s, BitDepth::U8), out);
        };
        let n = self.img.plane_len();
        for (src, dst) in codes.chunks(n.max(1)).zip(out.chunks_mut(n.max(1))) {
            dst.par_chunks_mut(super::CHUNK)
                .zip(src.par_chunks(super::CHUNK))
                .enumerate()
                .for_each(|(k, (d, x))| {
                    let p = k * super::CHUNK..k * super::CHUNK + d.len();
                    // the flip decision as a byte mask first (a compare that vectorises), then
                    // a byte select
                    let mut flip = [0u8; super::CHUNK];
                    let flip = &mut flip[..d.len()];
                    for (m, &u) in flip.iter_mut().zip(&self.flip[p.clone()]) {
                        *m = if u < s { 0xff } else { 0 };
                    }
                    for (((o, &x), &m), &f) in
                        d.iter_mut().zip(x).zip(&*flip).zip(&self.flip_code[p])
                    {
                        *o = (f & m) | (x & !m);
                    }
                });
        }
    }
}

impl Perturbation for SaltPepper {
    fn info(&self) -> &Info {
        &SALT_PEPPER
    }
    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let rng = ctx.rng(SALT_PEPPER.id);
        let mut flip = vec![0.0f32; img.plane_len()];
        let mut salt = vec![0.0f32; img.plane_len()];
        rng.fill_uniform(0, &mut flip);
        rng.fill_uniform(1, &mut salt);
        let flip_code = salt
            .iter()
            .map(|&v| if v < 0.5 { 255 } else { 0 })
            .collect();
        Ok(Box::new(SaltPepperPrepared {
            img,
            flip,
            salt,
            flip_code,
            codes: source_codes(img),
        }))
    }
}
