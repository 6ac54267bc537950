// Building blocks of the object-list perturbations (kernels/endoscopy.cuh, pathology.cuh), shared
// with their host-math shims. Twins: src/perturb/common/objects.rs (`prefix_weight`,
// `union_alpha`, `Sprite`) and Rust's f32::clamp, with the same f32 operations in the same order
// (no FMA), so host results are bit-identical to the CPU.
//
// Host-prepared sprite tables (packed by src/backend/sprites.rs): an object list of K entries per
// image. Entry k of image i is `boxes[4 (i K + k) ..]` = (x0, y0, w, h) in pixels of the image
// (w == 0: the object misses the image) and `offsets[i K + k]` = the start of its data in `data`:
// L layers of w * h row-major floats, layer l at `data + offsets[..] + l * w * h` (the layers of
// each perturbation are listed in its header). Per-image channel constants (a background colour,
// a transmittance) are stored at stride MFR_CHAN_STRIDE.
#pragma once
#include "common.cuh"

#define MFR_CHAN_STRIDE 4u

// Rust's f32::clamp(0.0, 1.0): NaN passes through (unlike mfr_clip01, which maps it to 0).
MFR_HD float mfr_clamp01(float v) {
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
}

// Rust's f32::min(v, 1.0) for v not NaN (NaN gives 1.0, as f32::min).
MFR_HD float mfr_min1(float v) {
    return v < 1.0f ? v : 1.0f;
}

// Weight of object i of a nested list of n at list fraction t: clamp(t * n - i, 0, 1).
// Twin: objects.rs `prefix_weight`.
MFR_HD float mfr_prefix_weight(float t, uint32_t n, uint32_t i) {
    return mfr_clamp01(t * (float)n - (float)i);
}

// acc <- 1 - (1 - acc)(1 - a). Twin: objects.rs `union_alpha`.
MFR_HD float mfr_union_alpha(float acc, float a) {
    return 1.0f - (1.0f - acc) * (1.0f - a);
}

// Is pixel (x, y) inside the box (x0, y0, w, h)? If so, *k is its row-major index in the box.
MFR_HD bool mfr_sprite_at(const uint32_t* box, uint32_t x, uint32_t y, uint32_t* k) {
    if (x < box[0] || y < box[1]) return false;
    uint32_t xx = x - box[0];
    uint32_t yy = y - box[1];
    if (xx >= box[2] || yy >= box[3]) return false;
    *k = yy * box[2] + xx;
    return true;
}
