// mri_motion: per-sample math and inverse-DFT accumulation steps, shared by kernels/mri_motion.cu
// and the host-math shim (kernels/host/shim_mri.cpp). Twin: src/perturb/mri/motion.rs `apply`:
//
//   D[ky, kx] = F[ky, kx] (e^{i phi} - 1),  phi = clamp(-2 pi s' (fx ux + fy uy), -pi, pi),
//   out = map_pixels(x + real(ifft2(D))),   s' = s min(w, h) / 256,
//
// with F = fft2(x) and the per-row displacement (ux, uy) taken from the CPU's own
// `perturb::mri::motion_spectra` (uploaded once per batch); rows with (ux, uy) = (0, 0) (the centre
// segment) contribute nothing and are left out of the row list.
//
// The inverse transform is a direct separable DFT over the non-zero rows only (m of them):
//   pass 1 (`mri_motion_rows`):  G[j, x] = sum_kx D[ky_j, kx] e^{+2 pi i kx x / w}      (kx ascending)
//   pass 2 (`mri_motion_cols`):  out[y, x] = x + (1 / (w h)) Re sum_j G[j, x] e^{+2 pi i ky_j y / h}
//                                                                                     (j ascending)
// Twiddles e^{+2 pi i k / N} are host-computed f64 tables (cos, sin) indexed by (k n) mod N, so the
// device and host add exactly the same terms in the same order; the only device-side difference
// is the ramp's cos/sin (CUDA f64: <= 2 ulp). Against the CPU (rustfft) the result is equal to
// ~1e-7 (a different but equally exact transform), not bit-identical: tolerance 1e-5 (spec/gpu.md).
// Cost per channel: 8 m w^2 + 4 m w h f64 operations (m <= h), i.e. O(w h (w + h)).
//
// Images whose sides are both powers of two in [2, MFR_MOTION_FFT_MAX] (meta word MFR_MOTION_FFT)
// take a radix-2 path instead (`mri_motion_rows_fft`, `mri_motion_cols_fft`, end of this file):
// the same two transforms as in-shared-memory FFTs, O(m w log w + w h log h) per channel, with the
// same twiddle tables. The FFT rounds differently from the direct sum (both ~1e-16 relative).
#pragma once
#include "pointwise.cuh"

// One complex f64 value (layout of Rust's `Complex64` / an interleaved (re, im) f64 pair).
struct MfrC64 {
    double re;
    double im;
};

// Per-image table of u64 words (src/backend/motion_pack.rs `MOTION_META_WORDS` and slots).
#define MFR_MOTION_META_WORDS 6u
#define MFR_MOTION_ROWS_OFF 0u  // first entry of the image in row_ky / row_u (2 doubles per row)
#define MFR_MOTION_ROWS 1u      // m: number of non-zero k-space rows
#define MFR_MOTION_G_OFF 2u     // first MfrC64 of the image's G scratch (c * m * w values)
#define MFR_MOTION_TW_W_OFF 3u  // first MfrC64 of the w-point twiddle table
#define MFR_MOTION_TW_H_OFF 4u  // first MfrC64 of the h-point twiddle table
#define MFR_MOTION_FFT 5u       // 1: the radix-2 kernels handle this image, 0: the direct-DFT ones

#define MFR_MOTION_TAU 6.283185307179586  // std::f64::consts::TAU
#define MFR_MOTION_PI 3.141592653589793   // std::f64::consts::PI

// s' = s min(w, h) / 256. Twin: motion.rs `motion_scale`.
MFR_HD double mfr_motion_scale(float s, uint32_t w, uint32_t h) {
    const uint32_t m = w < h ? w : h;
    return (double)s * (double)m / 256.0;
}

// numpy fftfreq(n) * n of bin k. Twin: src/perturb/common/kspace.rs `signed_freq`.
MFR_HD double mfr_signed_freq(uint32_t k, uint32_t n) {
    return k <= (n - 1u) / 2u ? (double)k : (double)k - (double)n;
}

