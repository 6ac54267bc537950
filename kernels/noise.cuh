// Per-pixel math of the base noise and intensity perturbations, shared by kernels/noise.cu and
// the host-math shim. Twins: src/perturb/base/noise.rs and src/perturb/base/intensity.rs, with
// the same f32 operations in the same order (no FMA: --fmad=false / -ffp-contract=off), the same
// RNG streams, output clipped to [0, 1] and strength <= 0 returning the input unchanged.
//
// RNG convention (as the CPU twins):
//   gaussian_noise, speckle_noise: n = Rng::normal(stream = channel, index = y*w + x);
//   salt_pepper: u = Rng::uniform(0, pixel) flips where u < s (one mask for all channels),
//                v = Rng::uniform(1, pixel): v < 0.5 is salt (1), else pepper (0).
#pragma once
#include "common.cuh"

// gaussian_noise: x + s * n.
MFR_HD float mfr_gaussian_noise(float x, float n, float s) {
    if (s <= 0.0f) return x;
    return mfr_clip01(x + s * n);
}

// speckle_noise: x + x * s * n.
MFR_HD float mfr_speckle_noise(float x, float n, float s) {
    if (s <= 0.0f) return x;
    return mfr_clip01(x + x * s * n);
}

// salt_pepper: the replacement value of a pixel (0 or 1, all channels), or -1 to keep it.
MFR_HD float mfr_salt_pepper_value(float u, float v, float s) {
    if (!(s > 0.0f) || !(u < s)) return -1.0f;
    return v < 0.5f ? 1.0f : 0.0f;
}

// brightness on a grey sample: x + s.
MFR_HD float mfr_brightness_grey(float x, float s) {
    if (s <= 0.0f) return x;
    return mfr_clip01(x + s);
}

// brightness on one channel x of an RGB pixel with HSV value v = max(r, g, b): skimage's
// rgb2hsv -> V = clip(V + s) -> hsv2rgb is linear in V, i.e. min(v + s, 1) * (x / v); a black
// pixel (v = 0) has ratio 1 and becomes grey min(s, 1).
MFR_HD float mfr_brightness_rgb(float x, float v, float s) {
    if (s <= 0.0f) return x;
    float ratio = v > 0.0f ? x / v : 1.0f;
    float v2 = v + s;
    v2 = v2 < 1.0f ? v2 : 1.0f;
    return mfr_clip01(v2 * ratio);
}

// contrast: (x - mean) * (1 - s) + mean, mean = the channel mean (f64 sum, rounded to f32).
MFR_HD float mfr_contrast(float x, float mean, float s) {
    if (s <= 0.0f) return x;
    float k = 1.0f - s;
    return mfr_clip01((x - mean) * k + mean);
}
