// Per-pixel math of the base intensity/noise perturbations (spec/perturbations.md, Base table).
// Shared by kernels/noise.cu and the host-math shim. All f32, no FMA (--fmad=false /
// -ffp-contract=off), output clipped to [0, 1].
//
// RNG convention (the CPU twins in src/perturb/base/ must use the same, see docs/gpu.md):
//   gaussian_noise: N(0,1) from Rng::normal(stream = channel, index = y*w + x);
//   salt_pepper:    block = Rng::block(stream = 0, index = y*w + x), one mask for all channels:
//                   flip if unit(word0) < s (nested in s), to 0 if unit(word1) < 0.5, else to 1.
#pragma once
#include "common.cuh"

// gaussian_noise: x + s * n.
MFR_HD float mfr_gaussian_noise(float x, float n, float s) {
    return mfr_clip01(x + s * n);
}

// salt_pepper: the pixel's (flip, salt) decision from its block words; returns -1 for "keep",
// else the replacement value 0 or 1 (applied to every channel).
MFR_HD float mfr_salt_pepper_value(uint32_t w0, uint32_t w1, float s) {
    if (!(mfr_unit_f32(w0) < s)) return -1.0f;
    return mfr_unit_f32(w1) < 0.5f ? 0.0f : 1.0f;
}

// brightness on a grey sample: x + s.
MFR_HD float mfr_brightness_grey(float x, float s) {
    return mfr_clip01(x + s);
}

// brightness on an RGB pixel: HSV value V = max(r, g, b) becomes min(V + s, 1) with hue and
// saturation kept, i.e. every channel scales by V'/V; a black pixel (V = 0, S = 0) becomes grey V'.
MFR_HD void mfr_brightness_rgb(float* r, float* g, float* b, float s) {
    float v = *r > *g ? *r : *g;
    v = v > *b ? v : *b;
    float v2 = mfr_clip01(v + s);
    if (v > 0.0f) {
        float k = v2 / v;
        *r = mfr_clip01(*r * k);
        *g = mfr_clip01(*g * k);
        *b = mfr_clip01(*b * k);
    } else {
        *r = v2;
        *g = v2;
        *b = v2;
    }
}

// contrast: (x - mean_c) * (1 - s) + mean_c, mean_c the channel mean (f64 sum, rounded to f32).
MFR_HD float mfr_contrast(float x, float mean, float s) {
    return mfr_clip01((x - mean) * (1.0f - s) + mean);
}