// Phase of one k-space sample, clamped to [-pi, pi] as Rust's f64::clamp (phase is never NaN for
// finite s). Same f64 operations in the same order as motion.rs.
MFR_HD double mfr_motion_phase(double s_px, double fx, double fy, double ux, double uy) {
    const double p = -MFR_MOTION_TAU * s_px * (fx * ux + fy * uy);
    return p < -MFR_MOTION_PI ? -MFR_MOTION_PI : (p > MFR_MOTION_PI ? MFR_MOTION_PI : p);
}

// a b (the argument order fixes the rounding).
MFR_HD MfrC64 mfr_cmul(MfrC64 a, MfrC64 b) {
    MfrC64 r;
    r.re = a.re * b.re - a.im * b.im;
    r.im = a.re * b.im + a.im * b.re;
    return r;
}

// F (e^{i phase} - 1), as num_complex's `f * Complex64::new(cos - 1, sin)`.
MFR_HD MfrC64 mfr_motion_diff(MfrC64 f, double phase) {
    double c, s;
#ifdef __CUDACC__
    sincos(phase, &s, &c);
#else
    c = cos(phase);  // glibc, the functions Rust's f64::cos / f64::sin call
    s = sin(phase);
#endif
    MfrC64 e;
    e.re = c - 1.0;
    e.im = s;
    return mfr_cmul(f, e);
}

// D[ky, kx] of one channel plane of spectra (row-major w x h) for row ky with shift (ux, uy).
MFR_HD MfrC64 mfr_motion_sample(const MfrC64* plane, uint32_t w, uint32_t h, uint32_t ky, double ux, double uy,
                                double s_px, uint32_t kx) {
    const double fy = mfr_signed_freq(ky, h) / (double)h;
    const double fx = mfr_signed_freq(kx, w) / (double)w;
    return mfr_motion_diff(plane[(uint64_t)ky * w + kx], mfr_motion_phase(s_px, fx, fy, ux, uy));
}

// acc + a b: the one complex multiply-add of pass 1 (argument order matters for the rounding).
MFR_HD MfrC64 mfr_cmac(MfrC64 acc, MfrC64 a, MfrC64 b) {
    const MfrC64 p = mfr_cmul(a, b);
    acc.re = acc.re + p.re;
    acc.im = acc.im + p.im;
    return acc;
}

// acc + Re(a b): the multiply-add of pass 2 (only the real part of ifft2 is kept).
MFR_HD double mfr_cmac_re(double acc, MfrC64 a, MfrC64 b) { return acc + mfr_cmul(a, b).re; }

// (k n) mod N for k, n < N <= MFR_MOTION_MAX_SIDE: the twiddle table index of e^{+2 pi i k n / N}.
// k n < 2^32, so 32-bit arithmetic is exact (a 64-bit remainder is a call on the device, whose
// register saves showed up as spills).
#define MFR_MOTION_MAX_SIDE 65536u
MFR_HD uint32_t mfr_twiddle_index(uint32_t k, uint32_t n, uint32_t big_n) { return (k * n) % big_n; }

// x + (float)(Re sum * 1/(w h)), then NaN -> 0 and clamp (ifft2's scale and `map_pixels`).
MFR_HD float mfr_motion_finish(float v, double acc, uint32_t w, uint32_t h) {
    const double k = 1.0 / (double)((uint64_t)w * h);
    return mfr_finish(v + (float)(acc * k));
}

