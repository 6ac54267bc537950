//! Separable filtering with scipy.ndimage's `mode='reflect'` border (half-sample symmetric:
//! `d c b a | a b c d | d c b a`), the border rule of the catalogue's blurs and of SSIM.

use super::simd::{column_sums, tap_sums, ROWS};
use rayon::prelude::*;

/// Map an out-of-range index into [0, n) by half-sample symmetric reflection (period 2n), as
/// scipy.ndimage and skimage's SSIM filters do, for any overhang (kernels longer than the image).
#[inline]
pub fn reflect_index(i: isize, n: usize) -> usize {
    let n = n as isize;
    if (0..n).contains(&i) {
        return i as usize;
    }
    let period = 2 * n;
    let mut m = i.rem_euclid(period);
    if m >= n {
        m = period - 1 - m;
    }
    m as usize
}

/// Normalised 1-D Gaussian taps with radius `int(truncate * sigma + 0.5)` (scipy's rule).
/// sigma <= 0 gives the identity kernel `[1.0]`.
pub fn gaussian_kernel(sigma: f64, truncate: f64) -> Vec<f32> {
    if sigma <= 0.0 {
        return vec![1.0];
    }
    let radius = (truncate * sigma + 0.5) as isize;
    let w: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 * (x * x) as f64 / (sigma * sigma)).exp())
        .collect();
    let s: f64 = w.iter().sum();
    w.iter().map(|v| (v / s) as f32).collect()
}

/// Convolve one `w x h` plane with `kx` along rows then `ky` along columns (odd-length,
/// centred kernels), reflect border. Accumulates in f32 in a fixed order: deterministic and
/// independent of thread count.
pub fn convolve_separable(plane: &[f32], w: usize, h: usize, kx: &[f32], ky: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; w * h];
    convolve_separable_into(plane, w, h, kx, ky, |v| v, &mut out);
    out
}

/// [`convolve_separable`] with `post` applied to every output sample as it is written into
/// `out` (`w * h` samples of any type: the clipped or quantised f32 plane, the 8-bit codes), no
/// second pass over the output.
pub fn convolve_separable_into<T: Copy + Send>(
    plane: &[f32],
    w: usize,
    h: usize,
    kx: &[f32],
    ky: &[f32],
    post: impl Fn(f32) -> T + Sync,
    out: &mut [T],
) {
    debug_assert_eq!(plane.len(), w * h);
    assert_eq!(out.len(), w * h, "filter output length");
    if w == 0 || h == 0 {
        return;
    }
    let rx = (kx.len() / 2) as isize;
    let ry = (ky.len() / 2) as isize;
    let xtaps: Vec<(usize, f32)> = kx.iter().enumerate().map(|(k, &wk)| (k, wk)).collect();
    let mut tmp = vec![0.0f32; w * h];
    // where each padded sample comes from: the source index, reflected (one table per call,
    // not per row)
    let pad: Vec<usize> = (-rx..w as isize + rx)
        .map(|i| reflect_index(i, w))
        .collect();
    tmp.par_chunks_mut(w).enumerate().for_each_init(
        || vec![0.0f32; pad.len()],
        |padded, (y, row)| {
            let src = &plane[y * w..(y + 1) * w];
            for (p, &i) in padded.iter_mut().zip(&pad) {
                *p = src[i];
            }
            tap_sums(row, padded, &xtaps);
        },
    );
    // blocks of ROWS output rows: where every tap of the block is inside the plane, one
    // `column_sums` reads each input row once for the block; rows near the border reflect
    out.par_chunks_mut(ROWS * w).enumerate().for_each_init(
        || (vec![0.0f32; ROWS * w], Vec::with_capacity(ky.len())),
        |(acc, taps), (b, block)| {
            let (y0, rows) = (b * ROWS, block.len() / w);
            let ry = ry as usize;
            if y0 >= ry && y0 + rows + ry <= h {
                let acc = &mut acc[..rows * w];
                column_sums(acc, &tmp, w, y0 - ry, ky);
                for (o, &v) in block.iter_mut().zip(acc.iter()) {
                    *o = post(v);
                }
                return;
            }
            for (j, row) in block.chunks_mut(w).enumerate() {
                let y = y0 + j;
                taps.clear();
                taps.extend(
                    ky.iter()
                        .enumerate()
                        .map(|(k, &wk)| (reflect_index((y + k) as isize - ry as isize, h) * w, wk)),
                );
                let acc = &mut acc[..w];
                tap_sums(acc, &tmp, taps);
                for (o, &v) in row.iter_mut().zip(acc.iter()) {
                    *o = post(v);
                }
            }
        },
    );
}

pub fn gaussian_blur_plane(
    plane: &[f32],
    w: usize,
    h: usize,
    sigma: f64,
    truncate: f64,
) -> Vec<f32> {
    if sigma <= 0.0 {
        return plane.to_vec();
    }
    let k = gaussian_kernel(sigma, truncate);
    convolve_separable(plane, w, h, &k, &k)
}

/// [`gaussian_blur_plane`] with `post` fused into the output (see [`convolve_separable_into`]).
pub fn gaussian_blur_plane_into<T: Copy + Send>(
    plane: &[f32],
    w: usize,
    h: usize,
    sigma: f64,
    truncate: f64,
    post: impl Fn(f32) -> T + Sync,
    out: &mut [T],
) {
    let k = gaussian_kernel(sigma, truncate);
    convolve_separable_into(plane, w, h, &k, &k, post, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_scipy_rule() {
        // n = 4: ... 1 0 | 0 1 2 3 | 3 2 ...
        let got: Vec<usize> = (-5..9).map(|i| reflect_index(i, 4)).collect();
        assert_eq!(got, vec![3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0, 0]);
    }

    #[test]
    fn gaussian_kernel_radius_and_sum() {
        let k = gaussian_kernel(1.5, 3.5);
        assert_eq!(k.len(), 11);
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(gaussian_kernel(2.0, 4.0).len(), 17);
    }

    #[test]
    fn separable_is_the_per_pixel_tap_loop_bit_for_bit() {
        for (w, h) in [(13usize, 7usize), (200, 9), (5, 140)] {
            let p: Vec<f32> = (0..w * h).map(|i| ((i * 53) % 29) as f32 / 28.0).collect();
            for sigma in [0.7, 3.0, 12.5] {
                let k = gaussian_kernel(sigma, 4.0);
                let r = (k.len() / 2) as isize;
                let got = convolve_separable(&p, w, h, &k, &k);
                let mut tmp = vec![0.0f32; w * h];
                for y in 0..h {
                    for x in 0..w {
                        let mut acc = 0.0f32;
                        for (j, &wk) in k.iter().enumerate() {
                            acc += wk * p[y * w + reflect_index(x as isize + j as isize - r, w)];
                        }
                        tmp[y * w + x] = acc;
                    }
                }
                for y in 0..h {
                    for x in 0..w {
                        let mut acc = 0.0f32;
                        for (j, &wk) in k.iter().enumerate() {
                            acc += wk * tmp[reflect_index(y as isize + j as isize - r, h) * w + x];
                        }
                        assert_eq!(
                            got[y * w + x].to_bits(),
                            acc.to_bits(),
                            "{w}x{h} sigma {sigma} ({x}, {y})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn blur_preserves_constant_and_mean() {
        let (w, h) = (13, 7);
        let p = vec![0.25f32; w * h];
        let b = gaussian_blur_plane(&p, w, h, 3.0, 4.0);
        assert!(b.iter().all(|v| (v - 0.25).abs() < 1e-6));
    }
}
