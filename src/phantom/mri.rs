//! The MRI phantom: an axial T1-weighted brain slice.
//!
//! Anatomy (coordinates relative to the head ellipse; any size >= 32): air (0) around a bright
//! scalp/fat ring (T1-bright, 0.75), a dark skull (0.08), a thin CSF rim (0.12), cortical grey
//! matter (0.45) whose inner boundary to white matter (0.68) is folded by a smooth random field
//! (gyri), two lateral ventricles (CSF, 0.12) and deep grey nuclei (0.52). The tumour is a
//! ring-enhancing mass (bright rim 0.85, necrotic core 0.3) with surrounding oedema (0.55): the
//! mask is the mass (rim and core). Rician-like noise (magnitude of a complex Gaussian, sigma
//! 0.015) is added. Deterministic from `seed`.

use crate::image::{Image, Mask};
use crate::perturb::common::field::smooth_field;
use crate::perturb::common::filter::gaussian_blur_plane;
use crate::rng::{fnv1a32, Rng};

fn ell(u: f32, v: f32, cu: f32, cv: f32, a: f32, b: f32) -> f32 {
    let du = (u - cu) / a;
    let dv = (v - cv) / b;
    (du * du + dv * dv).sqrt()
}

pub fn make(width: usize, height: usize, channels: usize, seed: u64) -> (Image, Mask) {
    let (w, h) = (width, height);
    let rng = Rng::new(seed, 0, fnv1a32("phantom/mri"));
    let jit = |k: u32, amp: f32| (rng.param(k) - 0.5) * 2.0 * amp;
    let (cx, cy) = (0.5 * w as f32, 0.5 * h as f32 + jit(0, 0.02) * h as f32);
    let (ax, by) = (0.4 * w as f32, 0.46 * h as f32);
    let side = rng.param_sign(1);
    let tumour = (
        0.38 * side + jit(2, 0.08),
        -0.25 + jit(3, 0.12),
        0.16 + jit(4, 0.03),
    );
    let gyri = smooth_field(&rng, 1, w, h, 12);

    let mut plane = vec![0.0f32; w * h];
    let mut mask = Mask::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let u = (x as f32 - cx) / ax;
            let v = (y as f32 - cy) / by;
            let r = ell(u, v, 0.0, 0.0, 1.0, 1.0);
            if r > 1.0 {
                continue;
            }
            let i = y * w + x;
            let val = if r > 0.93 {
                0.75 // scalp and subcutaneous fat
            } else if r > 0.87 {
                0.08 // skull
            } else if r > 0.84 {
                0.12 // CSF rim
            } else {
                // folded grey/white boundary: white matter inside r < 0.62 + 0.14 * field
                let wm_edge = 0.58 + 0.16 * gyri[i];
                let mut t = if r < wm_edge { 0.68 } else { 0.45 };
                // deep grey nuclei and ventricles
                if ell(u, v, -0.2, 0.05, 0.1, 0.14) < 1.0 || ell(u, v, 0.2, 0.05, 0.1, 0.14) < 1.0 {
                    t = 0.52;
                }
                if ell(u, v, -0.1, -0.12, 0.06, 0.25) < 1.0
                    || ell(u, v, 0.1, -0.12, 0.06, 0.25) < 1.0
                {
                    t = 0.12;
                }
                let d = ell(u, v, tumour.0, tumour.1, tumour.2, tumour.2 * 0.9);
                if d < 1.6 {
                    t = 0.55; // oedema
                }
                if d < 1.0 {
                    t = if d > 0.7 { 0.85 } else { 0.3 };
                    mask.data[i] = 1;
                }
                t
            };
            plane[i] = val;
        }
    }
    let scale = w.min(h) as f64 / 256.0;
    let plane = gaussian_blur_plane(&plane, w, h, 0.6 * scale, 4.0);
    let mut n1 = vec![0.0f32; w * h];
    let mut n2 = vec![0.0f32; w * h];
    rng.fill_normal(2, &mut n1);
    rng.fill_normal(3, &mut n2);
    let sigma = 0.015;
    let plane: Vec<f32> = plane
        .iter()
        .zip(n1.iter().zip(&n2))
        .map(|(&v, (&a, &b))| {
            ((v + sigma * a).powi(2) + (sigma * b).powi(2))
                .sqrt()
                .clamp(0.0, 1.0)
        })
        .collect();
    let img = Image::from_planes(w, h, 1, plane);
    (if channels == 3 { img.to_rgb() } else { img }, mask)
}
