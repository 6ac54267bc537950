//! Brightness and contrast (ImageNet-C forms, research notes section 3).
//! - brightness: grey `clip(x + s)`; RGB: skimage `rgb2hsv`, `V = clip(V + s)`, `hsv2rgb`.
//!   Since hsv2rgb is linear in V for fixed (H, S), the RGB output is `clip(V + s) * x_c / V`
//!   with the ratios `x_c / V` precomputed in `prepare` (a black pixel, V = 0, has S = 0 and
//!   becomes grey `(V', V', V')`, as in skimage). Equal to the skimage round trip within 1e-6.
//! - contrast: `(x - mean_c)*(1 - s) + mean_c`, mean per channel over the image (f64).
//!
//! No randomness; SSIM is continuous and non-increasing in s.

use super::{clip, map_chunks, quantise};
use crate::error::Result;
use crate::image::{BitDepth, Image};
use crate::perturb::common::codes::{apply_lut, code8, codes_into, source_codes, CHUNK, VALUE8};
use crate::perturb::common::simd;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Perturbation, Prepared, StrengthKind};
use rayon::prelude::*;

pub struct Brightness;

static BRIGHTNESS: Info = Info {
    id: "brightness",
    category: Category::Base,
    modality: None,
    model: "grey: x + s; RGB: HSV value V + s (skimage rgb2hsv/hsv2rgb), clip to [0,1]",
    strength_name: "added value, fraction of the range",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "imagecorruptions brightness",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Noise, "brightness"),
};

enum BrightnessPrepared<'a> {
    Grey {
        img: &'a Image,
        /// The source's codes, if it is 8-bit valued (the 8-bit path's lookup table input).
        codes: Option<Vec<u8>>,
    },
    Rgb {
        img: &'a Image,
        /// The 8-bit path's input, if the source is 8-bit valued: its codes and each pixel's
        /// HSV value code (the max over channels).
        codes: Option<(Vec<u8>, Vec<u8>)>,
        /// HSV value = max over channels, per pixel.
        value: Vec<f32>,
        /// x_c / V per channel (planar), 1 where V = 0.
        ratio: Vec<f32>,
    },
}

impl BrightnessPrepared<'_> {
    fn run(&self, s: f32, post: impl Fn(f32) -> f32 + Sync + Send) -> Image {
        match self {
            BrightnessPrepared::Grey { img, .. } => map_chunks(img, |_, _, src, dst| {
                for (o, &x) in dst.iter_mut().zip(src) {
                    *o = post(x + s);
                }
            }),
            BrightnessPrepared::Rgb {
                img, value, ratio, ..
            } => {
                let n = img.plane_len();
                map_chunks(img, |c, px, _, dst| {
                    let v = &value[px.clone()];
                    let r = &ratio[c * n + px.start..c * n + px.end];
                    for ((o, &v), &r) in dst.iter_mut().zip(v).zip(r) {
                        *o = post((v + s).min(1.0) * r);
                    }
                })
            }
        }
    }

    fn img(&self) -> &Image {
        match self {
            BrightnessPrepared::Grey { img, .. } | BrightnessPrepared::Rgb { img, .. } => img,
        }
    }

    /// The 8-bit path from the source's codes (the same f32 formula on the same samples):
    /// grey, a 256-entry table; RGB, `(V + s).min(1) * (x / V)` per sample from the codes of x
    /// and V, vectorised (a 256 x 256 table measured slower: its lookups do not vectorise).
    /// false if the source is not 8-bit valued.
    fn run_u8(&self, s: f32, out: &mut [u8]) -> bool {
        match self {
            BrightnessPrepared::Grey {
                img,
                codes: Some(codes),
            } => {
                let lut: [u8; 256] = std::array::from_fn(|k| code8(VALUE8[k] + s));
                apply_lut(codes, img.plane_len(), &[lut], out);
                true
            }
            BrightnessPrepared::Rgb {
                img,
                codes: Some((codes, vcodes)),
                ..
            } => {
                // (V + s).min(1) * (x / V) per sample from the codes (x / V is the division
                // `prepare` makes for the f32 path's ratio), in the widest SIMD build
                let n = img.plane_len().max(1);
                for (src, dst) in codes.chunks(n).zip(out.chunks_mut(n)) {
                    dst.par_chunks_mut(CHUNK)
                        .zip(src.par_chunks(CHUNK))
                        .zip(vcodes.par_chunks(CHUNK))
                        .for_each(|((d, x), v)| brightness_codes(d, x, v, s));
                }
                true
            }
            _ => false,
        }
    }
}

