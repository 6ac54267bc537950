//! Point-spread functions that are not separable: the anti-aliased uniform disk (defocus of a
//! circular aperture in geometric optics, as ImageNet-C `defocus_blur` uses), and 2-D
//! convolution with scipy's 'reflect' border.

use super::filter::reflect_index;
use rayon::prelude::*;

/// A normalised disk kernel of continuous `radius` px: tap weight `clamp(radius + 0.5 - d, 0, 1)`
/// at distance d from the centre, so the kernel grows continuously with the radius and is the
/// identity `[1.0]` for radius <= 0.5. Returns (taps, side) with side = 2 * ceil(radius) + 1.
pub fn disk_kernel(radius: f32) -> (Vec<f32>, usize) {
    let r = radius.max(0.0);
    let half = (r + 0.5).ceil() as isize - 1;
    let half = half.max(0);
    let side = (2 * half + 1) as usize;
    let mut k = Vec::with_capacity(side * side);
    for y in -half..=half {
        for x in -half..=half {
            let d = ((x * x + y * y) as f32).sqrt();
            k.push((r + 0.5 - d).clamp(0.0, 1.0));
        }
    }
    // the centre tap is always 1, so the sum is > 0
    let s: f32 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    (k, side)
}

/// Convolve a `w x h` plane with a square `side x side` centred kernel, reflect border
/// (half-sample symmetric, scipy.ndimage `mode='reflect'`). Fixed accumulation order per pixel:
/// deterministic regardless of thread count.
pub fn convolve2d(plane: &[f32], w: usize, h: usize, kernel: &[f32], side: usize) -> Vec<f32> {
    debug_assert_eq!(kernel.len(), side * side);
    if side == 1 {
        return plane.iter().map(|v| v * kernel[0]).collect();
    }
    let r = (side / 2) as isize;
    // pre-reflected column and row index tables
    let xs: Vec<usize> = (-r..w as isize + r).map(|i| reflect_index(i, w)).collect();
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        for ky in 0..side {
            let yi = reflect_index(y as isize + ky as isize - r, h);
            let src = &plane[yi * w..(yi + 1) * w];
            let krow = &kernel[ky * side..(ky + 1) * side];
            for (kx, &wk) in krow.iter().enumerate() {
                if wk == 0.0 {
                    continue;
                }
                let idx = &xs[kx..kx + w];
                for (o, &xi) in row.iter_mut().zip(idx) {
                    *o += wk * src[xi];
                }
            }
        }
    });
    out
}

/// One kernel row of a disk: (row offset, run of full-weight taps [lo, hi], partial taps (offset, weight)).
type DiskRow = (isize, Option<(isize, isize)>, Vec<(isize, f32)>);

