// Per-pixel math of the dermoscopy perturbations with a kernel in kernels/dermoscopy.cu, shared
// with the host-math shim (kernels/host/shim_dermoscopy.cpp). Twins: src/perturb/dermoscopy/
// {vignette,light_reflection,hair}.rs, same f32 operations in the same order (no FMA). Output
// clamped to [0, 1]; strength <= 0 returns the input unchanged.
//
// Strength-independent data, drawn on the CPU with the CPU's own functions and uploaded once:
// derm_light_reflection's glare plane G (`glare_field`); derm_hair's hair list (`hair_list`:
// coverage sprites, list index, shade) and colour.
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

// derm_light_reflection: clamp(1 - (1 - x) exp(-s G)). expf: glibc's on the host (= Rust
// f32::exp, bit-identical), CUDA's on the device (<= 2 ulp).
MFR_HD float mfr_derm_light_reflection(float x, float g, float s) {
    if (s <= 0.0f) return x;
    return mfr_clamp01_rust(1.0f - (1.0f - x) * expf(-s * g));
}

// derm_hair: hairs in the fixed list (src/perturb/dermoscopy/hair.rs `HAIR_COUNT`).
#define MFR_DERM_HAIR_COUNT 60
// One uploaded hair (8 u32): sprite box x0, y0, w, h; first alpha at `alpha + alpha_off`;
// list index; shade as f32 bits; unused.
#define MFR_HAIR_WORDS 8

// Weight of hair `index` at strength s: objects.rs `prefix_weight(min(s, 1), N, index)`.
MFR_HD float mfr_hair_weight(float s, uint32_t index) {
    float t = s < 1.0f ? s : 1.0f;  // f32::min (s is not NaN here: s > 0)
    float w = t * (float)MFR_DERM_HAIR_COUNT - (float)index;
    return w < 0.0f ? 0.0f : (w > 1.0f ? 1.0f : w);
}

// derm_hair at sample (x, y) of a channel with colour `col`: composite the image's `n` hairs in
// list order, each where its sprite covers the pixel with alpha > 0 (Sprite::for_each):
// v = clamp(v (1 - a) + a col shade), a = weight * alpha.
MFR_HD float mfr_derm_hair(float v, uint32_t x, uint32_t y, const uint32_t* hairs, uint32_t n, const float* alpha, float col, float s) {
    if (s <= 0.0f) return v;
    for (uint32_t k = 0; k < n; ++k) {
        const uint32_t* hr = hairs + (uint64_t)k * MFR_HAIR_WORDS;
        if (x < hr[0] || y < hr[1] || x - hr[0] >= hr[2] || y - hr[1] >= hr[3]) continue;
        float wt = mfr_hair_weight(s, hr[5]);
        if (wt <= 0.0f) continue;
        float a = alpha[hr[4] + (uint64_t)(y - hr[1]) * hr[2] + (x - hr[0])];
        if (!(a > 0.0f)) continue;
        union { uint32_t u; float f; } shade;
        shade.u = hr[6];
        float target = col * shade.f;
        a = wt * a;
        v = mfr_clamp01_rust(v * (1.0f - a) + a * target);
    }
    return v;
}
