// Per-pixel math of the CT perturbations with a prepared field, shared by kernels/ct.cu and the
// host-math shim (kernels/host/shim_ct.cpp). Twins: src/perturb/ct/{window_level,
// photon_starvation,beam_hardening,metal_streaks}.rs `apply` (same f32 operation order, no FMA
// contraction). ct_metal_streaks' streak field F is drawn on the host by the CPU's own
// `metal_streak_field` and uploaded.
// Results are finished with `mfr_finish` (pointwise.cuh) by the caller.
#pragma once
#include "pointwise.cuh"

#define MFR_CT_WINDOW_LEVEL 0u
#define MFR_CT_PHOTON_STARVATION 1u
#define MFR_CT_BEAM_HARDENING 2u
#define MFR_CT_METAL_STREAKS 3u

// ct_window_level: width = 1 - s/2, lo = 0.5 + s u - width/2, (x - lo) / width; u per image.
MFR_HD float mfr_ct_window_level(float v, float u, float s) {
    float width = 1.0f - s / 2.0f;
    float lo = 0.5f + s * u - width / 2.0f;
    return (v - lo) / width;
}

// ct_photon_starvation: x + s sqrt(max(x, 0) + 0.01) n, n = normal(stream 0, plane index).
MFR_HD float mfr_ct_photon_starvation(float v, float n, float s) {
    float vp = v > 0.0f ? v : 0.0f;
    if (v != v) vp = 0.0f;
    return v + s * sqrtf(vp + 0.01f) * n;
}

// ct_beam_hardening (cupping, centre darker): x (1 - s q), q = 1 - (r/R)^2 inside the body
// outline and 0 outside, prepared per pixel on the host (beam_hardening.rs `cupping_field`).
MFR_HD float mfr_ct_beam_hardening(float v, float q, float s) { return v * (1.0f - s * q); }

// ct_metal_streaks: x + s F, F the prepared streak field.
MFR_HD float mfr_ct_metal_streaks(float v, float f, float s) { return v + s * f; }

// Dispatch; `p` is the per-image parameter (window_level u), `field` the field value, `n` the
// normal draw.
MFR_HD float mfr_ct_pixel(uint32_t op, float v, float p, float field, float n, float s) {
    switch (op) {
        case MFR_CT_WINDOW_LEVEL: return mfr_ct_window_level(v, p, s);
        case MFR_CT_PHOTON_STARVATION: return mfr_ct_photon_starvation(v, n, s);
        case MFR_CT_METAL_STREAKS: return mfr_ct_metal_streaks(v, field, s);
        default: return mfr_ct_beam_hardening(v, field, s);
    }
}
