//! The SSIM inner loops: streaming separable "valid" correlation over a band of rows, all in f64.
//!
//! Why "valid": the SSIM map is cropped by the window radius r = (win - 1) / 2 on every side
//! before averaging (skimage's default), and an output pixel of the cropped interior only reads
//! input pixels inside the image. So the reflect border that scipy/skimage pad with never reaches
//! an averaged pixel, and no padding is materialised here: the interior of a `w x h` plane is
//! `(w - 2r) x (h - 2r)`, output (ox, oy) is centred on input (ox + r, oy + r).
//!
//! Why f64: SSIM needs E[x^2] - E[x]^2, which cancels; with f32 products and sums the error is
//! about 1e-7 of the [0, 1] scale, against C2 = 9e-4, enough to miss the 1e-6 agreement with
//! skimage (which filters in f64). Products of two f32 values are exact in f64, so everything
//! below is within a few ulp of skimage's f64 arithmetic.
//!
//! Determinism: each output row's SSIM values are summed in one fixed order (four interleaved
//! lanes, combined as (l0 + l1) + (l2 + l3), then the tail), and the caller reduces the per-row
//! sums in row order, so the result does not depend on how rows are split over threads. The AVX2
//! build of these loops uses no FMA: it performs the same IEEE operations in the same order as
//! the baseline build, so both give the same bits.

/// How a stored f32 sample becomes the f64 value that SSIM sees.
#[derive(Clone, Copy, Debug)]
pub(super) enum Affine {
    /// `v` as is (fixed [0, 1] scale).
    Identity,
    /// `(v - min) / range`: the reference code's per-image min-max normalisation.
    MinMax { min: f64, range: f64 },
    /// The reference code maps an image whose max - min <= 1e-8 to zeros.
    Zero,
}

impl Affine {
    #[inline(always)]
    fn load(self, src: &[f32], dst: &mut [f64]) {
        match self {
            Affine::Identity => {
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = s as f64;
                }
            }
            Affine::MinMax { min, range } => {
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = (s as f64 - min) / range;
                }
            }
            Affine::Zero => dst.fill(0.0),
        }
    }
}

/// Longest window supported by the streaming kernel (wang uses 11).
pub(super) const MAX_TAPS: usize = 15;

/// Constants of one SSIM evaluation.
#[derive(Clone, Copy, Debug)]
pub(super) struct Consts<'a> {
    /// Normalised 1-D window taps, odd length K = 2r + 1 (the 2-D window is their outer product).
    pub taps: &'a [f64],
    /// NP / (NP - 1) for sample covariance, 1 for population covariance.
    pub cov_norm: f64,
    pub c1: f64,
    pub c2: f64,
}

/// Scratch buffers for band tasks (grown on first use, reused across rows and bands).
#[derive(Default)]
pub(super) struct Scratch {
    xrow: Vec<f64>,
    mrow: Vec<f64>,
    vrow: Vec<f64>,
    stream: StreamBufs,
}

#[derive(Default)]
struct StreamBufs {
    rows: Vec<f64>,
    ring: Vec<f64>,
    vert: Vec<f64>,
    srow: Vec<f64>,
}

/// `dst[i] = sum_j taps[j] * src[i + j]` for a symmetric window (`taps[j] == taps[K - 1 - j]`),
/// evaluated as `t[r] * s[r] + sum_{j < r} t[j] * (s[j] + s[K - 1 - j])`, j ascending
/// (`src.len() >= dst.len() + K - 1`). Fully unrolled for the two window sizes in use.
#[inline(always)]
fn correlate_valid(taps: &[f64], src: &[f64], dst: &mut [f64]) {
    match taps.len() {
        7 => correlate_sym::<7>(taps, src, dst),
        11 => correlate_sym::<11>(taps, src, dst),
        _ => correlate_sym_any(taps, src, dst),
    }
}

