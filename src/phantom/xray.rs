//! The X-ray phantom: a posteroanterior chest radiograph (bone and soft tissue bright, air dark).
//!
//! Anatomy (coordinates relative to the image; any size >= 32): dark air (0.04) beside the body,
//! soft tissue of the thorax (0.5), two lungs (0.16-0.24, with smooth vascular texture), the
//! mediastinum and heart (0.72) between them, a bright spine (0.8) down the middle, ribs as
//! curved bright bands over the lungs (+0.14), clavicles, the diaphragm domes with the bright
//! abdomen below (0.62). The nodule is a soft round opacity in one lung (+0.25, the mask). A fine
//! noise (sigma 0.01) is added. Deterministic from `seed`.

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
    let rng = Rng::new(seed, 0, fnv1a32("phantom/xray"));
    let jit = |k: u32, amp: f32| (rng.param(k) - 0.5) * 2.0 * amp;
    let side = rng.param_sign(0);
    let nodule = (
        0.25 * side + jit(1, 0.05),
        -0.05 + jit(2, 0.15),
        0.05 + jit(3, 0.01),
    );
    let texture = smooth_field(&rng, 1, w, h, 16);

    let mut plane = vec![0.0f32; w * h];
    let mut mask = Mask::new(w, h);
    for y in 0..h {
        for x in 0..w {
            // u in [-1, 1] left to right, v in [-1, 1] top to bottom
            let u = 2.0 * (x as f32 + 0.5) / w as f32 - 1.0;
            let v = 2.0 * (y as f32 + 0.5) / h as f32 - 1.0;
            let i = y * w + x;
            // thorax: widening from the neck down
            let half_width = 0.35 + 0.5 * ((v + 1.0) / 2.0).powf(0.5);
            let mut val = if u.abs() < half_width { 0.5 } else { 0.04 };
            // lungs with diaphragm domes below
            // diaphragm domes: highest mid-hemithorax, lower at the costophrenic angles
            let dome = 0.3 + 0.15 * ((u.abs() - 0.36) / 0.28).powi(2);
            let lung = (ell(u, v, -0.36, -0.02, 0.28, 0.62) < 1.0
                || ell(u, v, 0.36, -0.02, 0.28, 0.62) < 1.0)
                && v < dome;
            if lung {
                val = 0.16 + 0.08 * texture[i];
            }
            if v >= dome && v > 0.2 && u.abs() < half_width {
                val = 0.62; // abdomen below the diaphragm
            }
            // mediastinum and heart (heart bulges to the image right = patient's left)
            let mediastinum =
                (u.abs() < 0.12 && v < 0.45) || ell(u, v, 0.1, 0.22, 0.26, 0.22) < 1.0;
            if mediastinum {
                val = 0.72;
            }
            // posterior ribs: arcs convex upwards over each lung, apex mid-hemithorax, lungs only
            if lung && !mediastinum {
                for k in 0..8 {
                    let y0 = -0.66 + 0.15 * k as f32;
                    let yr = y0 + 0.9 * (u.abs() - 0.3).powi(2);
                    if (v - yr).abs() < 0.028 {
                        val += 0.14;
                    }
                }
            }
            // clavicles
            for s in [-1.0f32, 1.0] {
                if u * s > 0.05
                    && u * s < 0.55
                    && (v - (-0.68 + 0.12 * (u * s - 0.3).powi(2))).abs() < 0.03
                {
                    val = val.max(0.7);
                }
            }
            // spine
            if u.abs() < 0.055 {
                val = 0.8;
            }
            let dn = ell(
                u,
                v,
                nodule.0,
                nodule.1,
                nodule.2,
                nodule.2 * w as f32 / h as f32,
            );
            if dn < 1.0 {
                val += 0.25 * (1.0 - dn * dn).sqrt().max(0.4);
                mask.data[i] = 1;
            }
            plane[i] = val;
        }
    }
    let scale = w.min(h) as f64 / 256.0;
    let mut plane = gaussian_blur_plane(&plane, w, h, 1.2 * scale, 4.0);
    let mut noise = vec![0.0f32; w * h];
    rng.fill_normal(2, &mut noise);
    for (p, n) in plane.iter_mut().zip(&noise) {
        *p = (*p + 0.01 * n).clamp(0.0, 1.0);
    }
    let img = Image::from_planes(w, h, 1, plane);
    (if channels == 3 { img.to_rgb() } else { img }, mask)
}
