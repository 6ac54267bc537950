//! `mri_ghosting`: discrete ghosts along the phase-encode direction from periodic motion or
//! signal modulation (pulsatile flow, respiration), in torchio's `Ghosting` form:
//! spectrum `S = fftshift(fft2(x))`; every n-th plane along the phase axis (indices 0, n, 2n, ... of
//! the shifted spectrum) is multiplied by `1 - s`; the centre plane (index `len / 2`) is restored
//! (torchio's `restore=None`); output `real(ifft2(ifftshift(S)))`.
//!
//! Because the map is linear in s, `prepare` computes the ghost component
//! `G = real(ifft2(ifftshift(M * S)))` (M: the modified planes minus the restored one) once, and
//! `apply(s) = clip(x - s G)`, no FFT per call and exactly x at s = 0. n (2-4) and the phase axis
//! (rows or columns) are fixed per seed; torchio's default draws n in 4-10, which cannot reach
//! SSIM L5: fewer, stronger ghosts are used instead. The range is 0-2: beyond s = 1 the selected
//! lines change sign (a phase error of pi), the ghosts grow further.
//! Source: torchio 1.2.1 `Ghosting.add_artifact`; tested against fixtures produced by
//! tools/gen_torchio_fixtures.py within 1e-5.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::grey::map_pixels;
use crate::perturb::common::kspace::{fft2, fftshift, ifft2, ifftshift};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};
use rustfft::num_complex::Complex64;

pub struct MriGhosting;

const INFO: Info = Info {
    id: "mri_ghosting",
    category: Category::Medical,
    modality: Some(Modality::Mri),
    model: "k-space: every n-th phase-encode line (n = 2-4 and axis fixed per image) scaled by (1 - s), centre line restored (torchio Ghosting); clip",
    strength_name: "ghost intensity (torchio intensity; > 1 inverts the lines)",
    strength_range: (0.0, 2.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "torchio 1.2.1 RandomGhosting / Ghosting (restore=None)",
    monotone_tolerance: 0.0,
    device: Device::search(Family::MriGhosting, "mri_ghosting"),
};

/// The planes torchio restores along an axis of length `n`: `[mid, mid + 1)` for `None`, else
/// `[mid - size / 2, mid + size / 2)` with `size = round(restore * n)` (numpy round half to even;
/// note size 1 restores nothing, as in torchio).
fn restored(n: usize, restore: Option<f64>) -> std::ops::Range<usize> {
    let mid = n / 2;
    match restore {
        None => mid..mid + 1,
        Some(r) => {
            let size = (r * n as f64).round_ties_even() as usize;
            mid.saturating_sub(size / 2)..(mid + size / 2).min(n)
        }
    }
}

/// The ghost component `real(ifft2(ifftshift(M * fftshift(fft2(x)))))` of one `w x h` plane:
/// M keeps the planes `0, n, 2n, ...` along `axis` (0 = rows / y, 1 = columns / x, torchio's first
/// and second spatial axes of a `1 x h x w x 1` volume) that are not restored.
pub fn ghost_component(
    plane: &[f32],
    w: usize,
    h: usize,
    num_ghosts: usize,
    axis: usize,
    restore: Option<f64>,
) -> Vec<f64> {
    let spec = fftshift(&fft2(plane, w, h), w, h);
    let len = if axis == 0 { h } else { w };
    let keep = restored(len, restore);
    let zero = Complex64::new(0.0, 0.0);
    let mut sel = vec![zero; w * h];
    if num_ghosts > 0 {
        for y in 0..h {
            for x in 0..w {
                let k = if axis == 0 { y } else { x };
                if k % num_ghosts == 0 && !keep.contains(&k) {
                    sel[y * w + x] = spec[y * w + x];
                }
            }
        }
    }
    let mut sel = ifftshift(&sel, w, h);
    ifft2(&mut sel, w, h);
    sel.iter().map(|c| c.re).collect()
}

/// torchio `Ghosting(num_ghosts, axis, intensity, restore)` on one plane, unclipped:
/// `x - intensity * G` (identical to torchio's spectrum edit by linearity).
pub fn torchio_ghosting(
    plane: &[f32],
    w: usize,
    h: usize,
    num_ghosts: usize,
    axis: usize,
    intensity: f64,
    restore: Option<f64>,
) -> Vec<f32> {
    if num_ghosts == 0 || intensity == 0.0 {
        return plane.to_vec();
    }
    let g = ghost_component(plane, w, h, num_ghosts, axis, restore);
    plane
        .iter()
        .zip(&g)
        .map(|(&v, &gv)| (v as f64 - intensity * gv) as f32)
        .collect()
}

/// The (num_ghosts, axis) this perturbation uses for (seed, image): n in 2..=4, axis 0 or 1.
pub fn ghost_settings(ctx: &Ctx) -> (usize, usize) {
    let rng = ctx.rng(INFO.id);
    let n = 2 + (rng.param(0) * 3.0).floor().min(2.0) as usize;
    let axis = if rng.param(1) < 0.5 { 0 } else { 1 };
    (n, axis)
}

/// The f32 ghost component G of every channel (planar, like the image) for (seed, image): the
/// strength-independent part of `apply(s) = clip(x - s G)`, also uploaded by the CUDA kernel.
pub fn ghost_field(img: &Image, ctx: &Ctx) -> Vec<f32> {
    let (n, axis) = ghost_settings(ctx);
    let (w, h) = (img.width, img.height);
    let mut ghost = Vec::with_capacity(img.data.len());
    for plane in img.planes() {
        ghost.extend(
            ghost_component(plane, w, h, n, axis, None)
                .iter()
                .map(|&v| v as f32),
        );
    }
    ghost
}

struct Prep<'a> {
    img: &'a Image,
    /// Ghost component per channel (planar, like the image).
    ghost: Vec<f32>,
}

impl Perturbation for MriGhosting {
    /// On a volume: one acquisition, the same draws for every slice (src/perturb/volume.rs).
    fn volume_form(&self) -> crate::perturb::VolumeForm {
        crate::perturb::VolumeForm::OneAcquisition
    }

    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prep {
            img,
            ghost: ghost_field(img, ctx),
        }))
    }
}

impl Prepared for Prep<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        let n = self.img.plane_len();
        let mut out = self.img.clone();
        for (c, plane) in out.planes_mut().enumerate() {
            let g = &self.ghost[c * n..(c + 1) * n];
            for (v, gv) in plane.iter_mut().zip(g) {
                *v -= s * gv;
            }
        }
        map_pixels(&out, |_, v| v)
    }
}