// ---------------------------------------------------------------------------------------------
// Block-level phases of the two kernels. kernels/mri_motion.cu runs them with __syncthreads()
// between phases; the host shim emulates a block by running each phase for every thread in turn,
// so the host-math test exercises this exact tiling and indexing code.
// Blocks of 32 x 8 threads (tid = ty * 32 + tx).
// Pass 1 tile: 64 columns x 32 k-space rows (each thread 2 x 4 outputs), kx in chunks of 16.
// Pass 2 tile: 32 columns x 32 image rows (each thread 1 x 4 outputs), k-space rows in chunks of 16.
#define MFR_MOTION_BX 32u
#define MFR_MOTION_BY 8u
#define MFR_MOTION_THREADS 256u
#define MFR_MOTION_P1_X 64u
#define MFR_MOTION_P1_J 32u
#define MFR_MOTION_P1_K 16u
#define MFR_MOTION_P2_X 32u
#define MFR_MOTION_P2_Y 32u
#define MFR_MOTION_P2_J 16u

// Shared memory of one block of each pass (24 KiB, 16 KiB).
struct MfrMotionRowsTile {
    MfrC64 d[MFR_MOTION_P1_J][MFR_MOTION_P1_K];   // D chunk: k-space rows x kx
    MfrC64 tw[MFR_MOTION_P1_K][MFR_MOTION_P1_X];  // twiddles: kx x columns
};
struct MfrMotionColsTile {
    MfrC64 g[MFR_MOTION_P2_J][MFR_MOTION_P2_X];   // G chunk: k-space rows x columns
    MfrC64 tw[MFR_MOTION_P2_J][MFR_MOTION_P2_Y];  // twiddles: k-space rows x image rows
};

// What one block of a pass works on: channel c, first column x0, first row r0 (pass 1: k-space
// row index j; pass 2: image row y).
struct MfrMotionBlock {
    uint32_t c, x0, r0;
};

// Block `bx` of an image with `rows` tile rows (pass 1: m k-space rows, tile 32; pass 2: h image
// rows, tile 32) and `tile_x`-wide column tiles; false when bx is past the image's tiles.
MFR_HD bool mfr_motion_block(uint32_t bx, uint32_t channels, uint32_t w, uint32_t rows, uint32_t tile_x, uint32_t tile_r,
                             MfrMotionBlock* b) {
    const uint32_t tiles_x = (w + tile_x - 1u) / tile_x;
    const uint32_t tiles_r = (rows + tile_r - 1u) / tile_r;
    if ((uint64_t)bx >= (uint64_t)channels * tiles_r * tiles_x) return false;
    b->x0 = (bx % tiles_x) * tile_x;
    const uint32_t rest = bx / tiles_x;
    b->r0 = (rest % tiles_r) * tile_r;
    b->c = rest / tiles_r;
    return true;
}

MFR_HD void mfr_c64_zero(MfrC64* v) { v->re = v->im = 0.0; }

// Pass 1, stage chunk k0 (thread tid's share): D[j0 + jj][k0 + kk] for this block's rows, and the
// twiddles e^{+2 pi i kx x / w}; zero outside (j >= m or kx >= w or x >= w), which adds +0.0.
// `ky`, `u` point at the image's row list (ky, (ux, uy) per row), `tw` at its w-point table.
MFR_HD void mfr_motion_rows_stage(MfrMotionRowsTile* t, uint32_t tid, uint32_t k0, MfrMotionBlock b, uint32_t m,
                                  uint32_t w, uint32_t h, const MfrC64* plane, const uint32_t* ky, const double* u,
                                  const MfrC64* tw, double s_px) {
    for (uint32_t e = tid; e < MFR_MOTION_P1_J * MFR_MOTION_P1_K; e += MFR_MOTION_THREADS) {
        const uint32_t jj = e / MFR_MOTION_P1_K, kk = e % MFR_MOTION_P1_K;
        const uint32_t j = b.r0 + jj, kx = k0 + kk;
        MfrC64 v;
        mfr_c64_zero(&v);
        if (j < m && kx < w) v = mfr_motion_sample(plane, w, h, ky[j], u[2 * j], u[2 * j + 1], s_px, kx);
        t->d[jj][kk] = v;
    }
    for (uint32_t e = tid; e < MFR_MOTION_P1_K * MFR_MOTION_P1_X; e += MFR_MOTION_THREADS) {
        const uint32_t kk = e / MFR_MOTION_P1_X, xx = e % MFR_MOTION_P1_X;
        const uint32_t kx = k0 + kk, x = b.x0 + xx;
        MfrC64 v;
        mfr_c64_zero(&v);
        if (kx < w && x < w) v = tw[mfr_twiddle_index(kx, x, w)];
        t->tw[kk][xx] = v;
    }
}

