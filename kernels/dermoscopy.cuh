// Per-pixel math of the dermoscopy perturbations with a kernel in kernels/dermoscopy.cu, shared
// with the host-math shim (kernels/host/shim_dermoscopy.cpp). Twin: src/perturb/dermoscopy/
// vignette.rs, same f32 operations in the same order (no FMA). Output clipped to [0, 1];
// strength <= 0 returns the input unchanged.
#pragma once
#include "common.cuh"

// (r/R)^2 at pixel (x, y) of a w x h image: r from the centre ((w-1)/2, (h-1)/2), R the
// half-diagonal (VIGNETTE_EXPONENT = 2, so the CPU's powi(1) is the identity).
MFR_HD float mfr_vignette_falloff(uint32_t x, uint32_t y, uint32_t w, uint32_t h) {
    float cx = ((float)w - 1.0f) * 0.5f;
    float cy = ((float)h - 1.0f) * 0.5f;
    uint64_t wh = (uint64_t)w * w + (uint64_t)h * h;
    float r_max2 = (float)wh * 0.25f;
    float dx = (float)x - cx;
    float dy = (float)y - cy;
    return (dx * dx + dy * dy) / r_max2;
}

// derm_vignette: clip(x * clip(1 - s * falloff, 0, 1)).
MFR_HD float mfr_derm_vignette(float x, float falloff, float s) {
    if (s <= 0.0f) return x;
    float g = 1.0f - s * falloff;
    g = g < 0.0f ? 0.0f : (g > 1.0f ? 1.0f : g);
    return mfr_clip01(x * g);
}
