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

#define MFR_WARP_ROTATION 0u
#define MFR_WARP_SCALING 1u
#define MFR_WARP_TRANSLATION 2u

// The inverse map of a warp of a w x h image at strength s, built where the strength lives (the
// device, for the on-GPU search). Twin of src/perturb/base/geometric.rs `prepare` with the
// `Affine` constructors of src/perturb/common/warp.rs, the same f64 operations in the same order:
//   rotation:    degrees = p0 * s (p0 = param_sign(0)), t = degrees * (pi / 180) (Rust
//                `to_radians`), (sn, cs) = (sin t, cos t); m = [cs, -sn, cx - cs cx + sn cy,
//                sn, cs, cy - sn cx - cs cy], (cx, cy) = ((w - 1) / 2, (h - 1) / 2);
//   scaling:     factor = max(1 - s, 0.01), k = 1 / factor; m = [k, 0, cx - k cx, 0, k, cy - k cy];
//   translation: d = s min(w, h), (p0, p1) = (ux, uy) = the host's cos/sin of the drawn angle;
//                m = [1, 0, -(d ux), 0, 1, -(d uy)].
// Scaling and translation are exact arithmetic (the CPU's bits everywhere); rotation calls sin
// and cos, which the host libm and CUDA may round differently in the last place (CUDA: <= 2 ulp),
// so on the device its matrix can differ from the CPU's by ~1e-16 relative.
MFR_HD void mfr_warp_map(uint32_t kind, uint32_t w, uint32_t h, double s, double p0, double p1, double m[6]) {
    const double cx = ((double)w - 1.0) * 0.5, cy = ((double)h - 1.0) * 0.5;
    if (kind == MFR_WARP_ROTATION) {
        const double t = (p0 * s) * (3.14159265358979323846 / 180.0);
        const double sn = sin(t), cs = cos(t);
        m[0] = cs;
        m[1] = -sn;
        m[2] = cx - cs * cx + sn * cy;
        m[3] = sn;
        m[4] = cs;
        m[5] = cy - sn * cx - cs * cy;
    } else if (kind == MFR_WARP_SCALING) {
        double factor = 1.0 - s;
        if (!(factor >= 0.01)) factor = 0.01;
        const double k = 1.0 / factor;
        m[0] = k;
        m[1] = 0.0;
        m[2] = cx - k * cx;
        m[3] = 0.0;
        m[4] = k;
        m[5] = cy - k * cy;
    } else {
        const double d = s * (double)(w < h ? w : h);
        m[0] = 1.0;
        m[1] = 0.0;
        m[2] = -(d * p0);
        m[3] = 0.0;
        m[4] = 1.0;
        m[5] = -(d * p1);
    }
}