// Pass 1, accumulate one staged chunk: thread (tx, ty) owns rows j0 + ty + 8 r (r < 4) and
// columns x0 + tx + 32 q (q < 2); kx ascending.
MFR_HD void mfr_motion_rows_accumulate(const MfrMotionRowsTile* t, uint32_t tx, uint32_t ty, MfrC64 acc[4][2]) {
MFR_UNROLL_BY(4)
    for (uint32_t kk = 0; kk < MFR_MOTION_P1_K; ++kk) {
        const MfrC64 w0 = t->tw[kk][tx];
        const MfrC64 w1 = t->tw[kk][tx + MFR_MOTION_BX];
MFR_UNROLL
        for (int r = 0; r < 4; ++r) {
            const MfrC64 dv = t->d[ty + MFR_MOTION_BY * r][kk];  // the same for the whole warp
            acc[r][0] = mfr_cmac(acc[r][0], dv, w0);
            acc[r][1] = mfr_cmac(acc[r][1], dv, w1);
        }
    }
}

// Pass 1, write thread (tx, ty)'s outputs into the channel's G (m x w), inside the image only.
MFR_HD void mfr_motion_rows_store(MfrC64* gp, uint32_t tx, uint32_t ty, MfrMotionBlock b, uint32_t m, uint32_t w,
                                  const MfrC64 acc[4][2]) {
MFR_UNROLL
    for (int r = 0; r < 4; ++r) {
        const uint32_t j = b.r0 + ty + MFR_MOTION_BY * r;
        if (j >= m) continue;
        const uint32_t xa = b.x0 + tx, xb = b.x0 + tx + MFR_MOTION_BX;
        if (xa < w) gp[(uint64_t)j * w + xa] = acc[r][0];
        if (xb < w) gp[(uint64_t)j * w + xb] = acc[r][1];
    }
}

// Pass 2, stage chunk j0 (thread tid's share): G rows j0.. of this block's columns and the
// twiddles e^{+2 pi i ky_j y / h} of its image rows; zero outside (j >= m, x >= w, y >= h).
MFR_HD void mfr_motion_cols_stage(MfrMotionColsTile* t, uint32_t tid, uint32_t j0, MfrMotionBlock b, uint32_t m,
                                  uint32_t w, uint32_t h, const MfrC64* gp, const uint32_t* ky, const MfrC64* tw) {
    for (uint32_t e = tid; e < MFR_MOTION_P2_J * MFR_MOTION_P2_X; e += MFR_MOTION_THREADS) {
        const uint32_t jj = e / MFR_MOTION_P2_X, xx = e % MFR_MOTION_P2_X;
        const uint32_t j = j0 + jj, x = b.x0 + xx;
        MfrC64 v;
        mfr_c64_zero(&v);
        if (j < m && x < w) v = gp[(uint64_t)j * w + x];
        t->g[jj][xx] = v;
    }
    for (uint32_t e = tid; e < MFR_MOTION_P2_J * MFR_MOTION_P2_Y; e += MFR_MOTION_THREADS) {
        const uint32_t jj = e / MFR_MOTION_P2_Y, yy = e % MFR_MOTION_P2_Y;
        const uint32_t j = j0 + jj, y = b.r0 + yy;
        MfrC64 v;
        mfr_c64_zero(&v);
        if (j < m && y < h) v = tw[mfr_twiddle_index(ky[j], y, h)];
        t->tw[jj][yy] = v;
    }
}

