//! The OCT phantom: a retinal B-scan. Dark vitreous above; below a gently curved inner
//! limiting membrane the retinal layers as horizontal bands of alternating reflectivity (RNFL,
//! GCL, IPL, INL, OPL, ONL, ELM, ellipsoid zone, outer segments, RPE, then choroid fading into
//! sclera); the inner layers thin towards a foveal pit at the centre; multiplicative speckle
//! (log-normal, grain about 1.5 px). The mask is an intraretinal fluid pocket (dark oval) in the
//! outer nuclear layer beside the fovea. Grey; 3 channels repeat the grey plane.
//! Deterministic from the seed.

use crate::image::{Image, Mask};
use crate::perturb::common::field::smooth_field;
use crate::perturb::common::filter::gaussian_blur_plane;
use crate::rng::{fnv1a32, Rng};

/// (reflectivity, thickness as a fraction of the height, how much the foveal pit thins it)
const LAYERS: [(f32, f32, f32); 10] = [
    (0.80, 0.030, 0.95), // RNFL
    (0.45, 0.035, 0.9),  // GCL
    (0.62, 0.030, 0.8),  // IPL
    (0.30, 0.028, 0.6),  // INL
    (0.60, 0.018, 0.3),  // OPL
    (0.22, 0.070, -0.4), // ONL (thicker in the fovea)
    (0.50, 0.007, 0.0),  // ELM
    (0.88, 0.014, 0.0),  // ellipsoid zone
    (0.42, 0.016, 0.0),  // outer segments
    (0.95, 0.022, 0.0),  // RPE
];
const VITREOUS: f32 = 0.04;

pub fn make(width: usize, height: usize, channels: usize, seed: u64) -> (Image, Mask) {
    let rng = Rng::new(seed, 0, fnv1a32("phantom/oct"));
    let (w, h) = (width, height);
    let (wf, hf) = (w as f32, h as f32);
    let undul = smooth_field(&rng, 0, w, 1, 3);
    let choroid = smooth_field(&rng, 1, w, h, (w / 10).max(4));
    let fovea = wf * (0.45 + 0.1 * rng.param(0));
    let pit_sigma = wf * 0.08;
    let mut clean = vec![0.0f32; w * h];
    // fluid pocket: in the ONL, to one side of the fovea
    let side = if rng.param(1) < 0.5 { -1.0 } else { 1.0 };
    let fx = fovea + side * wf * 0.12;
    let (frx, fry) = (wf * 0.07, hf * 0.028);
    let mut mask = Mask::new(w, h);
    for x in 0..w {
        let xf = x as f32;
        let pit = (-(xf - fovea).powi(2) / (2.0 * pit_sigma * pit_sigma)).exp();
        // the RPE is the reference surface (a shallow bowl); inner layers stack upwards from it,
        // thinning at the fovea so the inner limiting membrane dips into the foveal pit
        let q = (xf / wf - 0.5) * 2.0;
        let rpe_top = hf * (0.66 - 0.08 * q * q + 0.03 * (undul[x] - 0.5));
        let mut bounds = vec![0.0f32; LAYERS.len() + 1];
        let last = LAYERS.len() - 1;
        bounds[last] = rpe_top;
        bounds[last + 1] = rpe_top + hf * LAYERS[last].1;
        for k in (0..last).rev() {
            let (_, t, thin) = LAYERS[k];
            bounds[k] = bounds[k + 1] - hf * t * (1.0 - thin * pit);
        }
        let top = bounds[0];
        let rpe_bottom = bounds[last + 1];
        // the pocket sits in the middle of the ONL at its column
        let onl_mid = 0.5 * (bounds[5] + bounds[6]);
        for yy in 0..h {
            let yf = yy as f32;
            let v = if yf < top {
                VITREOUS
            } else if yf >= rpe_bottom {
                let depth = (yf - rpe_bottom) / (0.15 * hf);
                (0.55 * (-depth * 1.2).exp() * (0.6 + 0.8 * choroid[yy * w + x])).max(0.06)
            } else {
                let k = bounds
                    .iter()
                    .rposition(|&b| b <= yf)
                    .unwrap_or(0)
                    .min(LAYERS.len() - 1);
                // 1-px soft boundary with the next layer
                let next = if k + 1 < LAYERS.len() {
                    LAYERS[k + 1].0
                } else {
                    0.5
                };
                let t = (yf - bounds[k + 1] + 1.0).clamp(0.0, 1.0);
                LAYERS[k].0 * (1.0 - t) + next * t
            };
            let q = ((xf - fx) / frx).powi(2) + ((yf - onl_mid) / fry).powi(2);
            let a = ((1.0 - q) * 4.0).clamp(0.0, 1.0);
            if q < 1.0 {
                mask.data[yy * w + x] = 1;
            }
            clean[yy * w + x] = v * (1.0 - a) + 0.03 * a;
        }
    }
    // speckle: log-normal with ~1.5 px grain (a blurred normal field renormalised to unit variance)
    let mut noise = vec![0.0f32; w * h];
    rng.fill_normal(2, &mut noise);
    let grain = gaussian_blur_plane(&noise, w, h, 0.7, 4.0);
    let var = grain.iter().map(|v| v * v).sum::<f32>() / grain.len().max(1) as f32;
    let norm = 1.0 / var.sqrt().max(1e-6);
    let data: Vec<f32> = clean
        .iter()
        .zip(&grain)
        .map(|(v, g)| (v * (0.3 * g * norm - 0.045).exp()).clamp(0.0, 1.0))
        .collect();
    let grey = Image::from_planes(w, h, 1, data);
    (if channels == 3 { grey.to_rgb() } else { grey }, mask)
}
