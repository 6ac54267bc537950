// Shared device/host building blocks of the CUDA engine (spec/gpu.md).
//
// Everything here is a small `__host__ __device__` inline function or a plain struct, so the same
// text is compiled (a) by nvcc into every kernel and (b) by the host C++ compiler into the
// host-math shim (kernels/host/shim.cpp), which tests/cuda_host_math.rs checks bit for bit against
// the Rust CPU implementation on machines without a GPU. Twins are named next to each function.
//
// Numerics contract: no fast-math, no fused multiply-add where parity is bit-level (build.rs passes
// --fmad=false to nvcc and -ffp-contract=off to the host compiler). Integer work (Philox, index
// maths) is exact everywhere.
#pragma once

#include <stdint.h>
#ifndef __CUDACC__
#include <math.h>
// Host build: the CUDA qualifiers mean nothing.
#define __host__
#define __device__
#define __forceinline__ inline
#endif

#define MFR_HD __host__ __device__ __forceinline__

// `#pragma unroll` (or `#pragma unroll n`) for nvcc, nothing for the host compiler (which would
// warn about it).
#ifdef __CUDACC__
#define MFR_UNROLL _Pragma("unroll")
#define MFR_PRAGMA(x) _Pragma(#x)
#define MFR_UNROLL_BY(n) MFR_PRAGMA(unroll n)
#else
#define MFR_UNROLL
#define MFR_UNROLL_BY(n)
#endif

// ---------------------------------------------------------------------------------------------
// Parameter structs shared with Rust. Mirrored by #[repr(C)] structs in src/backend/params.rs;
// keep field order, types and padding identical (size/offset tests on both sides).

// One image of a batch. Images are stored planar (c*h*w + y*w + x) and packed back to back in one
// device buffer; `offset` is the index of the image's first sample. Mixed sizes need no padding.
struct MfrImageDesc {
    uint64_t offset;
    uint32_t width;
    uint32_t height;
    uint32_t channels;
    uint32_t image_id;  // RNG counter word 2 (FNV-1a of the image's relative path), src/rng.rs
};

// Run-wide RNG key and perturbation id: counter word 3 and the Philox key (src/rng.rs `Rng`).
struct MfrRngKey {
    uint32_t key_lo;
    uint32_t key_hi;
    uint32_t perturbation_id;
    uint32_t pad0;
};

// Fused SSIM window and constants (twin: src/ssim.rs; variants in spec/ssim-calibration.md).
#define MFR_SSIM_MAX_RADIUS 5
struct MfrSsimParams {
    double taps[2 * MFR_SSIM_MAX_RADIUS + 1];  // first 2*radius+1 used, symmetric, sum 1
    double c1;                                 // (K1 L)^2
    double c2;                                 // (K2 L)^2
    double cov_norm;                           // 1 (population) or n/(n-1) (sample covariance)
    uint32_t radius;                           // window half-width; map cropped by it on every side
    uint32_t n_images;
};

// ---------------------------------------------------------------------------------------------
// Philox4x32-10 (Salmon et al. SC'11, Random123). Twin: src/rng.rs `philox4x32_10`.
// Known answers (spec/gpu.md) are checked on the host by tests/cuda_host_math.rs.

struct MfrU32x4 {
    uint32_t x, y, z, w;
};

#define MFR_PHILOX_M0 0xD2511F53u
#define MFR_PHILOX_M1 0xCD9E8D57u
#define MFR_PHILOX_W0 0x9E3779B9u
#define MFR_PHILOX_W1 0xBB67AE85u

MFR_HD MfrU32x4 mfr_philox_round(MfrU32x4 c, uint32_t k0, uint32_t k1) {
    // 32x32 -> 64-bit products (nvcc emits mul.wide.u32 / mul.hi.u32).
    uint64_t p0 = (uint64_t)MFR_PHILOX_M0 * (uint64_t)c.x;
    uint64_t p1 = (uint64_t)MFR_PHILOX_M1 * (uint64_t)c.z;
    MfrU32x4 r;
    r.x = (uint32_t)(p1 >> 32) ^ c.y ^ k0;
    r.y = (uint32_t)p1;
    r.z = (uint32_t)(p0 >> 32) ^ c.w ^ k1;
    r.w = (uint32_t)p0;
    return r;
}