#[inline(always)]
fn correlate_sym<const K: usize>(taps: &[f64], src: &[f64], dst: &mut [f64]) {
    let r = K / 2;
    let t: [f64; K] = core::array::from_fn(|j| taps[j]);
    let n = dst.len();
    let src = &src[..n + K - 1];
    for (x, d) in dst.iter_mut().enumerate() {
        let win = &src[x..x + K];
        let mut acc = t[r] * win[r];
        for j in 0..r {
            acc += t[j] * (win[j] + win[K - 1 - j]);
        }
        *d = acc;
    }
}

fn correlate_sym_any(taps: &[f64], src: &[f64], dst: &mut [f64]) {
    let k = taps.len();
    let r = k / 2;
    for (x, d) in dst.iter_mut().enumerate() {
        let win = &src[x..x + k];
        let mut acc = taps[r] * win[r];
        for j in 0..r {
            acc += taps[j] * (win[j] + win[k - 1 - j]);
        }
        *d = acc;
    }
}

/// Vertical twin of [`correlate_valid`]: `dst[x] = sum_j taps[j] * rows[j][x]`, same grouping.
#[inline(always)]
fn combine_rows(taps: &[f64], rows: &[&[f64]], dst: &mut [f64]) {
    match taps.len() {
        7 => combine_sym::<7>(taps, rows, dst),
        11 => combine_sym::<11>(taps, rows, dst),
        _ => combine_sym_any(taps, rows, dst),
    }
}

#[inline(always)]
fn combine_sym<const K: usize>(taps: &[f64], rows: &[&[f64]], dst: &mut [f64]) {
    let r = K / 2;
    let n = dst.len();
    let t: [f64; K] = core::array::from_fn(|j| taps[j]);
    let rows: [&[f64]; K] = core::array::from_fn(|j| &rows[j][..n]);
    for (x, d) in dst.iter_mut().enumerate() {
        let mut acc = t[r] * rows[r][x];
        for j in 0..r {
            acc += t[j] * (rows[j][x] + rows[K - 1 - j][x]);
        }
        *d = acc;
    }
}

fn combine_sym_any(taps: &[f64], rows: &[&[f64]], dst: &mut [f64]) {
    let k = taps.len();
    let r = k / 2;
    for (x, d) in dst.iter_mut().enumerate() {
        let mut acc = taps[r] * rows[r][x];
        for j in 0..r {
            acc += taps[j] * (rows[j][x] + rows[k - 1 - j][x]);
        }
        *d = acc;
    }
}

/// Stream `M` maps through the separable window for output rows `o0..o1` of the interior.
/// `fill(i, rows)` writes the M full-width input rows for image row `i` (map m at
/// `rows[m * w..(m + 1) * w]`); `emit(o, vert)` receives the M filtered interior rows of output
/// row `o` (map m at `vert[m * wo..(m + 1) * wo]`). Input rows are filtered horizontally once
/// each into a ring of K rows per map, then combined vertically.
#[inline(always)]
fn stream_band<const M: usize>(
    taps: &[f64],
    w: usize,
    o0: usize,
    o1: usize,
    s: &mut StreamBufs,
    mut fill: impl FnMut(usize, &mut [f64]),
    mut emit: impl FnMut(usize, &[f64], &mut Vec<f64>),
) {
    let k = taps.len();
    assert!(k <= MAX_TAPS && k % 2 == 1 && w >= k);
    let wo = w + 1 - k;
    s.rows.resize(M * w, 0.0);
    s.ring.resize(M * k * wo, 0.0);
    s.vert.resize(M * wo, 0.0);
    for i in o0..o1 + k - 1 {
        fill(i, &mut s.rows);
        let slot = i % k;
        for m in 0..M {
            let src = &s.rows[m * w..(m + 1) * w];
            let dst = &mut s.ring[(m * k + slot) * wo..(m * k + slot + 1) * wo];
            correlate_valid(taps, src, dst);
        }
        if i + 1 < o0 + k {
            continue;
        }
        let o = i + 1 - k;
        for m in 0..M {
            let dst = &mut s.vert[m * wo..(m + 1) * wo];
            let ring = &s.ring[m * k * wo..(m + 1) * k * wo];
            let mut rows: [&[f64]; MAX_TAPS] = [&[]; MAX_TAPS];
            for (j, row) in rows.iter_mut().enumerate().take(k) {
                let slot = (o + j) % k;
                *row = &ring[slot * wo..(slot + 1) * wo];
            }
            combine_rows(taps, &rows[..k], dst);
        }
        emit(o, &s.vert, &mut s.srow);
    }
}

