// Per-block math of pixelate, shared by kernels/pixelate.cu and the host-math shim. Twin:
// src/perturb/base/pixelate.rs: the mean of a b x b block (partial blocks at the right/bottom
// edges) summed in f64 in the same order (per row x0..x1, each row's sum added to the block sum
// in row order), divided by the pixel count in f64 and rounded once to f32.
#pragma once
#include "common.cuh"

// Block size from the strength: 1 + round(max(s, 0)) (round half away from zero, as Rust's
// f32::round and C's roundf).
MFR_HD uint32_t mfr_pixelate_block(float s) {
    return 1u + (uint32_t)roundf(s > 0.0f ? s : 0.0f);
}

// Sum of row y over columns x0..x1 of a w-wide plane, in f64 from 0 in column order (the CPU's
// `iter().map(f64).sum()`; its -0.0 start gives the same sum for samples in [0, 1]).
MFR_HD double mfr_pixelate_row_sum(const float* plane, uint32_t w, uint32_t y, uint32_t x0, uint32_t x1) {
    double row = 0.0;
    for (uint32_t x = x0; x < x1; ++x) row += (double)plane[(uint64_t)y * w + x];
    return row;
}

// The block mean from its sum (row sums added in row order) and pixel count, rounded once to f32.
MFR_HD float mfr_pixelate_mean(double sum, uint32_t count) { return (float)(sum / (double)count); }

// Mean of the block whose top-left pixel is (x0, y0) in a w x h plane.
MFR_HD float mfr_pixelate_block_mean(const float* plane, uint32_t w, uint32_t h, uint32_t x0,
                                     uint32_t y0, uint32_t b) {
    uint32_t x1 = x0 + b < w ? x0 + b : w;
    uint32_t y1 = y0 + b < h ? y0 + b : h;
    double sum = 0.0;
    for (uint32_t y = y0; y < y1; ++y) sum += mfr_pixelate_row_sum(plane, w, y, x0, x1);
    return mfr_pixelate_mean(sum, (x1 - x0) * (y1 - y0));
}
