// Per-pixel math of the OCT perturbations, shared by kernels/oct.cu and the host-math shim
// (kernels/host/shim_oct.cpp). Twins: src/perturb/oct/{shadow,blink,speckle,motion,defocus}.rs,
// src/perturb/common/objects.rs `interval_coverage` and src/perturb/common/psf.rs
// `convolve_disk`, with the same f32/f64 operations in the same order (no FMA), so host results
// are bit-identical to the CPU. Output clamped to [0, 1]; strength <= 0 (oct_defocus: <= 0.5)
// returns the input unchanged.
//
// Strength-independent data, drawn on the CPU with the CPU's own functions and uploaded once:
// - oct_shadow / oct_blink: column / band lists (`shadow_columns`, `blink_bands`), `list[2k]`
//   centre in px, `list[2k + 1]` share of the extent;
// - oct_speckle: the N(0, 1) plane (`speckle_field`);
// - oct_motion: the band factor of every row (`motion_row_factors`).
// oct_defocus has no strength-independent part: its disk (size and weights depend on s) is
// built on the DEVICE from the CPU's formula (mfr_disk_weight), so the on-GPU search needs no
// host work per strength.
#pragma once
#include "common.cuh"

#define MFR_OCT_SHADOW_K 3
#define MFR_OCT_SHADOW_DEPTH 0.95f
#define MFR_OCT_BLINK_K 4

// Exact coverage of the unit pixel [x - 0.5, x + 0.5] by [lo, hi], in [0, 1].
MFR_HD float mfr_interval_coverage(float x, float lo, float hi) {
    float a = x + 0.5f;
    float b = x - 0.5f;
    float top = hi < a ? hi : a;
    float bot = lo > b ? lo : b;
    float c = top - bot;
    return c < 0.0f ? 0.0f : (c > 1.0f ? 1.0f : c);
}

// max_k coverage of position `pos` by the k segments centred at list[2k] with half-width
// 0.5 * s * extent * list[2k + 1] (the CPU's fold(0, max)).
MFR_HD float mfr_segments_coverage(const float* list, int k_count, float pos, float s, float extent) {
    float a = 0.0f;
    for (int k = 0; k < k_count; ++k) {
        float half = 0.5f * s * extent * list[2 * k + 1];
        float c = list[2 * k];
        float v = mfr_interval_coverage(pos, c - half, c + half);
        a = a > v ? a : v;  // f32::max (no NaN here)
    }
    return a;
}

// oct_shadow: gain of column x of a `width`-px image: 1 - DEPTH * a(x).
MFR_HD float mfr_oct_shadow_gain(const float* cols, uint32_t x, uint32_t width, float s) {
    return 1.0f - MFR_OCT_SHADOW_DEPTH * mfr_segments_coverage(cols, MFR_OCT_SHADOW_K, (float)x, s, (float)width);
}

// oct_blink: gain of row y of a `height`-px image: 1 - a(y).
MFR_HD float mfr_oct_blink_gain(const float* bands, uint32_t y, uint32_t height, float s) {
    return 1.0f - mfr_segments_coverage(bands, MFR_OCT_BLINK_K, (float)y, s, (float)height);
}

// Both: out = clip(x * gain).
MFR_HD float mfr_gain_apply(float x, float gain, float s) {
    if (s <= 0.0f) return x;
    return mfr_clip01(x * gain);
}

// oct_speckle: clamp(x exp(s z - s^2 / 2)), z the pixel's N(0, 1) draw (shared by channels).
// expf: glibc's on the host (= Rust f32::exp, bit-identical); CUDA's on the device (<= 2 ulp).
MFR_HD float mfr_oct_speckle(float x, float z, float s) {
    if (s <= 0.0f) return x;
    float half_var = 0.5f * s * s;
    return mfr_clamp01_rust(x * expf(s * z - half_var));
}

// oct_motion: lateral shift of row y by d = s * W * u (u the row's band factor).
MFR_HD float mfr_oct_motion_shift(float s, uint32_t width, float u) { return s * (float)width * u; }

