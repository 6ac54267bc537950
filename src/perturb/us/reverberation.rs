//! `us_reverberation`: multiple reflections between the probe face and a strong, flat interface
//! (fascia, pleura, a needle, bowel gas) appear as equally spaced bright bands below it, each
//! weaker than the last.
//!
//! Model: an interface at fixed depth `d_i` (12-22% of the cone's depth range below the probe
//! face, i.e. the top of the cone) over a fixed angular extent. Echo k (k = 1..N, filling the
//! depth range) lies at depth `d_i + k * (d_i - face)` with amplitude `q^(k-1)` (q fixed per seed in
//! [0.8, 0.9]) and a Gaussian depth profile. Reverberation echoes are coherent echoes too, so the
//! bands carry their own speckle: `B = sum_k q^k band_k * n`, n a Rayleigh field (magnitude of a
//! complex Gaussian, mean 1) drawn once per image; the image becomes `x + s B` inside the cone's
//! support. For `s` in (1, 3] the amplitude keeps growing while the bands thicken (sigma up to
//! 5x) and spread over the whole cone width: the near field "fills in" as below a gas interface.
//! Without this phase SSIM L5 is out of reach, since a few thin bands brighten only a small part
//! of the scan (the reference bottoms out at SSIM 0.94).
//! Source: reference `_us_reverberation_artifacts` (SEG generator), textbook reverberation
//! geometry (echo spacing = interface depth).

use super::{smoothstep, Cone};
use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::body::{mean_plane, support};
use crate::perturb::common::filter::gaussian_blur_plane;
use crate::perturb::common::grey::map_pixels;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct UsReverberation;

const INFO: Info = Info {
    id: "us_reverberation",
    category: Category::Medical,
    modality: Some(Modality::Us),
    model: "x + s n sum_k q^k band_k: equally spaced speckled echoes below a fixed interface (amplitude s); s in (1,3] also thickens and widens the bands",
    strength_name: "band amplitude (0-3), bands thicken and widen above 1",
    strength_range: (0.0, 3.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "reference SEG _us_reverberation_artifacts; reverberation geometry (spacing = interface depth)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::UsReverberation, "us_reverberation"),
};

/// The strength-independent part of us_reverberation for one image, as `prepare` draws it. Public
/// so the CUDA wrapper (src/backend/cuda/us.rs) uploads exactly the CPU's planes and echo list.
pub struct ReverberationFields {
    /// Cone depth and angle per pixel (w * h each, `Cone::of` of src/perturb/us/mod.rs).
    pub depth: Vec<f32>,
    pub angle: Vec<f32>,
    /// The cone's angular range (2nd, 98th percentile).
    pub theta: (f32, f32),
    /// Soft support of the image (blurred indicator), so bands stay inside the cone.
    pub inside: Vec<f32>,
    /// (depth, amplitude q^k) of every echo.
    pub echoes: Vec<(f32, f32)>,
    /// Rayleigh speckle of the echoes (mean 1), w * h.
    pub speckle: Vec<f32>,
    pub sigma: f32,
    pub centre: f32,
    pub half_width: f32,
    pub edge: f32,
}

struct Prep<'a> {
    img: &'a Image,
    f: ReverberationFields,
}

impl Perturbation for UsReverberation {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prep {
            img,
            f: reverberation_fields(img, ctx),
        }))
    }
}

/// Draw the [`ReverberationFields`] of `img` from `ctx` (what `prepare` keeps).
pub fn reverberation_fields(img: &Image, ctx: &Ctx) -> ReverberationFields {
    let rng = ctx.rng(INFO.id);
    let (w, h) = (img.width, img.height);
    let lum = mean_plane(&img.data, w, h, img.channels);
    let cone = Cone::of(&lum, w, h);
    let inside = gaussian_blur_plane(&support(&lum), w, h, 3.0, 4.0)
        .iter()
        .map(|&v| smoothstep(2.0 * v - 0.5))
        .collect();
    let (t0, t1) = cone.theta;
    let (r0, r1) = cone.range;
    let span = (r1 - r0).max(1.0);
    let spacing = span * rng.param_range(0, 0.12, 0.22);
    let q = rng.param_range(1, 0.8, 0.9);
    // echo 0 is the interface itself, echo k its k-th reverberation
    let mut echoes = Vec::new();
    let mut k = 0;
    while r0 + spacing * (k + 1) as f32 <= r1 {
        echoes.push((r0 + spacing * (k + 1) as f32, q.powi(k)));
        k += 1;
    }
    let centre = t0 + (t1 - t0) * rng.param_range(2, 0.35, 0.65);
    let half_width = (t1 - t0) * rng.param_range(3, 0.18, 0.3);
    let edge = 0.08 * (t1 - t0);
    let (mut g1, mut g2) = (vec![0.0f32; w * h], vec![0.0f32; w * h]);
    rng.fill_normal(0, &mut g1);
    rng.fill_normal(1, &mut g2);
    // |g1 + i g2| with unit normal parts is Rayleigh(1), mean sqrt(pi / 2): normalise to mean 1
    let k = 1.0 / (std::f32::consts::PI / 2.0).sqrt();
    let speckle = g1
        .iter()
        .zip(&g2)
        .map(|(a, b)| k * (a * a + b * b).sqrt())
        .collect();
    let theta = cone.theta;
    ReverberationFields {
        depth: cone.depth,
        angle: cone.angle,
        theta,
        inside,
        echoes,
        speckle,
        sigma: 0.012 * span,
        centre,
        half_width,
        edge,
    }
}

impl Prepared for Prep<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        let amp = s;
        let extra = (s - 1.0).max(0.0);
        let sigma = self.f.sigma * (1.0 + 2.0 * extra);
        let f = &self.f;
        let (t0, t1) = f.theta;
        let hw = f.half_width + extra * (t1 - t0);
        map_pixels(self.img, |i, v| {
            let inside = f.inside[i];
            if inside <= 0.0 {
                return v;
            }
            let lat = smoothstep((hw + f.edge - (f.angle[i] - f.centre).abs()) / (2.0 * f.edge));
            if lat <= 0.0 {
                return v;
            }
            let r = f.depth[i];
            let mut b = 0.0f32;
            for &(d, a) in &f.echoes {
                let z = (r - d) / sigma;
                if z.abs() < 5.0 {
                    b += a * (-0.5 * z * z).exp();
                }
            }
            v + amp * b.min(1.0) * f.speckle[i] * lat * inside
        })
    }
}
