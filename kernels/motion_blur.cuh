// Per-pixel math of motion_blur, shared by kernels/motion_blur.cu and the host-math shim
// (kernels/host/shim_motion_blur.cpp). Twin: src/perturb/common/psf.rs `convolve_sparse` (taps
// summed in list order into an f32 accumulator starting at 0, reflect border on both axes), then
// clamp to [0, 1] (src/perturb/base/blur.rs `filter_planes`). The taps (dx, dy, weight) of image
// i at its strength come from the CPU's own `line_psf` on the host.
#pragma once
#include "common.cuh"

MFR_HD float mfr_sparse_conv_pixel(const float* plane, int32_t w, int32_t h, int32_t x, int32_t y,
                                   const int32_t* dx, const int32_t* dy, const float* wt, uint32_t n_taps) {
    float acc = 0.0f;
    for (uint32_t t = 0; t < n_taps; ++t) {
        int32_t sy = mfr_reflect_index(y + dy[t], h);
        int32_t sx = mfr_reflect_index(x + dx[t], w);
        acc += wt[t] * plane[(int64_t)sy * w + sx];
    }
    return acc < 0.0f ? 0.0f : (acc > 1.0f ? 1.0f : acc);
}

// Side of the line PSF's grid for a length L > 0: 2 r + 1 with r = ceil(L / 2) + 1 (psf.rs).
MFR_HD int32_t mfr_line_psf_side(double length) { return 2 * ((int32_t)ceil(length * 0.5) + 1) + 1; }

// Twin of src/perturb/common/psf.rs `line_psf(length, angle)` for length > 0, with
// (sn, cs) = angle.sin_cos() computed on the host (so no device trigonometry enters): bilinear
// splats of the pieces [k/8, (k+1)/8] on both sides of the centre, the last piece partial, into
// a zeroed f64 grid of side x side (side = mfr_line_psf_side(length)), then the taps with weight
// > 0 in row-major grid order, (dx, dy, (v / total) as f32), total summed in grid order. The same
// f64 operations in the same order as the CPU (no contraction), so the taps are the CPU's bits.
// Returns the tap count (<= side^2). Sequential: one thread per image.
MFR_HD uint32_t mfr_line_psf(double length, double sn, double cs, double* grid, int32_t* dx, int32_t* dy,
                             float* wt) {
    const double half = length * 0.5;
    const int32_t side = mfr_line_psf_side(length);
    const int32_t r = side / 2;
    for (uint32_t k = 0;; ++k) {
        const double a = (double)k * 0.125;
        if (a >= half) break;
        double b = a + 0.125;
        if (half < b) b = half;
        const double mid = 0.5 * (a + b);
        const double weight = b - a;
        for (int32_t sgn = 0; sgn < 2; ++sgn) {
            const double t = sgn == 0 ? mid : -mid;
            const double px = t * cs + (double)r, py = t * sn + (double)r;
            const double fx0 = floor(px), fy0 = floor(py);
            const double fx = px - fx0, fy = py - fy0;
            const int64_t x0 = (int64_t)fx0, y0 = (int64_t)fy0;
            grid[y0 * side + x0] += weight * (1.0 - fx) * (1.0 - fy);
            grid[y0 * side + x0 + 1] += weight * fx * (1.0 - fy);
            grid[(y0 + 1) * side + x0] += weight * (1.0 - fx) * fy;
            grid[(y0 + 1) * side + x0 + 1] += weight * fx * fy;
        }
    }
    const int32_t cells = side * side;
    double total = 0.0;
    for (int32_t i = 0; i < cells; ++i) total += grid[i];
    uint32_t n = 0;
    for (int32_t i = 0; i < cells; ++i) {
        const double v = grid[i];
        if (v > 0.0) {
            dx[n] = i % side - r;
            dy[n] = i / side - r;
            wt[n] = (float)(v / total);
            ++n;
        }
    }
    return n;
}