// Pass 2, accumulate one staged chunk: thread (tx, ty) owns column x0 + tx and image rows
// y0 + ty + 8 r (r < 4); k-space row j ascending.
MFR_HD void mfr_motion_cols_accumulate(const MfrMotionColsTile* t, uint32_t tx, uint32_t ty, double acc[4]) {
MFR_UNROLL_BY(4)
    for (uint32_t jj = 0; jj < MFR_MOTION_P2_J; ++jj) {
        const MfrC64 gv = t->g[jj][tx];
MFR_UNROLL
        for (int r = 0; r < 4; ++r) acc[r] = mfr_cmac_re(acc[r], gv, t->tw[jj][ty + MFR_MOTION_BY * r]);
    }
}

// Pass 2, finish thread (tx, ty)'s samples of channel b.c: x + sum / (w h), NaN -> 0, clamp.
MFR_HD void mfr_motion_cols_store(const float* in, float* out, MfrImageDesc d, MfrMotionBlock b, uint32_t tx, uint32_t ty,
                                  const double acc[4]) {
MFR_UNROLL
    for (int r = 0; r < 4; ++r) {
        const uint32_t x = b.x0 + tx, y = b.r0 + ty + MFR_MOTION_BY * r;
        if (x < d.width && y < d.height) {
            const uint64_t i = mfr_sample_index(d, b.c, y, x);
            out[i] = mfr_motion_finish(in[i], acc[r], d.width, d.height);
        }
    }
}