MFR_HD MfrU32x4 mfr_philox4x32_10(MfrU32x4 c, uint32_t k0, uint32_t k1) {
MFR_UNROLL
    for (int i = 0; i < 9; ++i) {
        c = mfr_philox_round(c, k0, k1);
        k0 += MFR_PHILOX_W0;
        k1 += MFR_PHILOX_W1;
    }
    return mfr_philox_round(c, k0, k1);
}

// Block (stream, index) of one (key, image, perturbation): counter = (index, stream, image, pert).
// Twin: src/rng.rs `Rng::block`.
MFR_HD MfrU32x4 mfr_rng_block(MfrRngKey k, uint32_t image_id, uint32_t stream, uint32_t index) {
    MfrU32x4 c;
    c.x = index;
    c.y = stream;
    c.z = image_id;
    c.w = k.perturbation_id;
    return mfr_philox4x32_10(c, k.key_lo, k.key_hi);
}

// u32 -> f32 in the open interval (0, 1): ((w >> 9) + 0.5) * 2^-23, exact in f32.
// Twin: src/rng.rs `unit_f32`.
MFR_HD float mfr_unit_f32(uint32_t w) {
    return ((float)(w >> 9) + 0.5f) * (1.0f / 8388608.0f);
}

// Box-Muller in f64, rounded once to f32. Twin: src/rng.rs `box_muller`. On the host (glibc libm,
// the same functions Rust calls) this is bit-identical; on the device CUDA's f64 log/sin/cos are
// within 2 ulp of f64, so the f32 results agree except on rare rounding boundaries (1 ulp).
MFR_HD void mfr_box_muller(uint32_t w0, uint32_t w1, float* z0, float* z1) {
    double u1 = (double)mfr_unit_f32(w0);
    double u2 = (double)mfr_unit_f32(w1);
    double r = sqrt(-2.0 * log(u1));
    double t = 6.283185307179586 * u2;  // f64 TAU, as std::f64::consts::TAU
    *z0 = (float)(r * cos(t));
    *z1 = (float)(r * sin(t));
}

// Standard normal from words 0 and 1 of block (stream, index). Twin: src/rng.rs `Rng::normal`.
MFR_HD float mfr_rng_normal(MfrRngKey k, uint32_t image_id, uint32_t stream, uint32_t index) {
    MfrU32x4 b = mfr_rng_block(k, image_id, stream, index);
    float z0, z1;
    mfr_box_muller(b.x, b.y, &z0, &z1);
    return z0;
}

// Uniform in (0, 1) from word 0 of block (stream, index). Twin: src/rng.rs `Rng::uniform`.
MFR_HD float mfr_rng_uniform(MfrRngKey k, uint32_t image_id, uint32_t stream, uint32_t index) {
    return mfr_unit_f32(mfr_rng_block(k, image_id, stream, index).x);
}

// ---------------------------------------------------------------------------------------------
// Index helpers.

// Half-sample symmetric reflection into [0, n) for any overhang (scipy.ndimage mode='reflect').
// Twin: src/perturb/common/filter.rs `reflect_index`. Requires n >= 1.
MFR_HD int32_t mfr_reflect_index(int32_t i, int32_t n) {
    if (i >= 0 && i < n) return i;
    int32_t period = 2 * n;
    int32_t m = i % period;
    if (m < 0) m += period;
    if (m >= n) m = period - 1 - m;
    return m;
}

// Rust `f32::clamp(v, 0.0, 1.0)`: NaN stays NaN (unlike mfr_clip01). Twin of the CPU `apply`s that
// clamp their result directly.
MFR_HD float mfr_clamp01_rust(float v) {
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

// Clip to [0, 1]; NaN becomes 0. Twin: src/image.rs `Image::clip`.
MFR_HD float mfr_clip01(float v) {
    if (v != v) return 0.0f;
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

// Image::quantised (src/image.rs): NaN -> 0, clamp to [0, 1], round half away from zero to the
// bit depth's integer scale `max` (255 or 65535), back to [0, 1]. The search measures SSIM on
// what would be written, so the on-GPU search quantises before its SSIM exactly like the CPU.
MFR_HD float mfr_quantise(float v, float max) {
    if (v != v) v = 0.0f;
    v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    return roundf(v * max) / max;
}

// Sample (c, y, x) of image `d` inside a packed batch buffer.
MFR_HD uint64_t mfr_sample_index(MfrImageDesc d, uint32_t c, uint32_t y, uint32_t x) {
    return d.offset + ((uint64_t)c * d.height + y) * d.width + x;
}
