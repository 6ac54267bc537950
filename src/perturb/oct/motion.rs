//! `oct_motion`: saccades / fixation loss during the acquisition of a B-scan: groups of A-scans
//! (row bands of the image) are acquired while the eye has moved laterally, so each band appears
//! shifted sideways.
//!
//! Model: the rows are split into `K = 6` bands at boundaries fixed per seed; band j is shifted
//! laterally by `d_j = s * W * u_j`, `u_j ~ U(-1, 1)` fixed per seed (so the largest shift is at
//! most s * W). Image: `out(x, y) = in(x - d_j, y)` with linear interpolation between the two
//! nearest columns and the reflect border (scipy `mode='reflect'`). Mask: the same rows move by
//! the same `d_j`, nearest neighbour (source column `round(x - d_j)`), same reflect border.
//! Geometric: yes. Warps are only nearly monotone in SSIM (shifting texture decorrelates then
//! partly re-correlates), so the strength kind is `Warp` with a small tolerance.
//! Range 0-0.25 of the width as catalogued.
//!
//! Source: reference SEG `_oct_motion` (1..sev row bands rolled horizontally by <= w*ratio, the
//! band set re-drawn per call there; fixed here, rule 1).

use crate::error::Result;
use crate::image::{Image, Mask};
use crate::perturb::common::filter::reflect_index;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

const K: usize = 6;

pub struct OctMotion;

static INFO: Info = Info {
    id: "oct_motion",
    category: Category::Medical,
    modality: Some(Modality::Oct),
    model: "saccades: 6 fixed row bands shifted laterally by s*W*u_j (u_j fixed in [-1,1]), linear interpolation, reflect border; mask rows shift identically (nearest)",
    strength_name: "maximal lateral shift (fraction of image width)",
    strength_range: (0.0, 0.25),
    kind: StrengthKind::Warp,
    geometric: true,
    colour: Colour::Any,
    source: "MedFM-Robust SEG _oct_motion (fixed bands and shifts here)",
    monotone_tolerance: 0.02,
    device: Device::search(Family::Oct, "oct_motion"),
};

impl Perturbation for OctMotion {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped {
            img,
            row_factor: motion_row_factors(img.height, ctx),
        }))
    }
}

/// The strength-independent band factor u_j in [-1, 1) of every row of a `height`-row image
/// (`height` values), drawn from `ctx` as `prepare` does; row y shifts by `s * W * u[y]`. Public
/// so the CUDA wrapper (src/backend/cuda/oct.rs) uploads exactly the CPU's factors.
pub fn motion_row_factors(height: usize, ctx: &Ctx) -> Vec<f32> {
    let rng = ctx.rng(INFO.id);
    // band boundaries: K bands of random relative heights in [0.5, 1.5)
    let weights: Vec<f32> = (0..K)
        .map(|j| 0.5 + rng.object(0, j as u32, 2)[0])
        .collect();
    let total: f32 = weights.iter().sum();
    let mut row_factor = vec![0.0f32; height];
    let mut start = 0.0f32;
    for (j, wj) in weights.iter().enumerate() {
        let end = start + wj / total * height as f32;
        let u = 2.0 * rng.object(0, j as u32, 2)[1] - 1.0;
        let (r0, r1) = (start.round() as usize, (end.round() as usize).min(height));
        row_factor[r0..r1].iter_mut().for_each(|f| *f = u);
        start = end;
    }
    row_factor
}

struct Prepped<'a> {
    img: &'a Image,
    /// u_j of the band each row belongs to.
    row_factor: Vec<f32>,
}

impl Prepped<'_> {
    fn shift(&self, y: usize, s: f32) -> f32 {
        s * self.img.width as f32 * self.row_factor[y]
    }
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        let mut out = self.img.clone();
        if s <= 0.0 {
            return out;
        }
        let (w, h) = (self.img.width, self.img.height);
        for (c, plane) in out.planes_mut().enumerate() {
            let src = self.img.plane(c);
            for y in 0..h {
                let d = self.shift(y, s);
                let row = &src[y * w..(y + 1) * w];
                for x in 0..w {
                    let xf = x as f32 - d;
                    let x0 = xf.floor();
                    let t = xf - x0;
                    let x0 = x0 as isize;
                    let a = row[reflect_index(x0, w)];
                    let b = row[reflect_index(x0 + 1, w)];
                    plane[y * w + x] = ((1.0 - t) * a + t * b).clamp(0.0, 1.0);
                }
            }
        }
        out
    }

    /// Same row shifts, nearest neighbour, reflect border. A mask whose size differs from the
    /// prepared image cannot be mapped row by row and is returned unchanged (callers check shapes
    /// when they read masks).
    fn warp_mask(&self, mask: &Mask, s: f32) -> Mask {
        let mut out = mask.clone();
        if s <= 0.0 || mask.width != self.img.width || mask.height != self.img.height {
            return out;
        }
        let w = mask.width;
        for y in 0..mask.height {
            let d = self.shift(y, s);
            for x in 0..w {
                let xs = (x as f32 - d + 0.5).floor() as isize;
                out.data[y * w + x] = mask.data[y * w + reflect_index(xs, w)];
            }
        }
        out
    }
}
