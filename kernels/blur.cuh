// Per-pixel math of the separable Gaussian blur, shared by kernels/blur.cu and the host-math
// shim. Twin: src/perturb/common/filter.rs `convolve_separable` (reflect border, f32 accumulation
// starting at 0, taps k = 0..2r in order, rows first, then columns), used by gaussian_blur in
// src/perturb/base/blur.rs. Bit-identical with --fmad=false / -ffp-contract=off.
#pragma once
#include "common.cuh"

// Horizontal pass at column x of one row of width w.
MFR_HD float mfr_blur_row_pixel(const float* row, int32_t w, int32_t x, const float* taps, int32_t r) {
    float acc = 0.0f;
    for (int32_t k = 0; k <= 2 * r; ++k) {
        acc += taps[k] * row[mfr_reflect_index(x + k - r, w)];
    }
    return acc;
}

// Vertical pass at (x, y) of a w x h plane (the horizontal pass's output).
MFR_HD float mfr_blur_col_pixel(const float* plane, int32_t w, int32_t h, int32_t x, int32_t y,
                                const float* taps, int32_t r) {
    float acc = 0.0f;
    for (int32_t k = 0; k <= 2 * r; ++k) {
        acc += taps[k] * plane[(int64_t)mfr_reflect_index(y + k - r, h) * w + x];
    }
    return acc;
}
