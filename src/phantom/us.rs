//! The ultrasound phantom: a B-mode sector (scan cone) of a curved/phased-array probe with the
//! apex at the top centre, fully developed speckle and a hypoechoic lesion.
//!
//! Geometry: apex at (w/2, 0) (the convention the us perturbations use, see
//! [`crate::perturb::us::Sector`]), half-angle 38 degrees, depths 6%..96% of the height; black (0)
//! outside the cone. Echogenicity map: a bright skin/near-field band, a bright curved fascia,
//! subcutaneous tissue (0.35), parenchyma (0.5) with a smooth texture, an anechoic vessel (0.05)
//! and the hypoechoic lesion (0.18, the mask). Speckle is Rayleigh: the magnitude of a complex
//! Gaussian field blurred anisotropically (resolution cell wider than deep), normalised to mean 1,
//! multiplied into the echogenicity map; mild depth attenuation. Deterministic from `seed`.

use crate::image::{Image, Mask};
use crate::perturb::common::field::smooth_field;
use crate::perturb::common::filter::{convolve_separable, gaussian_kernel};
use crate::perturb::us::Sector;
use crate::rng::{fnv1a32, Rng};

/// Half-angle of the phantom's scan cone (radians).
const HALF_ANGLE: f32 = 0.66;

pub fn make(width: usize, height: usize, channels: usize, seed: u64) -> (Image, Mask) {
    let (w, h) = (width, height);
    let rng = Rng::new(seed, 0, fnv1a32("phantom/us"));
    let jit = |k: u32, amp: f32| (rng.param(k) - 0.5) * 2.0 * amp;
    let sector = Sector::of(w, h);
    let hf = h as f32;
    let (r0, r1) = (0.06 * hf, 0.96 * hf);
    let fascia = 0.3 + jit(0, 0.04);
    // lesion and vessel in (angle, depth fraction) coordinates
    let lesion = (jit(1, 0.2), 0.62 + jit(2, 0.06), 0.09 * hf);
    let vessel = (-0.25 * rng.param_sign(3), 0.45 + jit(4, 0.05), 0.05 * hf);
    let texture = smooth_field(&rng, 1, w, h, 6);

    // Rayleigh speckle: |g1 + i g2| with g blurred (sigma 1.4 px laterally, 0.7 px axially)
    let scale = (w.min(h) as f64 / 256.0).max(0.5);
    let kx = gaussian_kernel(1.4 * scale, 3.0);
    let ky = gaussian_kernel(0.7 * scale, 3.0);
    let mut g1 = vec![0.0f32; w * h];
    let mut g2 = vec![0.0f32; w * h];
    rng.fill_normal(2, &mut g1);
    rng.fill_normal(3, &mut g2);
    let g1 = convolve_separable(&g1, w, h, &kx, &ky);
    let g2 = convolve_separable(&g2, w, h, &kx, &ky);
    let mut speckle: Vec<f32> = g1
        .iter()
        .zip(&g2)
        .map(|(a, b)| (a * a + b * b).sqrt())
        .collect();
    let mean = speckle.iter().map(|&v| v as f64).sum::<f64>() / speckle.len().max(1) as f64;
    speckle.iter_mut().for_each(|v| *v /= mean as f32);

    let mut plane = vec![0.0f32; w * h];
    let mut mask = Mask::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let (r, th) = sector.polar(x, y);
            if th.abs() > HALF_ANGLE || r < r0 || r > r1 {
                continue;
            }
            let i = y * w + x;
            let d = (r - r0) / (r1 - r0); // depth fraction
            let fascia_r = fascia + 0.03 * (3.0 * th).cos();
            let mut e = if d < 0.04 {
                0.7
            } else if d < fascia_r {
                0.35
            } else {
                0.45 + 0.15 * texture[i]
            };
            if (d - fascia_r).abs() < 0.012 {
                e = 0.85;
            }
            let (px, py) = sector.cartesian(lesion.0, r0 + lesion.1 * (r1 - r0));
            let dl = (((x as f32 - px) / 1.3).powi(2) + (y as f32 - py).powi(2)).sqrt() / lesion.2;
            let (vx, vy) = sector.cartesian(vessel.0, r0 + vessel.1 * (r1 - r0));
            let dv = ((x as f32 - vx).powi(2) + (y as f32 - vy).powi(2)).sqrt() / vessel.2;
            if dv < 1.0 {
                e = 0.05;
            } else if dv < 1.15 {
                e = 0.75; // vessel wall
            }
            if dl < 1.0 {
                e = 0.18;
                mask.data[i] = 1;
            }
            let atten = (-0.6 * d).exp();
            plane[i] = (e * speckle[i] * atten * 1.2).clamp(0.0, 1.0);
        }
    }
    let img = Image::from_planes(w, h, 1, plane);
    (if channels == 3 { img.to_rgb() } else { img }, mask)
}
