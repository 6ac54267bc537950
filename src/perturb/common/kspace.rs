//! 2-D discrete Fourier transforms of one image plane (numpy conventions), for the k-space
//! perturbations (MRI ghosting and motion).
//!
//! Contract: [`fft2`] is numpy's `fft2` (unnormalised forward transform, `e^{-2 pi i k n / N}`),
//! [`ifft2`] is numpy's `ifft2` (scaled by `1 / (w h)`), both in f64 on a row-major `w x h` plane.
//! [`fftshift`] / [`ifftshift`] move the zero frequency to / from index `(h / 2, w / 2)` exactly as
//! numpy does (they differ for odd sizes). Deterministic: no threads, fixed plan per length.

use rustfft::num_complex::Complex64;
use rustfft::FftPlanner;

/// Forward or inverse 2-D FFT in place on a row-major `w x h` spectrum; rows first, then columns.
fn transform(data: &mut [Complex64], w: usize, h: usize, inverse: bool) {
    debug_assert_eq!(data.len(), w * h);
    let mut planner = FftPlanner::<f64>::new();
    let (row_fft, col_fft) = if inverse {
        (planner.plan_fft_inverse(w), planner.plan_fft_inverse(h))
    } else {
        (planner.plan_fft_forward(w), planner.plan_fft_forward(h))
    };
    // rows are contiguous: one batched call over the whole buffer
    row_fft.process(data);
    let mut col = vec![Complex64::new(0.0, 0.0); h];
    for x in 0..w {
        for y in 0..h {
            col[y] = data[y * w + x];
        }
        col_fft.process(&mut col);
        for y in 0..h {
            data[y * w + x] = col[y];
        }
    }
}

/// numpy `fft2` of a real plane.
pub fn fft2(plane: &[f32], w: usize, h: usize) -> Vec<Complex64> {
    let mut data: Vec<Complex64> = plane
        .iter()
        .map(|&v| Complex64::new(v as f64, 0.0))
        .collect();
    transform(&mut data, w, h, false);
    data
}

/// numpy `ifft2` in place (includes the `1 / (w h)` factor).
pub fn ifft2(spec: &mut [Complex64], w: usize, h: usize) {
    transform(spec, w, h, true);
    let k = 1.0 / (w * h) as f64;
    for v in spec.iter_mut() {
        *v *= k;
    }
}

/// Unnormalised 1-D DFT of every column of a row-major `w x h` array in place (forward
/// `e^{-2 pi i k n / h}`, or inverse `e^{+...}` without the `1 / h` factor): the transform along
/// y alone, for k-space operations that mask whole ky rows (mri_motion).
pub fn fft_columns(data: &mut [Complex64], w: usize, h: usize, inverse: bool) {
    debug_assert_eq!(data.len(), w * h);
    let mut planner = FftPlanner::<f64>::new();
    let f = if inverse {
        planner.plan_fft_inverse(h)
    } else {
        planner.plan_fft_forward(h)
    };
    let mut col = vec![Complex64::new(0.0, 0.0); h];
    for x in 0..w {
        for y in 0..h {
            col[y] = data[y * w + x];
        }
        f.process(&mut col);
        for y in 0..h {
            data[y * w + x] = col[y];
        }
    }
}

/// Circular shift of a row-major plane by (dy, dx) (numpy `roll` on both axes).
fn roll<T: Copy>(data: &[T], w: usize, h: usize, dy: usize, dx: usize) -> Vec<T> {
    let mut out = data.to_vec();
    for y in 0..h {
        let ty = (y + dy) % h;
        for x in 0..w {
            out[ty * w + (x + dx) % w] = data[y * w + x];
        }
    }
    out
}

/// numpy `fftshift`: zero frequency to `(h / 2, w / 2)`.
pub fn fftshift<T: Copy>(data: &[T], w: usize, h: usize) -> Vec<T> {
    roll(data, w, h, h / 2, w / 2)
}

/// numpy `ifftshift`: the inverse of [`fftshift`].
pub fn ifftshift<T: Copy>(data: &[T], w: usize, h: usize) -> Vec<T> {
    roll(data, w, h, h - h / 2, w - w / 2)
}

/// Signed frequency index of bin `k` of an `n`-point DFT (numpy `fftfreq(n) * n`).
#[inline]
pub fn signed_freq(k: usize, n: usize) -> f64 {
    if k <= (n - 1) / 2 {
        k as f64
    } else {
        k as f64 - n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_dc() {
        let (w, h) = (7, 6);
        let p: Vec<f32> = (0..w * h).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
        let mut s = fft2(&p, w, h);
        let sum: f64 = p.iter().map(|&v| v as f64).sum();
        assert!((s[0].re - sum).abs() < 1e-9 && s[0].im.abs() < 1e-9);
        ifft2(&mut s, w, h);
        for (a, b) in s.iter().zip(&p) {
            assert!((a.re - *b as f64).abs() < 1e-12 && a.im.abs() < 1e-12);
        }
    }

    #[test]
    fn shift_matches_numpy_for_odd_and_even() {
        // numpy: fftshift(arange(5)) = [3 4 0 1 2]; ifftshift(arange(5)) = [2 3 4 0 1]
        let v: Vec<u8> = (0..5).collect();
        assert_eq!(fftshift(&v, 5, 1), vec![3, 4, 0, 1, 2]);
        assert_eq!(ifftshift(&v, 5, 1), vec![2, 3, 4, 0, 1]);
        let v: Vec<u8> = (0..4).collect();
        assert_eq!(fftshift(&v, 1, 4), vec![2, 3, 0, 1]);
        assert_eq!(ifftshift(&fftshift(&v, 1, 4), 1, 4), v);
    }

    #[test]
    fn signed_frequencies() {
        let f: Vec<f64> = (0..5).map(|k| signed_freq(k, 5)).collect();
        assert_eq!(f, vec![0.0, 1.0, 2.0, -2.0, -1.0]);
        let f: Vec<f64> = (0..4).map(|k| signed_freq(k, 4)).collect();
        assert_eq!(f, vec![0.0, 1.0, -2.0, -1.0]);
    }
}