/// Reference moments for interior rows `o0..o1`: filtered mean `mu` and
/// `var = max(0, cov_norm * (E[x^2] - mu^2))`, each `(o1 - o0) * wo` values.
#[inline(always)]
fn reference_band_impl(
    x: &[f32],
    ax: Affine,
    w: usize,
    k: &Consts,
    o0: usize,
    o1: usize,
    mu: &mut [f64],
    var: &mut [f64],
    s: &mut Scratch,
) {
    let wo = w + 1 - k.taps.len();
    let cov_norm = k.cov_norm;
    stream_band::<2>(
        k.taps,
        w,
        o0,
        o1,
        &mut s.stream,
        |i, rows| {
            let (xr, xx) = rows.split_at_mut(w);
            ax.load(&x[i * w..(i + 1) * w], xr);
            for (d, &v) in xx.iter_mut().zip(xr.iter()) {
                *d = v * v;
            }
        },
        |o, vert, _| {
            let (ux, uxx) = vert.split_at(wo);
            let r = (o - o0) * wo;
            moments_row(cov_norm, ux, uxx, &mut mu[r..r + wo], &mut var[r..r + wo]);
        },
    );
}

/// `mu = ux`, `var = max(0, cov_norm * (uxx - ux^2))`: the one place the reference moments are
/// formed (stored by [`reference_band_impl`], inline in [`fused_band_impl`]: same bits).
#[inline(always)]
fn moments_row(cov_norm: f64, ux: &[f64], uxx: &[f64], mu: &mut [f64], var: &mut [f64]) {
    let n = mu.len();
    let (ux, uxx, var) = (&ux[..n], &uxx[..n], &mut var[..n]);
    for i in 0..n {
        mu[i] = ux[i];
        let v = cov_norm * (uxx[i] - ux[i] * ux[i]);
        var[i] = if v > 0.0 { v } else { 0.0 };
    }
}

/// The SSIM map of one interior row (skimage's formula, variances clamped at 0), summed in
/// a fixed order.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn ssim_row_sum(k: &Consts, mu: &[f64], var: &[f64], uy: &[f64], uyy: &[f64], uxy: &[f64], srow: &mut Vec<f64>) -> f64 {
    let Consts { cov_norm, c1, c2, .. } = *k;
    let n = uy.len();
    let (mu, var, uyy, uxy) = (&mu[..n], &var[..n], &uyy[..n], &uxy[..n]);
    srow.resize(n, 0.0);
    for i in 0..n {
        let (ux, vx, my) = (mu[i], var[i], uy[i]);
        let vy = cov_norm * (uyy[i] - my * my);
        let vy = if vy > 0.0 { vy } else { 0.0 };
        let vxy = cov_norm * (uxy[i] - ux * my);
        let num = (2.0 * ux * my + c1) * (2.0 * vxy + c2);
        let den = (ux * ux + my * my + c1) * (vx + vy + c2);
        srow[i] = num / den;
    }
    fixed_order_sum(srow)
}

