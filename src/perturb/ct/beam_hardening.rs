//! `ct_beam_hardening`: cupping from beam hardening, in the image-domain form of the catalogue
//! (spec/perturbations.md, corrected): the body's centre reads darker than its rim,
//! `x * (1 - s * (1 - (r / R)^2))` for `r <= R`, identity outside (`r > R`).
//!
//! Physics: a polychromatic beam hardens (its mean energy rises) along long paths through the
//! body, so rays through the centre are attenuated less per unit length than the monochromatic
//! reconstruction assumes and the centre of a uniform object reads too low; the error falls to 0
//! at the outline (short paths). The classic cupping profile is close to a paraboloid (Barrett &
//! Keat 2004, Fig. 3); `s` is the relative depth of the cup at the centre.
//!
//! Body centre and radius R ([`BodyGeometry`]): the centroid of the pixels whose luminance
//! exceeds [`BODY_THRESHOLD`](crate::perturb::common::body::BODY_THRESHOLD) (0.05 on the [0, 1]
//! scale; air is black in any CT window) and the largest distance from it to such a pixel, so
//! every body pixel has `r <= R` and the factor `1 - s (1 - (r/R)^2)` lies in `[1 - s, 1]`
//! (negative products clip to 0).
//!
//! Strength: the cup depth at the centre as a fraction of the displayed value, 0-2 (the
//! catalogue's 0-1, widened for reach). s = 1 takes the centre to the window floor (a 100 % loss
//! there, 75 % at r = R/2); beyond 1 the cup is deeper than the displayed value, so a central disc
//! of radius R sqrt(1 - 1/s) clips to the floor (at s = 2 the inner 0.71 R), as a narrow display
//! window shows a strong cup: for tissue displayed at mid-grey in a window W HU wide, s = 2 is a
//! central depression of about W HU, i.e. 80-400 HU for brain to soft-tissue windows, the order
//! of uncorrected cupping through large or dense cross-sections. Why widen: multiplying
//! texture by a smooth positive factor barely changes SSIM's structure term, so at s = 1 SSIM is
//! still 0.71 (L3) on the head CT of assets/real/ and 0.705 on the 128 px CT phantom; measured
//! (wang): head CT 0.586 at s = 1.4, CT_small 0.593 at s = 0.8. Reach table: docs/perturbations.md.
//! The earlier formula `x (1 - s (r/R)^2)` (the reference SEG `_ct_beam_hardening`) darkened the
//! rim, the opposite of cupping.
//! Twins: the CUDA kernel evaluates `x (1 - s q)` with the same prepared `q = 1 - (r/R)^2`
//! ([`cupping_depth`], uploaded by src/backend/cuda/ct.rs; kernels/ct.cuh `mfr_ct_beam_hardening`).
//! Source: Barrett & Keat 2004, "Artifacts in CT: recognition and avoidance" (cupping);
//! reference SEG `_ct_beam_hardening` (name and image-domain approach).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::body::{mean_plane, BodyGeometry};
use crate::perturb::common::grey::{pointwise, pointwise_u8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct CtBeamHardening;

const INFO: Info = Info {
    id: "ct_beam_hardening",
    category: Category::Medical,
    modality: Some(Modality::Ct),
    model: "cupping: x (1 - s (1 - (r/R)^2)) for r <= R about the body centre (centroid of pixels > 0.05, R their max distance), identity outside; clip",
    strength_name: "cup depth at the body centre (fraction of the displayed value; 1 = centre at the window floor, 2 = inner 0.71 R clipped there)",
    strength_range: (0.0, 2.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "Barrett & Keat 2004 (cupping, paraboloid profile); reference SEG _ct_beam_hardening (image-domain form, corrected)",
    monotone_tolerance: 0.0,
    device: Device::search_op(Family::Ct, "ct_pointwise", "MFR_CT_BEAM_HARDENING", 2),
};

/// The cup depth `q = 1 - (r / R)^2` at pixel (x, y) for `r <= R`, 0 outside, r measured from
/// (cx, cy) of `geom`; the output is `x (1 - s q)`. One definition for the CPU `prepare` and the
/// field the CUDA wrapper uploads.
#[inline]
pub fn cupping_depth(geom: &BodyGeometry, x: usize, y: usize) -> f32 {
    let dx = x as f64 - geom.cx;
    let dy = y as f64 - geom.cy;
    let q = (dx * dx + dy * dy) / (geom.r_max * geom.r_max);
    if q <= 1.0 {
        (1.0 - q) as f32
    } else {
        0.0
    }
}

/// [`cupping_depth`] of every pixel of `img` (row-major), about the body of `img`.
pub fn cupping_field(img: &Image) -> Vec<f32> {
    let (w, h) = (img.width, img.height);
    let geom = BodyGeometry::of(&mean_plane(&img.data, w, h, img.channels), w, h);
    (0..w * h)
        .map(|i| cupping_depth(&geom, i % w, i / w))
        .collect()
}

struct Prep<'a> {
    img: &'a Image,
    /// 1 - (r / R)^2 per pixel inside the outline, 0 outside.
    q: Vec<f32>,
}

impl Perturbation for CtBeamHardening {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prep {
            img,
            q: cupping_field(img),
        }))
    }
}

impl Prep<'_> {
    /// The per-sample model `f(i, v)` at strength `s` (the contract of `grey::map_pixels`).
    fn model(&self, s: f32) -> impl Fn(usize, f32) -> f32 + Sync + '_ {
        move |i, v| v * (1.0 - s * self.q[i])
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
