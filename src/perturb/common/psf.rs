//! Point-spread functions as sparse 2-D kernels and their convolution with scipy's 'reflect'
//! border (half-sample symmetric): the anti-aliased line (motion blur) and the anti-aliased
//! uniform disk (defocus of a circular aperture, as ImageNet-C `defocus_blur`), with a fast
//! run-length disk convolution.
//!
//! Contract: `out(x, y) = sum_k w_k * in(reflect(x + dx_k), reflect(y + dy_k))`, taps in a fixed
//! order (row-major over the kernel support), accumulated in f32: deterministic and independent of
//! thread count. Kernels built here are normalised (weights sum to 1) and point-symmetric, so
//! correlation and convolution coincide.

use super::filter::reflect_index;
use super::simd::tap_sums;
use rayon::prelude::*;

/// A 2-D kernel as a list of non-zero taps `(dx, dy, weight)`.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseKernel {
    pub taps: Vec<(isize, isize, f32)>,
}

impl SparseKernel {
    pub fn identity() -> Self {
        SparseKernel {
            taps: vec![(0, 0, 1.0)],
        }
    }
}

/// Sub-step of the line integration in [`line_psf`], in pixels.
const LINE_STEP: f64 = 0.125;

/// Radius r of the (2r + 1)^2 grid [`line_psf`] splats a line of `length` > 0 px onto:
/// ceil(length / 2) + 1 (the CUDA twin sizes its buffers with it).
pub fn line_psf_radius(length: f64) -> isize {
    (length * 0.5).ceil() as isize + 1
}

/// Anti-aliased line PSF: a segment of `length` pixels centred on the origin at `angle` radians
/// (0 = along +x, pi/2 = along +y), integrated with bilinear splatting in steps of 1/8 px. The
/// last step is fractional (its weight is the remaining length), so the kernel, and hence any
/// blurred image, is a continuous function of `length`; `length <= 0` gives the identity.
pub fn line_psf(length: f64, angle: f64) -> SparseKernel {
    if length.is_nan() || length <= 0.0 {
        return SparseKernel::identity();
    }
    let half = length * 0.5;
    let r = line_psf_radius(length);
    let side = (2 * r + 1) as usize;
    let mut grid = vec![0.0f64; side * side];
    let (sn, cs) = angle.sin_cos();
    let mut splat = |t: f64, weight: f64| {
        let (px, py) = (t * cs + r as f64, t * sn + r as f64);
        let (x0, y0) = (px.floor(), py.floor());
        let (fx, fy) = (px - x0, py - y0);
        let (x0, y0) = (x0 as usize, y0 as usize);
        grid[y0 * side + x0] += weight * (1.0 - fx) * (1.0 - fy);
        grid[y0 * side + x0 + 1] += weight * fx * (1.0 - fy);
        grid[(y0 + 1) * side + x0] += weight * (1.0 - fx) * fy;
        grid[(y0 + 1) * side + x0 + 1] += weight * fx * fy;
    };
    // pieces [k*step, (k+1)*step] on both sides of the centre, the last one partial
    let mut k = 0usize;
    loop {
        let a = k as f64 * LINE_STEP;
        if a >= half {
            break;
        }
        let b = (a + LINE_STEP).min(half);
        let mid = 0.5 * (a + b);
        splat(mid, b - a);
        splat(-mid, b - a);
        k += 1;
    }
    let total: f64 = grid.iter().sum();
    let mut taps = Vec::new();
    for (i, &v) in grid.iter().enumerate() {
        if v > 0.0 {
            let dx = (i % side) as isize - r;
            let dy = (i / side) as isize - r;
            taps.push((dx, dy, (v / total) as f32));
        }
    }
    SparseKernel { taps }
}

/// Convolve one `w x h` plane with a sparse kernel, reflect border (see module contract).
///
/// The plane is first extended by the kernel's reach on every side with the reflect rule (a
/// padded copy, `out` of the border handled once), then every output row sums its taps in
/// kernel order in register-sized chunks (`simd::tap_sums`): the same f32 sums in the same order
/// as a per-pixel loop over the taps with reflected indices.
pub fn convolve_sparse(plane: &[f32], w: usize, h: usize, kernel: &SparseKernel) -> Vec<f32> {
    let mut out = vec![0.0f32; w * h];
    convolve_sparse_into(plane, w, h, kernel, |v| v, &mut out);
    out
}

/// [`convolve_sparse`] with `post` applied to every output sample as it is written into `out`
/// (`w * h` samples of any type), no second pass over the output.
pub fn convolve_sparse_into<T: Copy + Send>(
    plane: &[f32],
    w: usize,
    h: usize,
    kernel: &SparseKernel,
    post: impl Fn(f32) -> T + Sync,
    out: &mut [T],
) {
    assert_eq!(out.len(), w * h, "filter output length");
    if w == 0 || h == 0 {
        return;
    }
    let r = kernel
        .taps
        .iter()
        .map(|&(dx, dy, _)| dx.abs().max(dy.abs()))
        .max()
        .unwrap_or(0);
    let pw = w + 2 * r as usize;
    let ph = h + 2 * r as usize;
    let xmap: Vec<usize> = (-r..w as isize + r).map(|i| reflect_index(i, w)).collect();
    let mut padded = vec![0.0f32; pw * ph];
    padded
        .par_chunks_mut(pw)
        .enumerate()
        .for_each(|(py, prow)| {
            let src = &plane[reflect_index(py as isize - r, h) * w..][..w];
            for (o, &xi) in prow.iter_mut().zip(&xmap) {
                *o = src[xi];
            }
        });
    out.par_chunks_mut(w).enumerate().for_each_init(
        || vec![0.0f32; w],
        |acc, (y, row)| {
            let taps: Vec<(usize, f32)> = kernel
                .taps
                .iter()
                .map(|&(dx, dy, wk)| {
                    (
                        ((y as isize + dy + r) as usize) * pw + (dx + r) as usize,
                        wk,
                    )
                })
                .collect();
            tap_sums(acc, &padded, &taps);
            for (o, &v) in row.iter_mut().zip(acc.iter()) {
                *o = post(v);
            }
        },
    );
}

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