/// SSIM row sums for interior rows `o0..o1` of one channel. `mu`, `var` are the reference
/// moments of those rows; `row_sums[o - o0]` receives the sum of the SSIM map over row `o`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn compare_band_impl(
    x: &[f32],
    ax: Affine,
    y: &[f32],
    ay: Affine,
    w: usize,
    k: &Consts,
    o0: usize,
    o1: usize,
    mu: &[f64],
    var: &[f64],
    row_sums: &mut [f64],
    s: &mut Scratch,
) {
    let wo = w + 1 - k.taps.len();
    let xrow = &mut s.xrow;
    xrow.resize(w, 0.0);
    stream_band::<3>(
        k.taps,
        w,
        o0,
        o1,
        &mut s.stream,
        |i, rows| {
            ax.load(&x[i * w..(i + 1) * w], xrow);
            let (yr, rest) = rows.split_at_mut(w);
            let (yy, xy) = rest.split_at_mut(w);
            ay.load(&y[i * w..(i + 1) * w], yr);
            for i in 0..w {
                let v = yr[i];
                yy[i] = v * v;
                xy[i] = xrow[i] * v;
            }
        },
        |o, vert, srow| {
            let (uy, rest) = vert.split_at(wo);
            let (uyy, uxy) = rest.split_at(wo);
            let r = (o - o0) * wo;
            row_sums[o - o0] = ssim_row_sum(k, &mu[r..r + wo], &var[r..r + wo], uy, uyy, uxy, srow);
        },
    );
}

/// As [`compare_band_impl`] with the reference moments formed on the fly (x, x^2 streamed with
/// y, y^2, x*y): one-off comparisons without storing full-size moment maps. Same bits.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn fused_band_impl(
    x: &[f32],
    ax: Affine,
    y: &[f32],
    ay: Affine,
    w: usize,
    k: &Consts,
    o0: usize,
    o1: usize,
    row_sums: &mut [f64],
    s: &mut Scratch,
) {
    let wo = w + 1 - k.taps.len();
    let (mrow, vrow) = (&mut s.mrow, &mut s.vrow);
    mrow.resize(wo, 0.0);
    vrow.resize(wo, 0.0);
    stream_band::<5>(
        k.taps,
        w,
        o0,
        o1,
        &mut s.stream,
        |i, rows| {
            let (xr, rest) = rows.split_at_mut(w);
            let (xx, rest) = rest.split_at_mut(w);
            let (yr, rest) = rest.split_at_mut(w);
            let (yy, xy) = rest.split_at_mut(w);
            ax.load(&x[i * w..(i + 1) * w], xr);
            ay.load(&y[i * w..(i + 1) * w], yr);
            for i in 0..w {
                let (u, v) = (xr[i], yr[i]);
                xx[i] = u * u;
                yy[i] = v * v;
                xy[i] = u * v;
            }
        },
        |o, vert, srow| {
            let (ux, rest) = vert.split_at(wo);
            let (uxx, rest) = rest.split_at(wo);
            let (uy, rest) = rest.split_at(wo);
            let (uyy, uxy) = rest.split_at(wo);
            moments_row(k.cov_norm, ux, uxx, mrow, vrow);
            row_sums[o - o0] = ssim_row_sum(k, mrow, vrow, uy, uyy, uxy, srow);
        },
    );
}

/// Sum in a fixed order: four interleaved lanes, (l0 + l1) + (l2 + l3), then the tail.
#[inline(always)]
fn fixed_order_sum(v: &[f64]) -> f64 {
    let mut l = [0.0f64; 4];
    let chunks = v.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        l[0] += c[0];
        l[1] += c[1];
        l[2] += c[2];
        l[3] += c[3];
    }
    let mut s = (l[0] + l[1]) + (l[2] + l[3]);
    for &t in tail {
        s += t;
    }
    s
}