// oct_motion: sample x of a row shifted by d: linear interpolation at x - d, reflect border.
// (Rust `as isize` of the floor; |x - d| stays far below 2^31 for strengths in range.)
MFR_HD float mfr_oct_motion(const float* row, uint32_t x, uint32_t width, float d) {
    float xf = (float)x - d;
    float x0 = floorf(xf);
    float t = xf - x0;
    int32_t i0 = (int32_t)x0;
    float a = row[mfr_reflect_index(i0, (int32_t)width)];
    float b = row[mfr_reflect_index(i0 + 1, (int32_t)width)];
    return mfr_clamp01_rust((1.0f - t) * a + t * b);
}

// ---- oct_defocus: psf.rs `convolve_disk` (anti-aliased disk of radius s, reflect border) ----
// Largest kernel half-size the device path supports: half = ceil(r + 0.5) - 1 <= 10, i.e.
// radius <= 10.5 px, covering the catalogued range 0-10. The wrapper's scratch row stride and the
// kernel's shared tap table are sized by it; a larger half writes NaN (the wrapper rejects such
// strengths on the host).
#define MFR_DISK_MAX_HALF 10
#define MFR_DISK_MAX_SIDE (2 * MFR_DISK_MAX_HALF + 1)

// Kernel half-size of radius s (Rust: `((r + 0.5).ceil() as isize - 1).max(0)`, r = s.max(0)).
MFR_HD int32_t mfr_disk_half(float radius) {
    float r = radius > 0.0f ? radius : 0.0f;  // f32::max(0.0): NaN -> 0
    int32_t half = (int32_t)ceilf(r + 0.5f) - 1;
    return half > 0 ? half : 0;
}

// Raw weight of tap (kx, ky): clamp(r + 0.5 - |(kx, ky)|, 0, 1) (sqrtf is correctly rounded on
// both sides: --prec-sqrt=true on the device).
MFR_HD float mfr_disk_weight(float radius, int32_t kx, int32_t ky) {
    float r = radius > 0.0f ? radius : 0.0f;
    float d = sqrtf((float)(kx * kx + ky * ky));
    float w = r + 0.5f - d;
    return w < 0.0f ? 0.0f : (w > 1.0f ? 1.0f : w);
}

// f64 prefix sums of one reflect-padded source row: p[0] = 0, p[j + 1] = sum of padded[0..=j],
// padded[j] = src[reflect(j - half)], j < w + 2 half (w + 2 half + 1 values written).
MFR_HD void mfr_disk_prefix_row(const float* src, int32_t w, int32_t half, double* p) {
    double acc = 0.0;
    p[0] = 0.0;
    for (int32_t j = 0; j < w + 2 * half; ++j) {
        acc += (double)src[mfr_reflect_index(j - half, w)];
        p[j + 1] = acc;
    }
}

// 1 / (sum of all raw weights in row-major order, in f64); `wt` the (2 half + 1)^2 table.
MFR_HD double mfr_disk_inv_total(const float* wt, int32_t half) {
    int32_t side = 2 * half + 1;
    double total = 0.0;
    for (int32_t i = 0; i < side * side; ++i) total += (double)wt[i];
    return 1.0 / total;
}

// Output sample (x, y) before the clamp: for each kernel row ky (ascending) the run of
// full-weight taps as one prefix difference, then the partial taps in kx order, all in f64,
// times inv. `pre` is the plane's prefix rows (row r at pre + r * stride), `wt` the weight table.
MFR_HD float mfr_disk_sample(const double* pre, uint64_t stride, int32_t x, int32_t y, int32_t h, int32_t half,
                             const float* wt, double inv) {
    int32_t side = 2 * half + 1;
    double acc = 0.0;
    for (int32_t ky = -half; ky <= half; ++ky) {
        const double* p = pre + (uint64_t)mfr_reflect_index(y + ky, h) * stride;
        const float* row = wt + (ky + half) * side;
        int32_t lo = -1, hi = -1;
        for (int32_t k = 0; k < side; ++k) {
            if (row[k] >= 1.0f) {
                if (lo < 0) lo = k;
                hi = k;
            }
        }
        if (lo >= 0) acc += p[x + hi + 1] - p[x + lo];
        for (int32_t k = 0; k < side; ++k) {
            float g = row[k];
            if (g < 1.0f && g > 0.0f) acc += (double)g * (p[x + k + 1] - p[x + k]);
        }
    }
    return (float)(acc * inv);
}