// Strength <= 0 (or NaN): the CPU returns x unchanged (no clipping); thread (tx, ty)'s samples.
MFR_HD void mfr_motion_cols_copy(const float* in, float* out, MfrImageDesc d, MfrMotionBlock b, uint32_t tx, uint32_t ty) {
    for (int r = 0; r < 4; ++r) {
        const uint32_t x = b.x0 + tx, y = b.r0 + ty + MFR_MOTION_BY * r;
        if (x < d.width && y < d.height) {
            const uint64_t i = mfr_sample_index(d, b.c, y, x);
            out[i] = in[i];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Radix-2 path (meta word MFR_MOTION_FFT = 1: w and h are powers of two in [2, MFR_MOTION_FFT_MAX]).
// One block per transform, the whole sequence in shared memory (`a`, n <= MFR_MOTION_FFT_MAX
// complex values, 32 KiB), loaded in bit-reversed order, then log2(n) decimation-in-time stages:
//   pass 1 (`mri_motion_rows_fft`, block = (channel, k-space row j)):
//     a <- D[ky_j, kx] (kx < w, ramp applied on load), stages over w, G[j, :] <- a;
//   pass 2 (`mri_motion_cols_fft`, block = (channel, column x)):
//     a <- 0, a[ky_j] <- G[j, x] (j < m), stages over h, out[:, x] <- finish(in, Re a).
// Stage `len` (2, 4, ..., n) combines pairs (i0, i0 + len/2) with e^{+2 pi i k / len} =
// tw[k n / len] (the n-point table); a barrier separates the phases.
#define MFR_MOTION_FFT_MAX 2048u

// log2 of a power of two n >= 2.
MFR_HD uint32_t mfr_log2_pow2(uint32_t n) {
    uint32_t b = 0;
    while ((1u << b) < n) ++b;
    return b;
}

// i with its low `bits` bits reversed (1 <= bits <= 31, i < 2^bits).
MFR_HD uint32_t mfr_bitrev(uint32_t i, uint32_t bits) {
#ifdef __CUDACC__
    return __brev(i) >> (32u - bits);
#else
    uint32_t r = 0;
    for (uint32_t k = 0; k < bits; ++k) {
        r = (r << 1) | (i & 1u);
        i >>= 1;
    }
    return r;
#endif
}

// Pass 1 load, thread `tid`: a[bitrev(kx)] = D[ky, kx] for kx < w (w a power of two).
MFR_HD void mfr_motion_fft_load_row(MfrC64* a, uint32_t tid, const MfrC64* plane, uint32_t w, uint32_t h, uint32_t ky,
                                    double ux, double uy, double s_px) {
    const uint32_t bits = mfr_log2_pow2(w);
    for (uint32_t kx = tid; kx < w; kx += MFR_MOTION_THREADS)
        a[mfr_bitrev(kx, bits)] = mfr_motion_sample(plane, w, h, ky, ux, uy, s_px, kx);
}

// Pass 2 load, first phase, thread `tid`: a[0..n) = 0.
MFR_HD void mfr_motion_fft_zero(MfrC64* a, uint32_t tid, uint32_t n) {
    for (uint32_t i = tid; i < n; i += MFR_MOTION_THREADS) mfr_c64_zero(&a[i]);
}

// Pass 2 load, second phase, thread `tid`: a[bitrev(ky_j)] = G[j, x] for j < m (the ky_j are
// distinct, so no two threads write one slot). `gp` is the channel's G (m x w).
MFR_HD void mfr_motion_fft_scatter_col(MfrC64* a, uint32_t tid, const MfrC64* gp, uint32_t m, uint32_t w, uint32_t h,
                                       const uint32_t* ky, uint32_t x) {
    const uint32_t bits = mfr_log2_pow2(h);
    for (uint32_t j = tid; j < m; j += MFR_MOTION_THREADS) a[mfr_bitrev(ky[j], bits)] = gp[(uint64_t)j * w + x];
}

// One decimation-in-time stage of span `len` over a (n values), thread `tid`'s butterflies;
// `tw` is the n-point table e^{+2 pi i k / n}.
MFR_HD void mfr_fft_stage(MfrC64* a, uint32_t tid, uint32_t n, uint32_t len, const MfrC64* tw) {
    const uint32_t half = len / 2u, step = n / len;
    for (uint32_t b = tid; b < n / 2u; b += MFR_MOTION_THREADS) {
        const uint32_t k = b & (half - 1u);
        const uint32_t i0 = (b / half) * len + k, i1 = i0 + half;
        const MfrC64 t = mfr_cmul(tw[k * step], a[i1]);
        const MfrC64 u = a[i0];
        a[i0].re = u.re + t.re;
        a[i0].im = u.im + t.im;
        a[i1].re = u.re - t.re;
        a[i1].im = u.im - t.im;
    }
}

// Pass 1 store, thread `tid`: G row (w values) <- a.
MFR_HD void mfr_motion_fft_store_row(MfrC64* g_row, const MfrC64* a, uint32_t tid, uint32_t w) {
    for (uint32_t x = tid; x < w; x += MFR_MOTION_THREADS) g_row[x] = a[x];
}

// Pass 2 store, thread `tid`: column x of channel c: x + Re a[y] / (w h), NaN -> 0, clamp.
MFR_HD void mfr_motion_fft_store_col(const float* in, float* out, MfrImageDesc d, uint32_t c, uint32_t x, const MfrC64* a,
                                     uint32_t tid) {
    for (uint32_t y = tid; y < d.height; y += MFR_MOTION_THREADS) {
        const uint64_t i = mfr_sample_index(d, c, y, x);
        out[i] = mfr_motion_finish(in[i], a[y].re, d.width, d.height);
    }
}

// Strength <= 0 (or NaN) on the radix-2 path: column x of channel c unchanged, thread `tid`.
MFR_HD void mfr_motion_fft_copy_col(const float* in, float* out, MfrImageDesc d, uint32_t c, uint32_t x, uint32_t tid) {
    for (uint32_t y = tid; y < d.height; y += MFR_MOTION_THREADS) {
        const uint64_t i = mfr_sample_index(d, c, y, x);
        out[i] = in[i];
    }
}
