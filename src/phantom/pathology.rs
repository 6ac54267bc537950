//! The pathology phantom: an H&E-like tile. Pink eosin stroma with fibrous texture, glands
//! (white lumen ringed by purple epithelium with aligned nuclei), scattered elongated stromal
//! nuclei, and a tumour region of crowded, larger, darker hematoxylin nuclei on a purplish
//! background: the tumour region is the mask. RGB for 3 channels, BT.601 luminance for 1.
//! Deterministic from the seed (crate RNG and smooth fields only).

use crate::image::{Image, Mask};
use crate::perturb::common::field::smooth_field;
use crate::perturb::common::objects::disc_coverage;
use crate::rng::{fnv1a32, Rng};

const LUMEN: [f32; 3] = [0.96, 0.95, 0.97];
const STROMA_LIGHT: [f32; 3] = [0.97, 0.78, 0.88];
const STROMA_DEEP: [f32; 3] = [0.86, 0.46, 0.66];
const EPITHELIUM: [f32; 3] = [0.78, 0.50, 0.74];
const TUMOUR_BG: [f32; 3] = [0.74, 0.48, 0.74];
const NUCLEUS: [f32; 3] = [0.33, 0.18, 0.52];
const NUCLEUS_DARK: [f32; 3] = [0.24, 0.12, 0.44];

fn blend(px: &mut [f32; 3], c: [f32; 3], a: f32) {
    for k in 0..3 {
        px[k] = px[k] * (1.0 - a) + c[k] * a;
    }
}

