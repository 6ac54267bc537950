//! Point-spread functions as sparse 2-D kernels and their convolution with scipy's 'reflect'
//! border (half-sample symmetric). Used by motion blur (line PSF); any other non-separable blur
//! (disk defocus, oriented streaks) can build a [`SparseKernel`] and reuse [`convolve_sparse`].
//!
//! Contract: `out(x, y) = sum_k w_k * in(reflect(x + dx_k), reflect(y + dy_k))`, taps in a fixed
//! order (row-major over the kernel support), accumulated in f32: deterministic and independent of
//! thread count. Kernels built here are normalised (weights sum to 1) and point-symmetric, so
//! correlation and convolution coincide.

use super::filter::reflect_index;
use rayon::prelude::*;

/// A 2-D kernel as a list of non-zero taps `(dx, dy, weight)`.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseKernel {
    pub taps: Vec<(isize, isize, f32)>,
}

impl SparseKernel {
    pub fn identity() -> Self {
        SparseKernel { taps: vec![(0, 0, 1.0)] }
    }
}

/// Sub-step of the line integration in [`line_psf`], in pixels.
const LINE_STEP: f64 = 0.125;

/// Anti-aliased line PSF: a segment of `length` pixels centred on the origin at `angle` radians
/// (0 = along +x, pi/2 = along +y), integrated with bilinear splatting in steps of 1/8 px. The
/// last step is fractional (its weight is the remaining length), so the kernel, and hence any
/// blurred image, is a continuous function of `length`; `length <= 0` gives the identity.
pub fn line_psf(length: f64, angle: f64) -> SparseKernel {
    if length.is_nan() || length <= 0.0 {
        return SparseKernel::identity();
    }
    let half = length * 0.5;
    let r = half.ceil() as isize + 1;
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
pub fn convolve_sparse(plane: &[f32], w: usize, h: usize, kernel: &SparseKernel) -> Vec<f32> {
    let mut out = vec![0.0f32; w * h];
    out.par_chunks_mut(w.max(1)).enumerate().for_each(|(y, row)| {
        for &(dx, dy, wk) in &kernel.taps {
            let sy = reflect_index(y as isize + dy, h);
            let src = &plane[sy * w..(sy + 1) * w];
            // interior: x + dx in [0, w)
            let lo = (-dx).clamp(0, w as isize) as usize;
            let hi = (w as isize - dx).clamp(0, w as isize) as usize;
            for x in 0..lo.min(hi) {
                row[x] += wk * src[reflect_index(x as isize + dx, w)];
            }
            if lo < hi {
                let s = &src[(lo as isize + dx) as usize..(hi as isize + dx) as usize];
                for (o, &v) in row[lo..hi].iter_mut().zip(s) {
                    *o += wk * v;
                }
            }
            for x in hi.max(lo)..w {
                row[x] += wk * src[reflect_index(x as isize + dx, w)];
            }
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
            assert!(cx.abs() < 1e-5 && cy.abs() < 1e-5, "{len} {ang}: centroid {cx} {cy}");
            // second moment along the line = length^2 / 12 (uniform segment) up to discretisation
            let (sn, cs) = f64::sin_cos(ang);
            let m2: f64 = k.taps.iter().map(|t| (t.0 as f64 * cs + t.1 as f64 * sn).powi(2) * t.2 as f64).sum();
            assert!((m2 - len * len / 12.0).abs() < 0.2 + 0.02 * len * len / 12.0, "{len}: {m2}");
        }
        // a tiny length change is a tiny kernel change
        let a = line_psf(7.0, 0.4);
        let b = line_psf(7.001, 0.4);
        let diff: f32 = a.taps.iter().zip(&b.taps).map(|(p, q)| (p.2 - q.2).abs()).sum();
        assert_eq!(a.taps.len(), b.taps.len());
        assert!(diff < 1e-3, "{diff}");
    }

    #[test]
    fn horizontal_line_matches_direct_sum() {
        let (w, h) = (11, 5);
        let p: Vec<f32> = (0..w * h).map(|i| ((i * 37) % 23) as f32 / 23.0).collect();
        let k = SparseKernel { taps: vec![(-3, 0, 0.25), (0, 1, 0.5), (2, -2, 0.25)] };
        let out = convolve_sparse(&p, w, h, &k);
        for y in 0..h {
            for x in 0..w {
                let mut e = 0.0;
                for &(dx, dy, wk) in &k.taps {
                    e += wk * p[reflect_index(y as isize + dy, h) * w + reflect_index(x as isize + dx, w)];
                }
                assert!((out[y * w + x] - e).abs() < 1e-6);
            }
        }
    }
}