/// Convolution with the disk of [`disk_kernel`]`(radius)`, reflect border, equal to
/// `convolve2d(plane, w, h, disk_kernel(radius))` up to f32 rounding (tested), in
/// O(w h (2 radius + circumference)) instead of O(w h radius^2): each kernel row is a run of
/// full-weight taps, summed from f64 prefix sums of the reflect-padded source row, plus the few
/// anti-aliased edge taps done explicitly. Deterministic (fixed order, no thread dependence).
pub fn convolve_disk(plane: &[f32], w: usize, h: usize, radius: f32) -> Vec<f32> {
    let r = radius.max(0.0);
    let half = ((r + 0.5).ceil() as isize - 1).max(0);
    if half == 0 {
        return plane.to_vec();
    }
    // raw weights per kernel row: a run of 1.0 taps [lo, hi] and partial taps
    let mut rows: Vec<DiskRow> = Vec::new();
    let mut total = 0.0f64;
    for ky in -half..=half {
        let mut run: Option<(isize, isize)> = None;
        let mut partial = Vec::new();
        for kx in -half..=half {
            let d = ((kx * kx + ky * ky) as f32).sqrt();
            let wgt = (r + 0.5 - d).clamp(0.0, 1.0);
            if wgt >= 1.0 {
                run = Some(run.map_or((kx, kx), |(lo, _)| (lo, kx)));
            } else if wgt > 0.0 {
                partial.push((kx, wgt));
            }
            total += wgt as f64;
        }
        rows.push((ky, run, partial));
    }
    let inv = 1.0 / total;
    let pad = half as usize;
    let pw = w + 2 * pad;
    let xs: Vec<usize> = (-(half)..(w as isize + half)).map(|i| reflect_index(i, w)).collect();
    // f64 prefix sums of every reflect-padded source row: prefix[y][j] = sum of padded[0..j]
    let prefix: Vec<Vec<f64>> = (0..h)
        .into_par_iter()
        .map(|y| {
            let src = &plane[y * w..(y + 1) * w];
            let mut p = Vec::with_capacity(pw + 1);
            let mut acc = 0.0f64;
            p.push(0.0);
            for &xi in &xs {
                acc += src[xi] as f64;
                p.push(acc);
            }
            p
        })
        .collect();
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
        let mut acc = vec![0.0f64; w];
        for (ky, run, partial) in &rows {
            let yi = reflect_index(y as isize + ky, h);
            let p = &prefix[yi];
            if let Some((lo, hi)) = run {
                let (lo, hi) = ((lo + half) as usize, (hi + half) as usize);
                for (x, a) in acc.iter_mut().enumerate() {
                    *a += p[x + hi + 1] - p[x + lo];
                }
            }
            for &(kx, wgt) in partial {
                let k = (kx + half) as usize;
                for (x, a) in acc.iter_mut().enumerate() {
                    *a += wgt as f64 * (p[x + k + 1] - p[x + k]);
                }
            }
        }
        for (o, a) in row.iter_mut().zip(&acc) {
            *o = (a * inv) as f32;
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_disk_equals_direct_convolution() {
        let (w, h) = (23, 17);
        let plane: Vec<f32> = (0..w * h).map(|i| ((i * 53) % 19) as f32 / 18.0).collect();
        for r in [0.3f32, 0.7, 1.0, 2.5, 4.2, 9.9] {
            let (k, side) = disk_kernel(r);
            let direct = convolve2d(&plane, w, h, &k, side);
            let fast = convolve_disk(&plane, w, h, r);
            for (a, b) in direct.iter().zip(&fast) {
                assert!((a - b).abs() < 2e-6, "r={r}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn disk_identity_and_growth() {
        assert_eq!(disk_kernel(0.0), (vec![1.0], 1));
        assert_eq!(disk_kernel(0.5).1, 1);
        let (k, side) = disk_kernel(1.0);
        assert_eq!(side, 3);
        // d = 1 taps have weight 0.5, diagonal (d = 1.414) 0.086, centre 1
        let s = 1.0 + 4.0 * 0.5 + 4.0 * (1.5 - 2f32.sqrt());
        assert!((k[4] - 1.0 / s).abs() < 1e-6 && (k[1] - 0.5 / s).abs() < 1e-6);
    }

    #[test]
    fn convolve_keeps_constants_and_matches_naive() {
        let (w, h) = (9, 6);
        let plane: Vec<f32> = (0..w * h).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
        let (k, side) = disk_kernel(2.3);
        let got = convolve2d(&plane, w, h, &k, side);
        let r = (side / 2) as isize;
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0f64;
                for ky in 0..side {
                    for kx in 0..side {
                        let yi = reflect_index(y as isize + ky as isize - r, h);
                        let xi = reflect_index(x as isize + kx as isize - r, w);
                        acc += k[ky * side + kx] as f64 * plane[yi * w + xi] as f64;
                    }
                }
                assert!((got[y * w + x] as f64 - acc).abs() < 1e-5);
            }
        }
        let c = convolve2d(&vec![0.3; w * h], w, h, &k, side);
        assert!(c.iter().all(|v| (v - 0.3).abs() < 1e-6));
    }
}
