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
#pragma once
#include "pointwise.cuh"

// One complex f64 value (layout of Rust's `Complex64` / an interleaved (re, im) f64 pair).
struct MfrC64 {
    double re;
    double im;
};

// Per-image table of u64 words (src/backend/motion_pack.rs `MOTION_META_WORDS` and slots).
#define MFR_MOTION_META_WORDS 5u
#define MFR_MOTION_ROWS_OFF 0u  // first entry of the image in row_ky / row_u (2 doubles per row)
#define MFR_MOTION_ROWS 1u      // m: number of non-zero k-space rows
#define MFR_MOTION_G_OFF 2u     // first MfrC64 of the image's G scratch (c * m * w values)
#define MFR_MOTION_TW_W_OFF 3u  // first MfrC64 of the w-point twiddle table
#define MFR_MOTION_TW_H_OFF 4u  // first MfrC64 of the h-point twiddle table

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

// F (e^{i phase} - 1), as num_complex's `f * Complex64::new(cos - 1, sin)`.
MFR_HD MfrC64 mfr_motion_diff(MfrC64 f, double phase) {
    double c, s;
#ifdef __CUDACC__
    sincos(phase, &s, &c);
#else
    c = cos(phase);  // glibc, the functions Rust's f64::cos / f64::sin call
    s = sin(phase);
#endif
    const double rr = c - 1.0;
    MfrC64 d;
    d.re = f.re * rr - f.im * s;
    d.im = f.re * s + f.im * rr;
    return d;
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
    acc.re = acc.re + (a.re * b.re - a.im * b.im);
    acc.im = acc.im + (a.re * b.im + a.im * b.re);
    return acc;
}

// acc + Re(a b): the multiply-add of pass 2 (only the real part of ifft2 is kept).
MFR_HD double mfr_cmac_re(double acc, MfrC64 a, MfrC64 b) { return acc + (a.re * b.re - a.im * b.im); }

// (k n) mod N for k, n < N: the twiddle table index of e^{+2 pi i k n / N}. 32-bit when exact.
MFR_HD uint32_t mfr_twiddle_index(uint32_t k, uint32_t n, uint32_t big_n) {
    return big_n <= 65536u ? (k * n) % big_n : (uint32_t)(((uint64_t)k * n) % big_n);
}

// x + (float)(Re sum * 1/(w h)), then NaN -> 0 and clamp (ifft2's scale and `map_pixels`).
MFR_HD float mfr_motion_finish(float v, double acc, uint32_t w, uint32_t h) {
    const double k = 1.0 / (double)((uint64_t)w * h);
    return mfr_finish(v + (float)(acc * k));
}

// Launch geometry shared with the host loops' documentation: blocks of 32 x 8 threads.
// Pass 1 tile: 64 columns x 32 rows (each thread 2 x 4 outputs), kx in chunks of 16.
// Pass 2 tile: 32 columns x 32 image rows (each thread 1 x 4 outputs), k-space rows in chunks of 16.
#define MFR_MOTION_BX 32u
#define MFR_MOTION_BY 8u
#define MFR_MOTION_P1_X 64u
#define MFR_MOTION_P1_J 32u
#define MFR_MOTION_P1_K 16u
#define MFR_MOTION_P2_X 32u
#define MFR_MOTION_P2_Y 32u
#define MFR_MOTION_P2_J 16u
