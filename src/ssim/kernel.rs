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
    let mut t = [0.0f64; K];
    t.copy_from_slice(&taps[..K]);
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
    let mut t = [0.0f64; K];
    t.copy_from_slice(&taps[..K]);
    let mut r_: [&[f64]; K] = [&[]; K];
    for (j, row) in r_.iter_mut().enumerate() {
        *row = &rows[j][..n];
    }
    let rows = r_;
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

/// What a band streams: `fill(i, rows)` writes the M full-width input rows for image row `i`
/// (map m at `rows[m * w..(m + 1) * w]`); `emit(o, vert, srow)` receives the M filtered interior
/// rows of output row `o` (map m at `vert[m * wo..(m + 1) * wo]`). A trait with
/// `#[inline(always)]` methods rather than closures, so that the whole band is compiled inside
/// the AVX2 entry points.
trait BandMaps<const M: usize> {
    fn fill(&mut self, i: usize, rows: &mut [f64]);
    fn emit(&mut self, o: usize, vert: &[f64], srow: &mut Vec<f64>);
}

/// Stream `M` maps through the separable window for output rows `o0..o1` of the interior.
/// Input rows are filtered horizontally once each into a ring of K rows per map, then combined
/// vertically.
#[inline(always)]
fn stream_band<const M: usize>(
    taps: &[f64],
    w: usize,
    o0: usize,
    o1: usize,
    s: &mut StreamBufs,
    maps: &mut impl BandMaps<M>,
) {
    let k = taps.len();
    assert!(k <= MAX_TAPS && k % 2 == 1 && w >= k);
    let wo = w + 1 - k;
    s.rows.resize(M * w, 0.0);
    s.ring.resize(M * k * wo, 0.0);
    s.vert.resize(M * wo, 0.0);
    for i in o0..o1 + k - 1 {
        maps.fill(i, &mut s.rows);
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
        maps.emit(o, &s.vert, &mut s.srow);
    }
}

