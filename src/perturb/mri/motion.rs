//! `mri_motion`: rigid in-plane translation of the patient between k-space segments.
//!
//! Model: k-space `F = fft2(x)` is acquired line by line along the phase-encode axis (rows of
//! k-space, ky); the lines are split into 6 contiguous segments in acquisition order (ky from
//! -h/2 up). The segment holding ky = 0 is the reference position (as torchio `Motion` keeps the
//! untransformed spectrum for the centre segment); every other segment j saw the object shifted
//! by `s * (ux_j, uy_j) * min(w, h) / 256` px (s is in pixels of a 256 px image, so a strength
//! means the same motion at any resolution), `u ~ U(-1, 1)^2` fixed per seed, which multiplies
//! its lines by the phase ramp `exp(-2 pi i (kx dx / w + ky dy / h))` (Fourier shift theorem),
//! with the phase of each k-space sample clamped to [-pi, pi]: beyond a half-cycle a sample is
//! already maximally decorrelated (sign-flipped), and without the clamp its error `|e^{i phi} - 1|` would shrink
//! again as the phase wraps, making SSIM rise with s (measured up-steps of 0.016 on the phantom).
//! With it every sample's error is non-decreasing in s. Range 0-10 (L5 near 4-7 on the phantom).
//! Output `clip(real(ifft2(F')))`, computed as `x + real(ifft2(F' - F))` so s = 0 is exactly x.
//! Source: torchio `Motion` (segments of k-space from displaced copies, real part) and the
//! reference `_mri_motion_artifacts_single` (per-line phase ramps with displacement T).

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::grey::map_pixels;
use crate::perturb::common::kspace::{fft2, ifft2, signed_freq};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};
use rustfft::num_complex::Complex64;
use std::f64::consts::PI;

pub struct MriMotion;

/// Number of k-space segments (shots) in acquisition order.
const SEGMENTS: usize = 6;

const INFO: Info = Info {
    id: "mri_motion",
    category: Category::Medical,
    modality: Some(Modality::Mri),
    model: "k-space segments (6, along ky) acquired at positions shifted by s (ux, uy), u fixed per image: phase ramps exp(-2 pi i k.d) with |phase| clamped at pi, centre segment fixed; real part, clip",
    strength_name: "displacement scale (px at 256 px)",
    strength_range: (0.0, 10.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "torchio Motion (segmented k-space, real part); reference SEG _mri_motion_artifacts_single",
    monotone_tolerance: 0.0,
};

/// The strength-independent part of `mri_motion` for one image: what `prepare` computes and what
/// the CUDA kernel (kernels/mri_motion.cuh) uploads, so both start from the same values.
pub struct MotionSpectra {
    /// numpy `fft2` of every channel, planar (`c * w * h` values, row-major per channel).
    pub spectra: Vec<Complex64>,
    /// Displacement direction (ux, uy) of each k-space row ky (`h` values); exactly (0, 0) for
    /// the reference (centre) segment, whose rows contribute nothing.
    pub row_shift: Vec<(f64, f64)>,
}

/// The spectra and per-row shifts of `img` under `ctx` (the CPU `prepare`'s own draws).
pub fn motion_spectra(img: &Image, ctx: &Ctx) -> MotionSpectra {
    let rng = ctx.rng(INFO.id);
    let (w, h) = (img.width, img.height);
    let shifts: Vec<(f64, f64)> = (0..SEGMENTS)
        .map(|j| {
            let u = rng.object(0, j as u32, 2);
            (2.0 * u[0] as f64 - 1.0, 2.0 * u[1] as f64 - 1.0)
        })
        .collect();
    // acquisition order: ky = -h/2 .. h/2; segment of a row from its position in that order
    let centre_seg = (h / 2) * SEGMENTS / h.max(1);
    let row_shift = (0..h)
        .map(|ky| {
            let order = (signed_freq(ky, h) + (h / 2) as f64) as usize;
            let seg = (order * SEGMENTS / h).min(SEGMENTS - 1);
            if seg == centre_seg {
                (0.0, 0.0)
            } else {
                shifts[seg]
            }
        })
        .collect();
    let mut spectra = Vec::with_capacity(img.data.len());
    for plane in img.planes() {
        spectra.extend(fft2(plane, w, h));
    }
    MotionSpectra { spectra, row_shift }
}

/// The strength in pixels of this image: `s * min(w, h) / 256` (twin: kernels/mri_motion.cuh
/// `mfr_motion_scale`).
pub fn motion_scale(s: f32, w: usize, h: usize) -> f64 {
    s as f64 * w.min(h) as f64 / 256.0
}

struct Prep<'a> {
    img: &'a Image,
    m: MotionSpectra,
}