simd::multiversion! {
    /// `out = code8((V + s).min(1) * (x / V))` from the codes of x and V (1 for x / V where
    /// V = 0), in blocks of fixed length with a select in place of the branch: the shape LLVM
    /// vectorises.
    fn brightness_codes(out: &mut [u8], x: &[u8], v: &[u8], s: f32) {
        const B: usize = 64;
        let mut oc = out.chunks_exact_mut(B);
        let (mut xc, mut vc) = (x.chunks_exact(B), v.chunks_exact(B));
        for ((o, x), v) in (&mut oc).zip(&mut xc).zip(&mut vc) {
            for i in 0..B {
                o[i] = brightness_code(x[i], v[i], s);
            }
        }
        let rest = oc.into_remainder().iter_mut().zip(xc.remainder()).zip(vc.remainder());
        for ((o, &x), &v) in rest {
            *o = brightness_code(x, v, s);
        }
    }
}

#[inline(always)]
fn brightness_code(x: u8, v: u8, s: f32) -> u8 {
    let (xf, vf) = (x as f32 / 255.0, v as f32 / 255.0);
    let q = xf / vf;
    let r = if vf > 0.0 { q } else { 1.0 };
    code8((vf + s).min(1.0) * r)
}

impl Prepared for BrightnessPrepared<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img().clone();
        }
        self.run(s, clip)
    }

    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        if s <= 0.0 {
            return self.img().quantised(depth);
        }
        let m = depth.max_value();
        self.run(s, move |v| quantise(v, m))
    }

    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        if s <= 0.0 {
            return codes_into(self.img(), out);
        }
        if !self.run_u8(s, out) {
            codes_into(&self.apply_quantised(s, BitDepth::U8), out)
        }
    }
}

impl Perturbation for Brightness {
    fn info(&self) -> &Info {
        &BRIGHTNESS
    }
    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        if img.channels != 3 {
            return Ok(Box::new(BrightnessPrepared::Grey {
                img,
                codes: source_codes(img),
            }));
        }
        let n = img.plane_len();
        let (r, g, b) = (img.plane(0), img.plane(1), img.plane(2));
        let mut value = vec![0.0f32; n];
        value.par_chunks_mut(4096).enumerate().for_each(|(k, v)| {
            let p = k * 4096..k * 4096 + v.len();
            for (((o, &r), &g), &b) in v
                .iter_mut()
                .zip(&r[p.clone()])
                .zip(&g[p.clone()])
                .zip(&b[p])
            {
                *o = r.max(g).max(b);
            }
        });
        let mut ratio = vec![0.0f32; img.data.len()];
        for (src, dst) in img.planes().zip(ratio.chunks_mut(n.max(1))) {
            dst.par_chunks_mut(4096).enumerate().for_each(|(k, d)| {
                let p = k * 4096..k * 4096 + d.len();
                for ((o, &x), &v) in d.iter_mut().zip(&src[p.clone()]).zip(&value[p]) {
                    *o = if v > 0.0 { x / v } else { 1.0 };
                }
            });
        }
        let codes = source_codes(img).map(|c| {
            let v = value.iter().map(|&v| code8(v)).collect();
            (c, v)
        });
        Ok(Box::new(BrightnessPrepared::Rgb {
            img,
            codes,
            value,
            ratio,
        }))
    }
}

pub struct Contrast;

static CONTRAST: Info = Info {
    id: "contrast",
    category: Category::Base,
    modality: None,
    model: "(x - mean_c)*(1 - s) + mean_c, mean per channel over the image",
    strength_name: "contrast reduction (1 - factor)",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "imagecorruptions contrast",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Noise, "contrast"),
};

struct ContrastPrepared<'a> {
    img: &'a Image,
    means: Vec<f32>,
    /// The source's codes, if it is 8-bit valued (the 8-bit path's lookup table input).
    codes: Option<Vec<u8>>,
}

impl ContrastPrepared<'_> {
    fn run(&self, s: f32, post: impl Fn(f32) -> f32 + Sync + Send) -> Image {
        let k = 1.0 - s;
        map_chunks(self.img, |c, _, src, dst| {
            let m = self.means[c];
            for (o, &x) in dst.iter_mut().zip(src) {
                *o = post((x - m) * k + m);
            }
        })
    }
}

impl Prepared for ContrastPrepared<'_> {
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

    /// A 256-entry table per channel (the same f32 formula on every code's sample).
    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        let Some(codes) = self.codes.as_deref().filter(|_| s > 0.0) else {
            return codes_into(&self.apply_quantised(s, BitDepth::U8), out);
        };
        let k = 1.0 - s;
        let luts: Vec<[u8; 256]> = self
            .means
            .iter()
            .map(|&m| std::array::from_fn(|i| code8((VALUE8[i] - m) * k + m)))
            .collect();
        apply_lut(codes, self.img.plane_len(), &luts, out);
    }
}

/// Mean of each plane, summed in f64 in index order.
pub(crate) fn channel_means(img: &Image) -> Vec<f32> {
    let n = img.plane_len().max(1) as f64;
    img.planes()
        .map(|p| (p.iter().map(|&v| v as f64).sum::<f64>() / n) as f32)
        .collect()
}

impl Perturbation for Contrast {
    fn info(&self) -> &Info {
        &CONTRAST
    }
    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(ContrastPrepared {
            img,
            means: channel_means(img),
            codes: source_codes(img),
        }))
    }
}
