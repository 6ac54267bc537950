//! Gaussian blur (scipy `gaussian_filter`, mode 'reflect', truncate 4) and motion blur (an
//! anti-aliased line PSF at a fixed per-image angle). Both use the reflect border of
//! `common::filter` and blur every channel alike.
//!
//! Ranges are wider than the catalogue's starting points (15 px, 40 px) so that L5 (SSIM
//! 0.50-0.59, wang) is reachable on large smooth images: on skimage `camera` at 256 px, sigma 15
//! gives SSIM ~0.57 and a 40 px line ~0.61; sigma 25 and 100 px leave room for 512 px inputs.

use super::{clip, quantise};
use crate::error::Result;
use crate::image::{BitDepth, Image};
use crate::perturb::common::codes::{code8, codes_into};
use crate::perturb::common::filter::gaussian_blur_plane_into;
use crate::perturb::common::psf::{convolve_sparse_into, line_psf, SparseKernel};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Perturbation, Prepared, StrengthKind};

/// Filter every plane with `f` (the filters parallelise over rows), then clip (`post` = clip)
/// or clip and quantise (`post` = quantise).
fn filter_planes(img: &Image, f: impl Fn(&[f32], &mut [f32]) + Sync) -> Image {
    let mut out = Image::new(img.width, img.height, img.channels);
    filter_planes_into(img, f, &mut out.data);
    out
}

/// Each plane of `img` filtered by `f(src, dst)` into its plane of `out` (any sample type).
fn filter_planes_into<T>(img: &Image, f: impl Fn(&[f32], &mut [T]), out: &mut [T]) {
    assert_eq!(out.len(), img.data.len(), "output length");
    let n = img.plane_len().max(1);
    for (p, o) in img.planes().zip(out.chunks_mut(n)) {
        f(p, o);
    }
}

pub struct GaussianBlur;

/// scipy's default truncation (kernel radius = int(4 sigma + 0.5)).
const TRUNCATE: f64 = 4.0;

static GAUSSIAN_BLUR: Info = Info {
    id: "gaussian_blur",
    category: Category::Base,
    modality: None,
    model: "separable Gaussian of sigma s px per channel, reflect border, truncate 4 sigma",
    strength_name: "sigma, px",
    strength_range: (0.0, 25.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "scipy.ndimage.gaussian_filter(mode='reflect', truncate=4.0)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::GaussianBlur, "blur_cols"),
};

struct GaussianBlurPrepared<'a> {
    img: &'a Image,
}

impl Prepared for GaussianBlurPrepared<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        let (w, h) = (self.img.width, self.img.height);
        filter_planes(self.img, |p, o| {
            gaussian_blur_plane_into(p, w, h, s as f64, TRUNCATE, clip, o)
        })
    }

    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        if s <= 0.0 {
            return self.img.quantised(depth);
        }
        let (w, h, m) = (self.img.width, self.img.height, depth.max_value());
        filter_planes(self.img, |p, o| {
            gaussian_blur_plane_into(p, w, h, s as f64, TRUNCATE, |v| quantise(v, m), o)
        })
    }

    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        if s <= 0.0 {
            return codes_into(self.img, out);
        }
        let (w, h) = (self.img.width, self.img.height);
        filter_planes_into(
            self.img,
            |p, o| gaussian_blur_plane_into(p, w, h, s as f64, TRUNCATE, code8, o),
            out,
        )
    }
}

impl Perturbation for GaussianBlur {
    fn info(&self) -> &Info {
        &GAUSSIAN_BLUR
    }
    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(GaussianBlurPrepared { img }))
    }
}

pub struct MotionBlur;

static MOTION_BLUR: Info = Info {
    id: "motion_blur",
    category: Category::Base,
    modality: None,
    model: "centred line PSF of length s px at a fixed per-image angle, anti-aliased (1/8 px \
            integration, fractional end piece) so the output is continuous in s; normalised; \
            reflect border; lengths above min(h,w)/2 act as min(h,w)/2 (a longer line folds the \
            reflected border back onto the image and SSIM rises again)",
    strength_name: "blur length, px",
    strength_range: (0.0, 100.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "imagecorruptions motion_blur (behavioural; line instead of half-Gaussian taps)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::MotionBlur, "motion_blur"),
};

struct MotionBlurPrepared<'a> {
    img: &'a Image,
    /// Line orientation in radians, uniform in [0, pi) from rng.param(0).
    angle: f64,
}

/// motion_blur's per-image line angle, radians in [0, pi), from rng.param(0) (one definition,
/// shared with the CUDA wrapper).
pub fn motion_blur_angle(ctx: &Ctx) -> f64 {
    ctx.rng(MOTION_BLUR.id).param(0) as f64 * std::f64::consts::PI
}

/// motion_blur's length cap for a `w x h` image: half the smaller side (see [`MOTION_BLUR`]), so
/// SSIM stays non-increasing on small images.
pub fn motion_blur_cap(w: usize, h: usize) -> f64 {
    0.5 * w.min(h) as f64
}

impl MotionBlurPrepared<'_> {
    /// The line PSF at strength s, its length capped by [`motion_blur_cap`].
    fn kernel(&self, s: f32) -> SparseKernel {
        line_psf(
            (s as f64).min(motion_blur_cap(self.img.width, self.img.height)),
            self.angle,
        )
    }
}

impl Prepared for MotionBlurPrepared<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        let (w, h) = (self.img.width, self.img.height);
        let k = self.kernel(s);
        filter_planes(self.img, |p, o| convolve_sparse_into(p, w, h, &k, clip, o))
    }

    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        if s <= 0.0 {
            return self.img.quantised(depth);
        }
        let (w, h, m) = (self.img.width, self.img.height, depth.max_value());
        let k = self.kernel(s);
        filter_planes(self.img, |p, o| {
            convolve_sparse_into(p, w, h, &k, |v| quantise(v, m), o)
        })
    }

    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        if s <= 0.0 {
            return codes_into(self.img, out);
        }
        let (w, h) = (self.img.width, self.img.height);
        let k = self.kernel(s);
        filter_planes_into(
            self.img,
            |p, o| convolve_sparse_into(p, w, h, &k, code8, o),
            out,
        )
    }
}

impl Perturbation for MotionBlur {
    fn info(&self) -> &Info {
        &MOTION_BLUR
    }
    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(MotionBlurPrepared {
            img,
            angle: motion_blur_angle(ctx),
        }))
    }
}
