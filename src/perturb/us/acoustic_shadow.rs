//! `us_acoustic_shadow`: acoustic shadowing distal to strongly reflecting / attenuating structures
//! (calcifications, bone, gas) inside the scan cone.
//!
//! Model: K (3-5, fixed per seed) reflectors at fixed angles spread over the cone and fixed
//! depths (15-45% of the cone's depth range). Behind reflector k, along the beams (radial from the
//! probe apex, see [`super::Sector`]), the echo is multiplied by `1 - s * p_k`, with
//! `p_k = lateral_k(angle) * (1 - exp(-(depth - d_k) / L))` (L = 8% of the depth range: the loss
//! deepens with depth as in the reference's `1 - a(1 - e^{-3d})`), and the reflector itself
//! appears as a bright arc of amplitude `0.5 s`. For `s` in (1, 2] the shadows widen by the
//! factor `1 + 2 (s - 1)` and start closer to the probe, merging into a full-cone dropout at s = 2
//! (loss of probe contact / coupling gel): this is what makes SSIM L5 reachable, since shadows
//! of a few fixed widths darken at most about a third of a typical scan.
//! Overlapping shadows take the maximum loss. Outside the cone the image is black and stays so.
//! Source: reference `_us_acoustic_shadowing` (SEG generator), usaugment `GaussianShadow`
//! (Smistad et al. 2018); the reference bottoms out at SSIM 0.88, hence the widening phase.

use super::{smoothstep, Cone};
use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::body::mean_plane;
use crate::perturb::common::grey::map_pixels;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct UsAcousticShadow;

const INFO: Info = Info {
    id: "us_acoustic_shadow",
    category: Category::Medical,
    modality: Some(Modality::Us),
    model: "echo x (1 - s p_k) distal to K fixed reflectors (depth of loss s <= 1); s in (1,2] widens the shadows into a full-cone dropout",
    strength_name: "depth of loss (0-1), then shadow widening (1-2)",
    strength_range: (0.0, 2.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "reference SEG _us_acoustic_shadowing; usaugment GaussianShadow (Smistad 2018)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::UsShadow, "us_acoustic_shadow"),
};

/// One reflector's shadow: centre angle, half-width (radians) and the depth where it starts.
pub struct Shadow {
    pub angle: f32,
    pub half_width: f32,
    pub depth: f32,
}

/// Everything `apply(s)` needs that does not depend on s, drawn once per (seed, image): the
/// probe cone (per-pixel depth and angle, support ranges), the 3-5 shadows, and the lateral edge,
/// distal decay and bright-arc lengths. The CPU `apply` and the CUDA kernel (via
/// src/backend/cuda/us.rs `shadow_prepare`) both read it, so their draws cannot drift apart.
pub struct ShadowSetup {
    pub cone: Cone,
    pub shadows: Vec<Shadow>,
    pub edge: f32,
    pub decay: f32,
    pub arc: f32,
}

/// The [`ShadowSetup`] of `img` for (seed, image) `ctx`.
pub fn shadow_setup(img: &Image, ctx: &Ctx) -> ShadowSetup {
    let rng = ctx.rng(INFO.id);
    let lum = mean_plane(&img.data, img.width, img.height, img.channels);
    let cone = Cone::of(&lum, img.width, img.height);
    let (t0, t1) = cone.theta;
    let (r0, r1) = cone.range;
    let k = 3 + (rng.param(0) * 3.0).floor().min(2.0) as usize;
    let spacing = (t1 - t0) / k as f32;
    let shadows = (0..k)
        .map(|i| {
            let u = rng.object(0, i as u32, 3);
            Shadow {
                angle: t0 + spacing * (i as f32 + 0.3 + 0.4 * u[0]),
                half_width: spacing * (0.22 + 0.13 * u[1]),
                depth: r0 + (r1 - r0) * (0.15 + 0.3 * u[2]),
            }
        })
        .collect();
    let span = (r1 - r0).max(1.0);
    ShadowSetup {
        cone,
        shadows,
        edge: 0.15 * spacing,
        decay: 0.08 * span,
        arc: 0.012 * span,
    }
}

struct Prep<'a> {
    img: &'a Image,
    setup: ShadowSetup,
}

impl Perturbation for UsAcousticShadow {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prep {
            img,
            setup: shadow_setup(img, ctx),
        }))
    }
}

impl Prepared for Prep<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        let amp = s.min(1.0);
        let grow = 1.0 + 2.0 * (s - 1.0).max(0.0);
        let r0 = self.setup.cone.range.0;
        map_pixels(self.img, |i, v| {
            let (r, t) = (self.setup.cone.depth[i], self.setup.cone.angle[i]);
            let (mut loss, mut bright) = (0.0f32, 0.0f32);
            for sh in &self.setup.shadows {
                let hw = sh.half_width * grow;
                let lat = smoothstep(
                    (hw + self.setup.edge - (t - sh.angle).abs()) / (2.0 * self.setup.edge),
                );
                if lat <= 0.0 {
                    continue;
                }
                let start = r0 + (sh.depth - r0) / grow;
                let d = r - start;
                if d > 0.0 {
                    loss = loss.max(lat * (1.0 - (-d / self.setup.decay).exp()));
                }
                bright = bright.max(lat * (-(d / self.setup.arc).powi(2)).exp());
            }
            let shadowed = v * (1.0 - amp * loss);
            // the arc brightens only tissue (v > 0): outside the cone stays black
            if v > 0.0 {
                shadowed + 0.5 * amp * bright
            } else {
                shadowed
            }
        })
    }
}
