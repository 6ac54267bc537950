// Per-pixel math of the affine warps (rotation, scaling, translation), shared by
// kernels/geometric.cu and the host-math shim (kernels/host/shim_geometric.cpp). Twin:
// src/perturb/common/warp.rs `Affine::map`, `sample_bilinear`, `tap` (f64 map, f64 floor, f32
// weights, same lerp order), then `Image::clip` (mfr_clip01). The 6 matrix entries of image i at
// its strength are computed on the host by the same `Affine` constructors the CPU uses.
#pragma once
#include "common.cuh"

#define MFR_BORDER_REFLECT 0u
#define MFR_BORDER_ZERO 1u

// Twin of filter.rs `reflect_index` on 64-bit indices (n >= 1).
MFR_HD int64_t mfr_reflect_index64(int64_t i, int64_t n) {
    if (i >= 0 && i < n) return i;
    int64_t period = 2 * n;
    int64_t m = i % period;
    if (m < 0) m += period;
    if (m >= n) m = period - 1 - m;
    return m;
}

MFR_HD float mfr_warp_tap(const float* plane, int64_t w, int64_t h, int64_t x, int64_t y, uint32_t border) {
    if (x >= 0 && y >= 0 && x < w && y < h) return plane[y * w + x];
    if (border == MFR_BORDER_ZERO) return 0.0f;
    return plane[mfr_reflect_index64(y, h) * w + mfr_reflect_index64(x, w)];
}

// Output pixel (x, y) of one w x h plane under the inverse map m (source = m * (x, y, 1)).
MFR_HD float mfr_warp_pixel(const float* plane, uint32_t w, uint32_t h, const double* m, uint32_t x, uint32_t y,
                            uint32_t border) {
    double sx = m[0] * (double)x + m[1] * (double)y + m[2];
    double sy = m[3] * (double)x + m[4] * (double)y + m[5];
    double x0 = floor(sx), y0 = floor(sy);
    float fx = (float)(sx - x0);
    float fy = (float)(sy - y0);
    int64_t ix = (int64_t)x0, iy = (int64_t)y0;
    float v00 = mfr_warp_tap(plane, w, h, ix, iy, border);
    float v10 = mfr_warp_tap(plane, w, h, ix + 1, iy, border);
    float v01 = mfr_warp_tap(plane, w, h, ix, iy + 1, border);
    float v11 = mfr_warp_tap(plane, w, h, ix + 1, iy + 1, border);
    float top = v00 + fx * (v10 - v00);
    float bottom = v01 + fx * (v11 - v01);
    return mfr_clip01(top + fy * (bottom - top));
}
