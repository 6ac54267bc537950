// Per-pixel math of the X-ray perturbations, shared by kernels/xray.cu and the host-math shim
// (kernels/host/shim_xray.cpp). Twins: src/perturb/xray/*.rs `apply` (same f32 operation order,
// no FMA contraction). Results are finished with `mfr_finish` (pointwise.cuh) by the caller.
#pragma once
#include "pointwise.cuh"

#define MFR_XRAY_OVEREXPOSURE 0u
#define MFR_XRAY_UNDEREXPOSURE 1u
#define MFR_XRAY_HAZE 2u
#define MFR_XRAY_GRID 3u
#define MFR_XRAY_SCATTER 4u

// xray_overexposure: x (1 + 2 s).
MFR_HD float mfr_xray_overexposure(float v, float s) {
    float gain = 1.0f + 2.0f * s;
    return v * gain;
}

// xray_underexposure: f x + sqrt(f (1 - f) x / N0) n, f = 1 - s, N0 = 400, n = normal(stream 0, plane index).
MFR_HD float mfr_xray_underexposure(float v, float n, float s) {
    float f = 1.0f - s;
    float k = f * (1.0f - f) / 400.0f;
    float vp = v > 0.0f ? v : 0.0f;
    if (v != v) vp = 0.0f;  // Rust f32::max(NaN, 0) = 0
    return f * v + sqrtf(k * vp) * n;
}

// xray_haze: a = min(1, s m); x (1 - a) + a 0.85, m the prepared field (smooth_field^0.7).
MFR_HD float mfr_xray_haze(float v, float m, float s) {
    float a = s * m;
    a = a < 1.0f ? a : 1.0f;
    return v * (1.0f - a) + a * 0.85f;
}

// xray_grid: x (1 - s r_y), r_y = 1 - grid_factor(y, period, 1) prepared per row.
MFR_HD float mfr_xray_grid(float v, float row, float s) { return v * (1.0f - s * row); }

// xray_scatter: x + s b, b the prepared Gaussian veil (per channel).
MFR_HD float mfr_xray_scatter(float v, float b, float s) { return v + s * b; }

// Dispatch; `field` is the op's field value (0 if none), `n` the op's normal draw.
MFR_HD float mfr_xray_pixel(uint32_t op, float v, float field, float n, float s) {
    switch (op) {
        case MFR_XRAY_OVEREXPOSURE: return mfr_xray_overexposure(v, s);
        case MFR_XRAY_UNDEREXPOSURE: return mfr_xray_underexposure(v, n, s);
        case MFR_XRAY_HAZE: return mfr_xray_haze(v, field, s);
        case MFR_XRAY_GRID: return mfr_xray_grid(v, field, s);
        default: return mfr_xray_scatter(v, field, s);
    }
}
