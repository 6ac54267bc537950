// Per-pixel math of the OCT perturbations with a kernel in kernels/oct.cu, shared with the
// host-math shim (kernels/host/shim_oct.cpp). Twins: src/perturb/oct/{shadow,blink}.rs and
// src/perturb/common/objects.rs `interval_coverage`, with the same f32 operations in the same
// order (no FMA), so host results are bit-identical to the CPU. Output clipped to [0, 1];
// strength <= 0 returns the input unchanged.
//
// The column / band lists (centre in px, share of the total extent) are strength-independent and
// drawn on the CPU (`shadow_columns`, `blink_bands`), then uploaded: `list[2k]` centre,
// `list[2k + 1]` share.
#pragma once
#include "common.cuh"

#define MFR_OCT_SHADOW_K 3
#define MFR_OCT_SHADOW_DEPTH 0.95f
#define MFR_OCT_BLINK_K 4

// Exact coverage of the unit pixel [x - 0.5, x + 0.5] by [lo, hi], in [0, 1].
MFR_HD float mfr_interval_coverage(float x, float lo, float hi) {
    float a = x + 0.5f;
    float b = x - 0.5f;
    float top = hi < a ? hi : a;
    float bot = lo > b ? lo : b;
    float c = top - bot;
    return c < 0.0f ? 0.0f : (c > 1.0f ? 1.0f : c);
}

// max_k coverage of position `pos` by the k segments centred at list[2k] with half-width
// 0.5 * s * extent * list[2k + 1] (the CPU's fold(0, max)).
MFR_HD float mfr_segments_coverage(const float* list, int k_count, float pos, float s, float extent) {
    float a = 0.0f;
    for (int k = 0; k < k_count; ++k) {
        float half = 0.5f * s * extent * list[2 * k + 1];
        float c = list[2 * k];
        float v = mfr_interval_coverage(pos, c - half, c + half);
        a = a > v ? a : v;  // f32::max (no NaN here)
    }
    return a;
}

// oct_shadow: gain of column x of a `width`-px image: 1 - DEPTH * a(x).
MFR_HD float mfr_oct_shadow_gain(const float* cols, uint32_t x, uint32_t width, float s) {
    return 1.0f - MFR_OCT_SHADOW_DEPTH * mfr_segments_coverage(cols, MFR_OCT_SHADOW_K, (float)x, s, (float)width);
}

// oct_blink: gain of row y of a `height`-px image: 1 - a(y).
MFR_HD float mfr_oct_blink_gain(const float* bands, uint32_t y, uint32_t height, float s) {
    return 1.0f - mfr_segments_coverage(bands, MFR_OCT_BLINK_K, (float)y, s, (float)height);
}

// Both: out = clip(x * gain).
MFR_HD float mfr_gain_apply(float x, float gain, float s) {
    if (s <= 0.0f) return x;
    return mfr_clip01(x * gain);
}
