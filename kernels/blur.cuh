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

// Twin of src/perturb/common/filter.rs `gaussian_kernel(sigma, truncate)`: radius
// r = int(truncate * sigma + 0.5), weights exp(-0.5 x^2 / sigma^2) for x = -r..r in f64, their
// sum taken in that order, taps (w_x / sum) as f32. sigma <= 0 (or NaN) gives the identity [1.0].
// Writes 2r + 1 taps and returns r. The radius is capped at max_r: callers size the tap buffer
// for the largest strength they pass (the search never leaves the strength range), so the cap is
// a memory guard, not a model. Each weight is evaluated twice (for the sum, then for the tap)
// with the same operations, so no scratch is needed and the values are the same.
MFR_HD int32_t mfr_gaussian_taps(double sigma, double truncate, int32_t max_r, float* taps) {
    if (!(sigma > 0.0)) {
        taps[0] = 1.0f;
        return 0;
    }
    double rr = truncate * sigma + 0.5;
    int32_t r = rr >= (double)max_r ? max_r : (int32_t)rr;
    double ss = sigma * sigma;
    double sum = 0.0;
    for (int32_t x = -r; x <= r; ++x) sum += exp(-0.5 * (double)(x * x) / ss);
    for (int32_t x = -r; x <= r; ++x) taps[x + r] = (float)(exp(-0.5 * (double)(x * x) / ss) / sum);
    return r;
}