/// Reference moments for interior rows `o0..o1`: filtered mean `mu` and
/// `var = max(0, cov_norm * (E[x^2] - mu^2))`, each `(o1 - o0) * wo` values.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
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
    struct Maps<'a> {
        x: &'a [f32],
        ax: Affine,
        w: usize,
        wo: usize,
        o0: usize,
        cov_norm: f64,
        mu: &'a mut [f64],
        var: &'a mut [f64],
    }
    impl BandMaps<2> for Maps<'_> {
        #[inline(always)]
        fn fill(&mut self, i: usize, rows: &mut [f64]) {
            let w = self.w;
            let (xr, xx) = rows.split_at_mut(w);
            self.ax.load(&self.x[i * w..(i + 1) * w], xr);
            for (d, &v) in xx.iter_mut().zip(xr.iter()) {
                *d = v * v;
            }
        }
        #[inline(always)]
        fn emit(&mut self, o: usize, vert: &[f64], _: &mut Vec<f64>) {
            let wo = self.wo;
            let (ux, uxx) = vert.split_at(wo);
            let r = (o - self.o0) * wo;
            moments_row(
                self.cov_norm,
                ux,
                uxx,
                &mut self.mu[r..r + wo],
                &mut self.var[r..r + wo],
            );
        }
    }
    let wo = w + 1 - k.taps.len();
    let mut maps = Maps {
        x,
        ax,
        w,
        wo,
        o0,
        cov_norm: k.cov_norm,
        mu,
        var,
    };
    stream_band::<2>(k.taps, w, o0, o1, &mut s.stream, &mut maps);
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
fn ssim_row_sum(
    k: &Consts,
    mu: &[f64],
    var: &[f64],
    uy: &[f64],
    uyy: &[f64],
    uxy: &[f64],
    srow: &mut Vec<f64>,
) -> f64 {
    let Consts {
        cov_norm, c1, c2, ..
    } = *k;
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
    struct Maps<'a> {
        x: &'a [f32],
        ax: Affine,
        y: &'a [f32],
        ay: Affine,
        w: usize,
        wo: usize,
        o0: usize,
        k: &'a Consts<'a>,
        mu: &'a [f64],
        var: &'a [f64],
        row_sums: &'a mut [f64],
        xrow: &'a mut Vec<f64>,
    }
    impl BandMaps<3> for Maps<'_> {
        #[inline(always)]
        fn fill(&mut self, i: usize, rows: &mut [f64]) {
            let w = self.w;
            let xrow = &mut self.xrow[..w];
            self.ax.load(&self.x[i * w..(i + 1) * w], xrow);
            let (yr, rest) = rows.split_at_mut(w);
            let (yy, xy) = rest.split_at_mut(w);
            self.ay.load(&self.y[i * w..(i + 1) * w], yr);
            let (yy, xy) = (&mut yy[..w], &mut xy[..w]);
            for i in 0..w {
                let v = yr[i];
                yy[i] = v * v;
                xy[i] = xrow[i] * v;
            }
        }
        #[inline(always)]
        fn emit(&mut self, o: usize, vert: &[f64], srow: &mut Vec<f64>) {
            let wo = self.wo;
            let (uy, rest) = vert.split_at(wo);
            let (uyy, uxy) = rest.split_at(wo);
            let r = (o - self.o0) * wo;
            self.row_sums[o - self.o0] = ssim_row_sum(
                self.k,
                &self.mu[r..r + wo],
                &self.var[r..r + wo],
                uy,
                uyy,
                uxy,
                srow,
            );
        }
    }
    let wo = w + 1 - k.taps.len();
    s.xrow.resize(w, 0.0);
    let mut maps = Maps {
        x,
        ax,
        y,
        ay,
        w,
        wo,
        o0,
        k,
        mu,
        var,
        row_sums,
        xrow: &mut s.xrow,
    };
    stream_band::<3>(k.taps, w, o0, o1, &mut s.stream, &mut maps);
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
    struct Maps<'a> {
        x: &'a [f32],
        ax: Affine,
        y: &'a [f32],
        ay: Affine,
        w: usize,
        wo: usize,
        o0: usize,
        k: &'a Consts<'a>,
        row_sums: &'a mut [f64],
        mrow: &'a mut Vec<f64>,
        vrow: &'a mut Vec<f64>,
    }
    impl BandMaps<5> for Maps<'_> {
        #[inline(always)]
        fn fill(&mut self, i: usize, rows: &mut [f64]) {
            let w = self.w;
            let (xr, rest) = rows.split_at_mut(w);
            let (xx, rest) = rest.split_at_mut(w);
            let (yr, rest) = rest.split_at_mut(w);
            let (yy, xy) = rest.split_at_mut(w);
            self.ax.load(&self.x[i * w..(i + 1) * w], xr);
            self.ay.load(&self.y[i * w..(i + 1) * w], yr);
            let (xx, yy, xy) = (&mut xx[..w], &mut yy[..w], &mut xy[..w]);
            for i in 0..w {
                let (u, v) = (xr[i], yr[i]);
                xx[i] = u * u;
                yy[i] = v * v;
                xy[i] = u * v;
            }
        }
        #[inline(always)]
        fn emit(&mut self, o: usize, vert: &[f64], srow: &mut Vec<f64>) {
            let wo = self.wo;
            let (ux, rest) = vert.split_at(wo);
            let (uxx, rest) = rest.split_at(wo);
            let (uy, rest) = rest.split_at(wo);
            let (uyy, uxy) = rest.split_at(wo);
            moments_row(
                self.k.cov_norm,
                ux,
                uxx,
                &mut self.mrow[..],
                &mut self.vrow[..],
            );
            self.row_sums[o - self.o0] =
                ssim_row_sum(self.k, self.mrow, self.vrow, uy, uyy, uxy, srow);
        }
    }
    let wo = w + 1 - k.taps.len();
    s.mrow.resize(wo, 0.0);
    s.vrow.resize(wo, 0.0);
    let mut maps = Maps {
        x,
        ax,
        y,
        ay,
        w,
        wo,
        o0,
        k,
        row_sums,
        mrow: &mut s.mrow,
        vrow: &mut s.vrow,
    };
    stream_band::<5>(k.taps, w, o0, o1, &mut s.stream, &mut maps);
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

// ---- dispatch: the same code compiled for AVX2 and for the baseline. Neither build allows FMA
// contraction (Rust never fuses a * b + c), so both perform the same IEEE operations in the same
// order and give the same bits (test `isa_variants_agree_bitwise`). Measured on the 2-core AMD
// EPYC dev machine: AVX2 vs AVX-512F for wang 1024x1024x3 differed by less than the noise
// (~38 vs ~40 ms CPU per call), so no AVX-512 build is kept.

/// Instruction-set level of the compiled loops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Isa {
    Baseline,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The best level this CPU supports (detected once).
    pub fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            static ISA: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
            *ISA.get_or_init(|| {
                if std::arch::is_x86_feature_detected!("avx2") {
                    Isa::Avx2
                } else {
                    Isa::Baseline
                }
            })
        }
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Baseline
    }

    /// Every level this CPU can run (for the bitwise-agreement test).
    #[cfg(test)]
    pub fn available() -> Vec<Isa> {
        let mut v = vec![Isa::Baseline];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                v.push(Isa::Avx2);
            }
        }
        v
    }
}

