//! The endoscopy phantom: reddish-pink mucosa seen down a lumen. A dark lumen opening, ring
//! folds around it (dark grooves, lit crests) warped by a smooth field, fine vascular/mucosal
//! texture, lens vignetting, and a sessile polyp (a paler, dome-lit bump with a shadowed rim): the
//! polyp is the mask. RGB for 3 channels, BT.601 luminance for 1. Deterministic from the seed.

use crate::image::{Image, Mask};
use crate::perturb::common::field::smooth_field;
use crate::rng::{fnv1a32, Rng};

const MUCOSA_A: [f32; 3] = [0.92, 0.56, 0.50];
const MUCOSA_B: [f32; 3] = [0.78, 0.34, 0.32];
const POLYP: [f32; 3] = [0.95, 0.62, 0.55];

pub fn make(width: usize, height: usize, channels: usize, seed: u64) -> (Image, Mask) {
    let rng = Rng::new(seed, 0, fnv1a32("phantom/endoscopy"));
    let (w, h) = (width, height);
    let (wf, hf) = (w as f32, h as f32);
    let size = wf.min(hf);
    let tone = smooth_field(&rng, 0, w, h, 3);
    let warp = smooth_field(&rng, 1, w, h, 4);
    let fine = smooth_field(&rng, 2, w, h, (w / 6).max(4));
    let (lx, ly) = (
        wf * (0.25 + 0.15 * rng.param(0)),
        hf * (0.25 + 0.15 * rng.param(1)),
    );
    let lumen_sigma = size * 0.09;
    let fold_period = size * (0.11 + 0.03 * rng.param(2));
    let (px, py) = (
        wf * (0.6 + 0.1 * rng.param(3)),
        hf * (0.6 + 0.1 * rng.param(4)),
    );
    let pr = size * (0.13 + 0.03 * rng.param(5));
    let (p1, p2) = (
        rng.param(6) * std::f32::consts::TAU,
        rng.param(7) * std::f32::consts::TAU,
    );
    let half_diag2 = (wf * wf + hf * hf) * 0.25;
    let mut rgb = Image::new(w, h, 3);
    let mut mask = Mask::new(w, h);
    let n = w * h;
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let (xf, yf) = (x as f32, y as f32);
            let t = tone[i];
            let mut c = [0.0f32; 3];
            for k in 0..3 {
                c[k] = MUCOSA_A[k] * (1.0 - t) + MUCOSA_B[k] * t;
            }
            // folds: rings around the lumen, warped
            let dl = ((xf - lx).powi(2) + (yf - ly).powi(2)).sqrt();
            let f = ((dl + 0.6 * fold_period * (warp[i] - 0.5) * 2.0) / fold_period
                * std::f32::consts::TAU)
                .sin();
            let mut shade = 1.0 - 0.35 * (-f).max(0.0).powi(3) + 0.12 * f.max(0.0).powi(4);
            shade *= 0.92 + 0.16 * fine[i];
            // the lumen: a dark opening
            shade *= 1.0 - 0.88 * (-(dl * dl) / (2.0 * lumen_sigma * lumen_sigma)).exp();
            // polyp: irregular dome
            let (dx, dy) = (xf - px, yf - py);
            let dp = (dx * dx + dy * dy).sqrt();
            let th = dy.atan2(dx);
            let rho = pr * (1.0 + 0.1 * (2.0 * th + p1).sin() + 0.06 * (3.0 * th + p2).sin());
            let q = dp / rho;
            if q < 1.0 {
                let dome =
                    0.85 + 0.3 * (1.0 - q * q).sqrt() + 0.08 * (-(dx + dy) / rho).clamp(-1.0, 1.0);
                let a = ((1.0 - q) * rho / 1.5).clamp(0.0, 1.0);
                for k in 0..3 {
                    c[k] = c[k] * (1.0 - a) + POLYP[k] * (0.9 + 0.1 * fine[i]) * a;
                }
                shade = shade * (1.0 - a) + dome * (0.95 + 0.1 * fine[i]) * a;
                mask.data[i] = 1;
            } else {
                // shadow ring just outside the polyp rim
                shade *= 1.0 - 0.3 * (-(q - 1.0) * 8.0).exp();
            }
            // lens vignetting
            let r2 = ((xf - wf * 0.5).powi(2) + (yf - hf * 0.5).powi(2)) / half_diag2;
            shade *= 1.0 - 0.5 * r2;
            for (k, v) in c.iter().enumerate() {
                rgb.data[k * n + i] = (v * shade).clamp(0.0, 1.0);
            }
        }
    }
    (
        if channels == 3 {
            rgb
        } else {
            Image::from_planes(w, h, 1, rgb.luminance())
        },
        mask,
    )
}
