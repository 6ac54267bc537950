//! Perturbations of the `us` family (see spec/perturbations.md).
//!
//! Geometry shared by the family ([`Sector`]): beams radiate from a virtual apex at the top centre
//! of the image, (w/2, 0), the convention of the built-in phantom's scan cone (curved / phased
//! array). Depth is the distance from the apex in pixels, angle is measured from straight down.
//! For a linear-array image the beams near the centre are close to vertical, so the models stay
//! sensible. Everything outside the cone is black on B-mode images and stays black: the shadow is
//! multiplicative and the reverberation is confined to the image's support.

mod acoustic_shadow;
mod reverberation;

pub use acoustic_shadow::{shadow_setup, Shadow, ShadowSetup, UsAcousticShadow};
pub use reverberation::{reverberation_fields, ReverberationFields, UsReverberation};

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![Box::new(UsAcousticShadow), Box::new(UsReverberation)]
}

/// Polar coordinates about the probe apex at (w/2, 0).
#[derive(Clone, Copy, Debug)]
pub struct Sector {
    pub apex_x: f32,
    pub apex_y: f32,
    /// Largest depth that occurs in the image (distance from the apex to a bottom corner).
    pub max_depth: f32,
}

impl Sector {
    pub fn of(w: usize, h: usize) -> Sector {
        let apex_x = w as f32 / 2.0;
        let max_depth = (apex_x * apex_x + (h as f32) * (h as f32)).sqrt();
        Sector {
            apex_x,
            apex_y: 0.0,
            max_depth,
        }
    }

    /// (depth in px, angle in radians from straight down, positive to the image right) of pixel (x, y).
    #[inline]
    pub fn polar(&self, x: usize, y: usize) -> (f32, f32) {
        let dx = x as f32 + 0.5 - self.apex_x;
        let dy = y as f32 + 0.5 - self.apex_y;
        ((dx * dx + dy * dy).sqrt(), dx.atan2(dy))
    }

    /// Pixel position of (angle, depth).
    #[inline]
    pub fn cartesian(&self, angle: f32, depth: f32) -> (f32, f32) {
        (
            self.apex_x + depth * angle.sin() - 0.5,
            self.apex_y + depth * angle.cos() - 0.5,
        )
    }
}

/// The image's cone in polar coordinates, estimated from its support (luminance above
/// [`super::common::body::BODY_THRESHOLD`]): angular range and depth range as the 2nd and 98th
/// percentiles over support pixels (robust to speckle holes), with per-pixel (depth, angle) kept
/// for the perturbations' fields. An image with no support uses the whole frame.
pub struct Cone {
    pub depth: Vec<f32>,
    pub angle: Vec<f32>,
    pub theta: (f32, f32),
    pub range: (f32, f32),
}

impl Cone {
    pub fn of(lum: &[f32], w: usize, h: usize) -> Cone {
        let sector = Sector::of(w, h);
        let mut depth = vec![0.0f32; w * h];
        let mut angle = vec![0.0f32; w * h];
        let (mut th, mut rr) = (Vec::new(), Vec::new());
        for y in 0..h {
            for x in 0..w {
                let (r, t) = sector.polar(x, y);
                depth[y * w + x] = r;
                angle[y * w + x] = t;
                if lum[y * w + x] > super::common::body::BODY_THRESHOLD {
                    th.push(t);
                    rr.push(r);
                }
            }
        }
        if th.len() < 16 {
            th = angle.clone();
            rr = depth.clone();
        }
        let pct = |v: &mut Vec<f32>, p: f32| {
            v.sort_by(f32::total_cmp);
            let i = ((v.len() - 1) as f32 * p).round() as usize;
            v[i]
        };
        let theta = (pct(&mut th, 0.02), pct(&mut th, 0.98));
        let range = (pct(&mut rr, 0.02), pct(&mut rr, 0.98));
        Cone {
            depth,
            angle,
            theta,
            range,
        }
    }
}

/// Smooth step from 0 (t <= 0) to 1 (t >= 1), C1 continuous.
#[inline]
pub(crate) fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}