pub fn make(width: usize, height: usize, channels: usize, seed: u64) -> (Image, Mask) {
    let rng = Rng::new(seed, 0, fnv1a32("phantom/pathology"));
    let (w, h) = (width, height);
    let (wf, hf) = (w as f32, h as f32);
    let size = wf.min(hf);
    let fibres = smooth_field(&rng, 0, w, h, (w / 10).max(4));
    let coarse = smooth_field(&rng, 1, w, h, 3);
    let mut px: Vec<[f32; 3]> = (0..w * h)
        .map(|i| {
            let t = (0.6 * fibres[i] + 0.4 * coarse[i]).clamp(0.0, 1.0);
            let mut p = [0.0; 3];
            for k in 0..3 {
                p[k] = STROMA_LIGHT[k] * (1.0 - t) + STROMA_DEEP[k] * t;
            }
            p
        })
        .collect();

    // tumour region: irregular blob, the mask
    let (tx, ty) = (
        wf * (0.55 + 0.1 * rng.param(0)),
        hf * (0.5 + 0.1 * rng.param(1)),
    );
    let tr = size * 0.24;
    let ph: Vec<f32> = (0..4)
        .map(|k| rng.param(2 + k) * std::f32::consts::TAU)
        .collect();
    let tumour_rho = |x: f32, y: f32| {
        let th = (y - ty).atan2(x - tx);
        tr * (1.0
            + 0.15 * (2.0 * th + ph[0]).sin()
            + 0.1 * (3.0 * th + ph[1]).sin()
            + 0.05 * (5.0 * th + ph[2]).sin())
    };
    let mut mask = Mask::new(w, h);
    for y in 0..h {
        for x in 0..w {
            let (xf, yf) = (x as f32, y as f32);
            let d = ((xf - tx).powi(2) + (yf - ty).powi(2)).sqrt();
            let a = disc_coverage(d, tumour_rho(xf, yf), 2.0);
            blend(&mut px[y * w + x], TUMOUR_BG, 0.85 * a);
            if d < tumour_rho(xf, yf) {
                mask.data[y * w + x] = 1;
            }
        }
    }

    // glands outside the tumour: lumen + epithelial ring + ring of nuclei
    for g in 0..4u32 {
        let u = rng.object(0, g, 4);
        let (gx, gy) = (wf * (0.1 + 0.8 * u[0]), hf * (0.1 + 0.8 * u[1]));
        if ((gx - tx).powi(2) + (gy - ty).powi(2)).sqrt() < tr * 1.4 {
            continue;
        }
        let lr = size * (0.05 + 0.04 * u[2]);
        let er = lr + size * 0.035;
        let ext = er + 2.0;
        for y in (gy - ext).max(0.0) as usize..((gy + ext) as usize + 1).min(h) {
            for x in (gx - ext).max(0.0) as usize..((gx + ext) as usize + 1).min(w) {
                let d = ((x as f32 - gx).powi(2) + (y as f32 - gy).powi(2)).sqrt();
                blend(&mut px[y * w + x], EPITHELIUM, disc_coverage(d, er, 1.5));
                blend(&mut px[y * w + x], LUMEN, disc_coverage(d, lr, 1.5));
            }
        }
        let nn = ((er * std::f32::consts::TAU) / (size * 0.035)).max(6.0) as u32;
        for j in 0..nn {
            let th = (j as f32 + 0.3 * rng.uniform(10 + g, j)) / nn as f32 * std::f32::consts::TAU;
            let rr = 0.5 * (lr + er);
            draw_nucleus(
                &mut px,
                w,
                h,
                gx + rr * th.cos(),
                gy + rr * th.sin(),
                size * 0.014,
                1.6,
                th,
                NUCLEUS,
            );
        }
    }

    // nuclei: sparse elongated stromal ones everywhere, crowded round dark ones in the tumour
    let stromal = ((wf * hf) / (size * 0.07).powi(2)) as u32;
    for j in 0..stromal {
        let (x, y) = (rng.uniform(20, j) * wf, rng.uniform(21, j) * hf);
        let th = rng.uniform(22, j) * std::f32::consts::PI;
        draw_nucleus(&mut px, w, h, x, y, size * 0.009, 2.2, th, NUCLEUS);
    }
    let crowded = ((tr * tr * 3.2) / (size * 0.035).powi(2)) as u32;
    for j in 0..crowded {
        let ang = rng.uniform(23, j) * std::f32::consts::TAU;
        let rad = rng.uniform(24, j).sqrt() * tr * 1.25;
        let (x, y) = (tx + rad * ang.cos(), ty + rad * ang.sin());
        if rad > tumour_rho(x, y) {
            continue;
        }
        let r = size * (0.014 + 0.01 * rng.uniform(25, j));
        draw_nucleus(
            &mut px,
            w,
            h,
            x,
            y,
            r,
            1.0 + 0.4 * rng.uniform(26, j),
            ang,
            NUCLEUS_DARK,
        );
    }

    let mut rgb = Image::new(w, h, 3);
    for (i, p) in px.iter().enumerate() {
        for (k, v) in p.iter().enumerate() {
            rgb.data[k * w * h + i] = v.clamp(0.0, 1.0);
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

/// An anti-aliased elliptical nucleus (minor radius `r`, aspect `ar`, orientation `th`) with a
/// slightly lighter chromatin centre.
#[allow(clippy::too_many_arguments)]
fn draw_nucleus(
    px: &mut [[f32; 3]],
    w: usize,
    h: usize,
    cx: f32,
    cy: f32,
    r: f32,
    ar: f32,
    th: f32,
    colour: [f32; 3],
) {
    let r = r.max(0.8);
    let ext = r * ar + 2.0;
    let (c, s) = (th.cos(), th.sin());
    for y in (cy - ext).max(0.0) as usize..((cy + ext).max(0.0) as usize + 1).min(h) {
        for x in (cx - ext).max(0.0) as usize..((cx + ext).max(0.0) as usize + 1).min(w) {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let u = (dx * c + dy * s) / ar;
            let v = -dx * s + dy * c;
            let d = (u * u + v * v).sqrt();
            let a = disc_coverage(d, r, 1.0);
            if a > 0.0 {
                let lighter = 0.12 * (1.0 - d / r).max(0.0);
                let col = [
                    colour[0] + lighter,
                    colour[1] + lighter,
                    colour[2] + lighter,
                ];
                blend(&mut px[y * w + x], col, 0.92 * a);
            }
        }
    }
}
