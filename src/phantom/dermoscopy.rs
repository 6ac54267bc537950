//! The dermoscopy phantom: skin-tone background with smooth tone variation and fine skin-line
//! texture, and a brown pigmented lesion with an irregular (multi-harmonic) border, a darker
//! centre, blotches, a pigment network and a few dark globules: the lesion is the mask.
//! RGB for 3 channels, BT.601 luminance for 1. Deterministic from the seed.

use crate::image::{Image, Mask};
use crate::perturb::common::field::smooth_field;
use crate::rng::{fnv1a32, Rng};

const SKIN_A: [f32; 3] = [0.90, 0.73, 0.63];
const SKIN_B: [f32; 3] = [0.82, 0.62, 0.52];
const LESION_EDGE: [f32; 3] = [0.68, 0.47, 0.34];
const LESION_CORE: [f32; 3] = [0.36, 0.21, 0.13];

pub fn make(width: usize, height: usize, channels: usize, seed: u64) -> (Image, Mask) {
    let rng = Rng::new(seed, 0, fnv1a32("phantom/dermoscopy"));
    let (w, h) = (width, height);
    let (wf, hf) = (w as f32, h as f32);
    let size = wf.min(hf);
    let tone = smooth_field(&rng, 0, w, h, 3);
    let lines = smooth_field(&rng, 1, w, h, (w / 8).max(4));
    let pores = smooth_field(&rng, 3, w, h, (w / 3).max(4));
    let blotch = smooth_field(&rng, 2, w, h, 5);
    let (cx, cy) = (
        wf * (0.45 + 0.1 * rng.param(0)),
        hf * (0.45 + 0.1 * rng.param(1)),
    );
    let r0 = size * (0.26 + 0.04 * rng.param(2));
    let harm: Vec<(f32, f32)> = (2..6)
        .map(|k| {
            (
                0.1 / (k as f32 - 1.0) * (0.5 + rng.param(10 + k)),
                rng.param(20 + k) * std::f32::consts::TAU,
            )
        })
        .collect();
    let period = size / 16.0;
    let (n1, n2) = (rng.param(3) * 6.0, rng.param(4) * 6.0);
    let mut rgb = Image::new(w, h, 3);
    let mut mask = Mask::new(w, h);
    let n = w * h;
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let (xf, yf) = (x as f32, y as f32);
            let t = tone[i];
            let texture = 1.0 + 0.14 * (lines[i] - 0.5) + 0.12 * (pores[i] - 0.5);
            let mut p = [0.0f32; 3];
            for k in 0..3 {
                p[k] = (SKIN_A[k] * (1.0 - t) + SKIN_B[k] * t) * texture;
            }
            let (dx, dy) = (xf - cx, yf - cy);
            let d = (dx * dx + dy * dy).sqrt();
            let th = dy.atan2(dx);
            let rho = r0
                * (1.0
                    + harm
                        .iter()
                        .enumerate()
                        .map(|(j, (a, ph))| a * ((j as f32 + 2.0) * th + ph).sin())
                        .sum::<f32>());
            let a = ((rho - d) / (0.04 * size) + 0.5).clamp(0.0, 1.0);
            if a > 0.0 {
                // darker towards the centre, with blotches
                let depth =
                    ((1.0 - d / rho).max(0.0).sqrt() * 0.7 + 0.45 * blotch[i]).clamp(0.0, 1.0);
                // pigment network: dark lines where a product of sines is near zero
                let net = ((xf / period * std::f32::consts::TAU + n1 + 5.0 * lines[i]).sin()
                    * (yf / period * std::f32::consts::TAU + n2 + 5.0 * blotch[i]).sin())
                .abs();
                let net_dark = if net < 0.25 { 0.75 + net } else { 1.0 };
                for k in 0..3 {
                    let lc = (LESION_EDGE[k] * (1.0 - depth) + LESION_CORE[k] * depth) * net_dark;
                    p[k] = p[k] * (1.0 - a) + lc * a;
                }
            }
            if d < rho {
                mask.data[i] = 1;
            }
            for (k, v) in p.iter().enumerate() {
                rgb.data[k * n + i] = *v;
            }
        }
    }
    // dark globules inside the lesion
    for j in 0..24u32 {
        let ang = rng.uniform(30, j) * std::f32::consts::TAU;
        let rad = rng.uniform(31, j).sqrt() * r0 * 0.8;
        let (gx, gy) = (cx + rad * ang.cos(), cy + rad * ang.sin());
        let gr = (size * (0.008 + 0.01 * rng.uniform(32, j))).max(0.8);
        let ext = gr + 2.0;
        for y in (gy - ext).max(0.0) as usize..((gy + ext).max(0.0) as usize + 1).min(h) {
            for x in (gx - ext).max(0.0) as usize..((gx + ext).max(0.0) as usize + 1).min(w) {
                let d = ((x as f32 - gx).powi(2) + (y as f32 - gy).powi(2)).sqrt();
                let a = 0.8 * ((gr - d) + 0.5).clamp(0.0, 1.0);
                for (k, c) in [0.22f32, 0.12, 0.08].iter().enumerate() {
                    let v = &mut rgb.data[k * n + y * w + x];
                    *v = *v * (1.0 - a) + c * a;
                }
            }
        }
    }
    rgb.clip();
    (
        if channels == 3 {
            rgb
        } else {
            Image::from_planes(w, h, 1, rgb.luminance())
        },
        mask,
    )
}