/// The disk of [`disk_kernel`] as a [`SparseKernel`] (for [`convolve_sparse`]; the fast path is
/// [`convolve_disk`]).
pub fn disk_psf(radius: f32) -> SparseKernel {
    let (k, side) = disk_kernel(radius);
    let r = (side / 2) as isize;
    let taps = k
        .iter()
        .enumerate()
        .filter(|(_, &w)| w != 0.0)
        .map(|(i, &w)| ((i % side) as isize - r, (i / side) as isize - r, w))
        .collect();
    SparseKernel { taps }
}

/// One kernel row of a disk: (row offset, run of full-weight taps [lo, hi], partial taps (offset, weight)).
type DiskRow = (isize, Option<(isize, isize)>, Vec<(isize, f32)>);

/// Convolution with the disk of [`disk_kernel`]`(radius)`, reflect border, equal to
/// `convolve_sparse(plane, w, h, &disk_psf(radius))` up to f32 rounding (tested), in
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
    let xs: Vec<usize> = (-(half)..(w as isize + half))
        .map(|i| reflect_index(i, w))
        .collect();
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
    fn line_psf_is_normalised_centred_and_continuous() {
        for &(len, ang) in &[(0.3, 0.0), (5.0, 0.7), (17.4, 2.0), (40.0, 1.2)] {
            let k = line_psf(len, ang);
            let sum: f64 = k.taps.iter().map(|t| t.2 as f64).sum();
            assert!((sum - 1.0).abs() < 1e-5);
            let cx: f64 = k.taps.iter().map(|t| t.0 as f64 * t.2 as f64).sum();
            let cy: f64 = k.taps.iter().map(|t| t.1 as f64 * t.2 as f64).sum();
            assert!(
                cx.abs() < 1e-5 && cy.abs() < 1e-5,
                "{len} {ang}: centroid {cx} {cy}"
            );
            // second moment along the line = length^2 / 12 (uniform segment) up to discretisation
            let (sn, cs) = f64::sin_cos(ang);
            let m2: f64 = k
                .taps
                .iter()
                .map(|t| (t.0 as f64 * cs + t.1 as f64 * sn).powi(2) * t.2 as f64)
                .sum();
            assert!(
                (m2 - len * len / 12.0).abs() < 0.2 + 0.02 * len * len / 12.0,
                "{len}: {m2}"
            );
        }
        // a tiny length change is a tiny kernel change
        let a = line_psf(7.0, 0.4);
        let b = line_psf(7.001, 0.4);
        let diff: f32 = a
            .taps
            .iter()
            .zip(&b.taps)
            .map(|(p, q)| (p.2 - q.2).abs())
            .sum();
        assert_eq!(a.taps.len(), b.taps.len());
        assert!(diff < 1e-3, "{diff}");
    }

    #[test]
    fn horizontal_line_matches_direct_sum() {
        let (w, h) = (11, 5);
        let p: Vec<f32> = (0..w * h).map(|i| ((i * 37) % 23) as f32 / 23.0).collect();
        let k = SparseKernel {
            taps: vec![(-3, 0, 0.25), (0, 1, 0.5), (2, -2, 0.25)],
        };
        let out = convolve_sparse(&p, w, h, &k);
        for y in 0..h {
            for x in 0..w {
                let mut e = 0.0;
                for &(dx, dy, wk) in &k.taps {
                    e += wk
                        * p[reflect_index(y as isize + dy, h) * w
                            + reflect_index(x as isize + dx, w)];
                }
                assert!((out[y * w + x] - e).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn padded_chunked_convolution_is_the_per_pixel_tap_loop_bit_for_bit() {
        // line kernels longer than the image (overhang) and rows longer than the register chunks
        for (w, h) in [(11usize, 5usize), (150, 7), (300, 3)] {
            let p: Vec<f32> = (0..w * h).map(|i| ((i * 37) % 23) as f32 / 23.0).collect();
            for (len, ang) in [(3.0, 0.3), (17.5, 2.2), (40.0, 1.0)] {
                let k = line_psf(len, ang);
                let out = convolve_sparse(&p, w, h, &k);
                for y in 0..h {
                    for x in 0..w {
                        let mut e = 0.0f32;
                        for &(dx, dy, wk) in &k.taps {
                            e += wk
                                * p[reflect_index(y as isize + dy, h) * w
                                    + reflect_index(x as isize + dx, w)];
                        }
                        assert_eq!(
                            out[y * w + x].to_bits(),
                            e.to_bits(),
                            "{w}x{h} len {len} ({x}, {y})"
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod disk_tests {
    use super::*;

    #[test]
    fn fast_disk_equals_direct_convolution() {
        let (w, h) = (23, 17);
        let plane: Vec<f32> = (0..w * h).map(|i| ((i * 53) % 19) as f32 / 18.0).collect();
        for r in [0.3f32, 0.7, 1.0, 2.5, 4.2, 9.9] {
            let direct = convolve_sparse(&plane, w, h, &disk_psf(r));
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
        let got = convolve_sparse(&plane, w, h, &disk_psf(2.3));
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
        let c = convolve_sparse(&vec![0.3; w * h], w, h, &disk_psf(2.3));
        assert!(c.iter().all(|v| (v - 0.3).abs() < 1e-6));
    }
}
