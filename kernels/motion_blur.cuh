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