impl Perturbation for MriMotion {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prep {
            img,
            m: motion_spectra(img, ctx),
        }))
    }
}

impl Prepared for Prep<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        let (w, h) = (self.img.width, self.img.height);
        let n = w * h;
        let s = motion_scale(s, w, h);
        let mut out = self.img.clone();
        for (c, plane) in out.planes_mut().enumerate() {
            let f = &self.m.spectra[c * n..(c + 1) * n];
            let mut d = vec![Complex64::new(0.0, 0.0); n];
            for ky in 0..h {
                let (ux, uy) = self.m.row_shift[ky];
                if ux == 0.0 && uy == 0.0 {
                    continue;
                }
                let fy = signed_freq(ky, h) / h as f64;
                for kx in 0..w {
                    let fx = signed_freq(kx, w) / w as f64;
                    let phase = (-std::f64::consts::TAU * s * (fx * ux + fy * uy)).clamp(-PI, PI);
                    let ramp = Complex64::new(phase.cos() - 1.0, phase.sin());
                    d[ky * w + kx] = f[ky * w + kx] * ramp;
                }
            }
            ifft2(&mut d, w, h);
            for (v, dv) in plane.iter_mut().zip(&d) {
                *v += dv.re as f32;
            }
        }
        map_pixels(&out, |_, v| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract the CUDA wrapper relies on (src/backend/motion_pack.rs): planar spectra of
    /// every channel, one shift per row, exactly (0, 0) on the centre segment (which holds
    /// ky = 0) and a non-zero shift in (-1, 1)^2 on every other row.
    #[test]
    fn motion_spectra_layout() {
        for &(w, h, c) in &[(13usize, 11usize, 1usize), (8, 8, 3), (1, 7, 1), (5, 2, 1)] {
            let mut img = Image::new(w, h, c);
            for (i, v) in img.data.iter_mut().enumerate() {
                *v = ((i * 37) % 11) as f32 / 10.0;
            }
            let m = motion_spectra(&img, &Ctx::new(3, 4));
            assert_eq!(m.spectra.len(), w * h * c);
            assert_eq!(m.row_shift.len(), h);
            for (ch, plane) in img.planes().enumerate() {
                assert_eq!(
                    &m.spectra[ch * w * h..(ch + 1) * w * h],
                    &fft2(plane, w, h)[..]
                );
            }
            assert_eq!(
                m.row_shift[0],
                (0.0, 0.0),
                "{w}x{h}: ky = 0 is in the reference segment"
            );
            let moved = m
                .row_shift
                .iter()
                .filter(|&&(x, y)| x != 0.0 || y != 0.0)
                .count();
            assert!(moved < h, "{w}x{h}: the centre segment is fixed");
            for &(x, y) in &m.row_shift {
                assert!(x.abs() < 1.0 && y.abs() < 1.0);
            }
        }
        // s <= 0 is the input, exactly
        let img = Image::new(6, 5, 1);
        let p = MriMotion.prepare(&img, &Ctx::new(0, 0)).unwrap();
        assert_eq!(p.apply(0.0).data, img.data);
    }
}