/// `pub(super) fn $name(isa, args..)` calling `$imp` compiled at the requested level.
macro_rules! dispatch {
    ($name:ident, $imp:ident, ($($arg:ident: $ty:ty),*)) => {
        #[allow(clippy::too_many_arguments)]
        pub(super) fn $name(isa: Isa, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                fn avx2($($arg: $ty),*) {
                    $imp($($arg),*)
                }
                if isa == Isa::Avx2 {
                    // SAFETY: `Isa::Avx2` is only constructed after run-time detection of AVX2
                    // (`Isa::detect`, `Isa::available`).
                    return unsafe { avx2($($arg),*) };
                }
            }
            let _ = isa;
            $imp($($arg),*)
        }
    };
}

dispatch!(reference_band, reference_band_impl, (
    x: &[f32], ax: Affine, w: usize, k: &Consts, o0: usize, o1: usize,
    mu: &mut [f64], var: &mut [f64], s: &mut Scratch
));
dispatch!(compare_band, compare_band_impl, (
    x: &[f32], ax: Affine, y: &[f32], ay: Affine, w: usize, k: &Consts, o0: usize, o1: usize,
    mu: &[f64], var: &[f64], row_sums: &mut [f64], s: &mut Scratch
));
dispatch!(fused_band, fused_band_impl, (
    x: &[f32], ax: Affine, y: &[f32], ay: Affine, w: usize, k: &Consts, o0: usize, o1: usize,
    row_sums: &mut [f64], s: &mut Scratch
));

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
            assert!(dst
                .iter()
                .all(|&d| d == (0..k).map(|j| 0.125 * src[j]).sum::<f64>()));
        }
    }

    #[test]
    fn isa_variants_agree_bitwise() {
        // Noisy 8-bit-like data, 40x29 (odd, several vector tails), both window lengths.
        let (w, h) = (40usize, 29usize);
        let mut st = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            st ^= st << 13;
            st ^= st >> 7;
            st ^= st << 17;
            (st >> 56) as f32 / 255.0
        };
        let x: Vec<f32> = (0..w * h).map(|_| next()).collect();
        let y: Vec<f32> = (0..w * h).map(|_| next()).collect();
        for taps in [
            vec![1.0 / 7.0; 7],
            vec![
                0.01, 0.03, 0.07, 0.12, 0.17, 0.2, 0.17, 0.12, 0.07, 0.03, 0.01,
            ],
        ] {
            let k = Consts {
                taps: &taps,
                cov_norm: 1.02,
                c1: 1e-4,
                c2: 9e-4,
            };
            let (wo, ho) = (w + 1 - taps.len(), h + 1 - taps.len());
            let mut results = Vec::new();
            for isa in Isa::available() {
                let mut s = Scratch::default();
                let (mut mu, mut var) = (vec![0.0; wo * ho], vec![0.0; wo * ho]);
                reference_band(
                    isa,
                    &x,
                    Affine::Identity,
                    w,
                    &k,
                    0,
                    ho,
                    &mut mu,
                    &mut var,
                    &mut s,
                );
                let mut sums = vec![0.0; ho];
                compare_band(
                    isa,
                    &x,
                    Affine::Identity,
                    &y,
                    Affine::Identity,
                    w,
                    &k,
                    0,
                    ho,
                    &mu,
                    &var,
                    &mut sums,
                    &mut s,
                );
                let mut fused = vec![0.0; ho];
                let mm = Affine::MinMax {
                    min: 0.1,
                    range: 0.7,
                };
                fused_band(
                    isa,
                    &x,
                    mm,
                    &y,
                    Affine::Identity,
                    w,
                    &k,
                    0,
                    ho,
                    &mut fused,
                    &mut s,
                );
                let bits: Vec<u64> = mu
                    .iter()
                    .chain(&var)
                    .chain(&sums)
                    .chain(&fused)
                    .map(|v| v.to_bits())
                    .collect();
                results.push((isa, bits));
            }
            for (isa, bits) in &results[1..] {
                assert!(bits == &results[0].1, "{isa:?} differs from baseline");
            }
        }
    }

    #[test]
    fn fixed_order_sum_handles_tails() {
        let v: Vec<f64> = (1..=11).map(|i| i as f64).collect();
        assert_eq!(fixed_order_sum(&v), 66.0);
        assert_eq!(fixed_order_sum(&[]), 0.0);
    }
}