// ---- dispatch: the same code compiled for AVX2 (no FMA: identical results) and for baseline.

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn reference_band_avx2(
    x: &[f32],
    ax: Affine,
    w: usize,
    k: &Consts,
    o0: usize,
    o1: usize,
    mu: &mut [f64],
    var: &mut [f64],
    s: &mut Scratch,
) {
    reference_band_impl(x, ax, w, k, o0, o1, mu, var, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn compare_band_avx2(
    x: &[f32],
    ax: Affine,
    y: &[f32],
    ay: Affine,
    w: usize,
    k: &Consts,
    o0: usize,
    o1: usize,
    mu: &[f64],
    var: &[f64],
    row_sums: &mut [f64],
    s: &mut Scratch,
) {
    compare_band_impl(x, ax, y, ay, w, k, o0, o1, mu, var, row_sums, s)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
fn fused_band_avx2(
    x: &[f32],
    ax: Affine,
    y: &[f32],
    ay: Affine,
    w: usize,
    k: &Consts,
    o0: usize,
    o1: usize,
    row_sums: &mut [f64],
    s: &mut Scratch,
) {
    fused_band_impl(x, ax, y, ay, w, k, o0, o1, row_sums, s)
}

#[cfg(target_arch = "x86_64")]
#[inline]
fn has_avx2() -> bool {
    std::arch::is_x86_feature_detected!("avx2")
}

#[allow(clippy::too_many_arguments)]
pub(super) fn reference_band(
    x: &[f32],
    ax: Affine,
    w: usize,
    k: &Consts,
    o0: usize,
    o1: usize,
    mu: &mut [f64],
    var: &mut [f64],
    s: &mut Scratch,
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked at run time just above).
        return unsafe { reference_band_avx2(x, ax, w, k, o0, o1, mu, var, s) };
    }
    reference_band_impl(x, ax, w, k, o0, o1, mu, var, s)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn compare_band(
    x: &[f32],
    ax: Affine,
    y: &[f32],
    ay: Affine,
    w: usize,
    k: &Consts,
    o0: usize,
    o1: usize,
    mu: &[f64],
    var: &[f64],
    row_sums: &mut [f64],
    s: &mut Scratch,
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked at run time just above).
        return unsafe { compare_band_avx2(x, ax, y, ay, w, k, o0, o1, mu, var, row_sums, s) };
    }
    compare_band_impl(x, ax, y, ay, w, k, o0, o1, mu, var, row_sums, s)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn fused_band(
    x: &[f32],
    ax: Affine,
    y: &[f32],
    ay: Affine,
    w: usize,
    k: &Consts,
    o0: usize,
    o1: usize,
    row_sums: &mut [f64],
    s: &mut Scratch,
) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU supports AVX2 (checked at run time just above).
        return unsafe { fused_band_avx2(x, ax, y, ay, w, k, o0, o1, row_sums, s) };
    }
    fused_band_impl(x, ax, y, ay, w, k, o0, o1, row_sums, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlate_valid_matches_direct_sum() {
        // Generic length (3) and the unrolled lengths agree with a direct sum on exact values.
        let taps = [0.25, 0.5, 0.25];
        let src = [1.0, 2.0, 4.0, 8.0, 16.0];
        let mut dst = [0.0; 3];
        correlate_valid(&taps, &src, &mut dst);
        assert_eq!(dst, [2.25, 4.5, 9.0]);
        for k in [7usize, 11] {
            let taps = vec![0.125; k];
            let src: Vec<f64> = (0..k + 5).map(|i| (i * i) as f64).collect();
            let mut dst = vec![0.0; 6];
            correlate_valid(&taps, &src, &mut dst);
            for (x, d) in dst.iter().enumerate() {
                let want: f64 = (0..k).map(|j| 0.125 * src[x + j]).sum();
                assert_eq!(*d, want);
            }
            let rows: Vec<Vec<f64>> = (0..k).map(|j| vec![src[j]; 4]).collect();
            let refs: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
            let mut dst = vec![0.0; 4];
            combine_rows(&taps, &refs, &mut dst);
            assert!(dst.iter().all(|&d| d == (0..k).map(|j| 0.125 * src[j]).sum::<f64>()));
        }
    }

    #[test]
    fn fixed_order_sum_handles_tails() {
        let v: Vec<f64> = (1..=11).map(|i| i as f64).collect();
        assert_eq!(fixed_order_sum(&v), 66.0);
        assert_eq!(fixed_order_sum(&[]), 0.0);
    }
}
