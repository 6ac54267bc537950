//! The CT phantom: an axial abdominal slice built in Hounsfield units and shown through a
//! soft-tissue window (level 40 HU, width 400 HU), as a radiologist would view it.
//!
//! Anatomy (all in coordinates relative to the body ellipse, so any size >= 32 works): air
//! (-1000 HU, black) around an elliptical body with a subcutaneous fat layer (-100 HU), an
//! abdominal muscle wall (50 HU), intra-abdominal fat (-80 HU), liver (60 HU), spleen (50 HU),
//! two kidneys (30 HU), an enhanced aorta (200 HU), bowel loops (fluid 10 HU or gas -1000 HU) and
//! a vertebra (cortical 900 HU, cancellous 300 HU, bright). The lesion is a hypodense liver cyst
//! (5 HU): the mask. Correlated quantum noise (about 12 HU) and a slight partial-volume blur make
//! it look like a reconstructed slice. Deterministic from `seed` (positions jitter a little).

use crate::image::{Image, Mask};
use crate::perturb::common::filter::gaussian_blur_plane;
use crate::rng::{fnv1a32, Rng};

const WINDOW_LEVEL: f32 = 40.0;
const WINDOW_WIDTH: f32 = 400.0;

/// Is (u, v) inside the ellipse centred (cu, cv) with semi-axes (a, b)?
fn in_ellipse(u: f32, v: f32, cu: f32, cv: f32, a: f32, b: f32) -> bool {
    let du = (u - cu) / a;
    let dv = (v - cv) / b;
    du * du + dv * dv <= 1.0
}

pub fn make(width: usize, height: usize, channels: usize, seed: u64) -> (Image, Mask) {
    let (w, h) = (width, height);
    let rng = Rng::new(seed, 0, fnv1a32("phantom/ct"));
    let jit = |k: u32, amp: f32| (rng.param(k) - 0.5) * 2.0 * amp;
    // body ellipse in pixels
    let (cx, cy) = (
        0.5 * w as f32 + jit(0, 0.02) * w as f32,
        0.52 * h as f32 + jit(1, 0.02) * h as f32,
    );
    let (ax, by) = (0.44 * w as f32, 0.34 * h as f32);
    let lesion = (
        -0.42 + jit(2, 0.06),
        -0.12 + jit(3, 0.08),
        0.11 + jit(4, 0.02),
    );
    let gas_loop = rng.param(5) < 0.5;

    let mut hu = vec![-1000.0f32; w * h];
    let mut mask = Mask::new(w, h);
    for y in 0..h {
        for x in 0..w {
            // u, v in [-1, 1] over the body ellipse
            let u = (x as f32 - cx) / ax;
            let v = (y as f32 - cy) / by;
            if !in_ellipse(u, v, 0.0, 0.0, 1.0, 1.0) {
                continue;
            }
            let mut val = -100.0; // subcutaneous fat
            if in_ellipse(u, v, 0.0, 0.0, 0.9, 0.87) {
                val = 50.0; // muscle wall
            }
            if in_ellipse(u, v, 0.0, 0.0, 0.83, 0.79) {
                val = -80.0; // intra-abdominal fat
                if in_ellipse(u, v, -0.38, -0.12, 0.4, 0.55) {
                    val = 60.0; // liver (patient's right = image left)
                }
                if in_ellipse(u, v, 0.52, -0.2, 0.17, 0.3) {
                    val = 50.0; // spleen
                }
                for side in [-1.0f32, 1.0] {
                    if in_ellipse(u, v, 0.3 * side, 0.42, 0.11, 0.2) {
                        val = 30.0; // kidneys
                    }
                }
                if in_ellipse(u, v, 0.06, 0.3, 0.06, 0.08) {
                    val = 200.0; // aorta with contrast
                }
                for (k, (bu, bv)) in [
                    (0.15f32, -0.3f32),
                    (0.32, 0.05),
                    (0.05, -0.02),
                    (0.2, -0.55),
                ]
                .iter()
                .enumerate()
                {
                    if in_ellipse(u, v, *bu, *bv, 0.1, 0.13) {
                        val = if gas_loop && k == 1 { -1000.0 } else { 10.0 }; // bowel
                    }
                }
                // vertebra: cortical shell, cancellous core, spinous process
                if in_ellipse(u, v, 0.0, 0.62, 0.13, 0.17) || in_ellipse(u, v, 0.0, 0.86, 0.03, 0.1)
                {
                    val = 900.0;
                }
                if in_ellipse(u, v, 0.0, 0.62, 0.1, 0.13) {
                    val = 300.0;
                }
                if in_ellipse(u, v, lesion.0, lesion.1, lesion.2, lesion.2 * 1.3) {
                    val = 5.0; // hypodense liver cyst
                    mask.data[y * w + x] = 1;
                }
            }
            hu[y * w + x] = val;
        }
    }
    let scale = w.min(h) as f64 / 256.0;
    let mut hu = gaussian_blur_plane(&hu, w, h, 0.7 * scale, 4.0);
    // correlated quantum noise: white noise blurred with sigma 0.8 px, rescaled to ~12 HU
    let mut noise = vec![0.0f32; w * h];
    rng.fill_normal(0, &mut noise);
    let noise = gaussian_blur_plane(&noise, w, h, 0.8, 4.0);
    for (v, n) in hu.iter_mut().zip(&noise) {
        if *v > -900.0 {
            *v += 12.0 / 0.35 * n; // a sigma-0.8 blur leaves ~0.35 of unit white noise's std
        }
    }
    let lo = WINDOW_LEVEL - WINDOW_WIDTH / 2.0;
    let plane: Vec<f32> = hu
        .iter()
        .map(|&v| ((v - lo) / WINDOW_WIDTH).clamp(0.0, 1.0))
        .collect();
    let img = Image::from_planes(w, h, 1, plane);
    (if channels == 3 { img.to_rgb() } else { img }, mask)
}
