// Per-pixel math of the endoscopy perturbations with a kernel in kernels/endoscopy.cu, shared with
// the host-math shim (kernels/host/shim_endoscopy.cpp). Twins: src/perturb/endoscopy/
// {overexposure,specular,blood,bubbles}.rs `apply`, with the same f32 operations in the same order
// (no FMA). Every function returns the input unchanged for strength s <= 0 (the CPU's clone), and
// clamps to [0, 1] exactly where the CPU does (Rust's clamp: NaN passes through).
//
// The strength-independent parts are computed on the host by the CPU's own functions and uploaded
// once per batch (src/backend/cuda/endoscopy.rs): the blob field of endo_overexposure
// (`overexposure_field`), the spot list of endo_specular (`specular_spots`), the thickness
// sprites of endo_blood (`blood_blobs`) and the rendered bubbles of endo_bubbles (`bubble_list`).
//
// expf: bit-identical on the host (glibc, the libm Rust's f32::exp calls); on the device CUDA's
// expf is within 2 ulp, so endo_specular and endo_blood match the CPU to 1e-5, not bit for bit.
#pragma once
#include "common.cuh"
#include "objects.cuh"

#define MFR_ENDO_SPECULAR_N 48u
#define MFR_ENDO_SPECULAR_CORE_GAIN 1.6f
#define MFR_ENDO_SPOT_FLOATS 6u  // cx, cy, cos, sin, sigma_major, sigma_minor (specular.rs `Spot`)
#define MFR_ENDO_BLOOD_N 24u      // layers: thickness alpha
#define MFR_ENDO_BUBBLES_N 64u    // layers: coverage alpha, white overlay, interior of each channel

// Screen towards white: clamp(x + (1 - x) a). endo_overexposure and endo_specular.
MFR_HD float mfr_endo_screen(float x, float a, float s) {
    if (s <= 0.0f) return x;
    return mfr_clamp01(x + (1.0f - x) * a);
}

// endo_overexposure: a = min(1, s m), m the prepared blob union at this pixel.
MFR_HD float mfr_endo_overexposure(float x, float m, float s) {
    return mfr_endo_screen(x, mfr_min1(s * m), s);
}

// endo_specular: the union alpha of the spots at pixel (x, y) of a w x h image at strength s.
// Each spot only touches its box [floor(cx - 3.5 a), ceil(cx + 3.5 a) + 1) clipped to the image,
// as the CPU's loops (the box bounds are integers in f32, so comparing in f32 is exact).
MFR_HD float mfr_endo_specular_alpha(const float* spots, uint32_t x, uint32_t y, uint32_t w, uint32_t h, float s) {
    const float amp = MFR_ENDO_SPECULAR_CORE_GAIN * mfr_min1(s);
    const float grow = 0.5f + 0.5f * s;
    const float fx = (float)x;
    const float fy = (float)y;
    float alpha = 0.0f;
    for (uint32_t i = 0; i < MFR_ENDO_SPECULAR_N; ++i) {
        const float* sp = spots + i * MFR_ENDO_SPOT_FLOATS;
        const float cx = sp[0], cy = sp[1], cs = sp[2], sn = sp[3];
        const float a = sp[4] * grow;
        const float b = sp[5] * grow;
        const float ext = 3.5f * a;
        float x0 = floorf(cx - ext);
        x0 = x0 > 0.0f ? x0 : 0.0f;
        float x1 = ceilf(cx + ext) + 1.0f;
        x1 = x1 < 0.0f ? 0.0f : (x1 > (float)w ? (float)w : x1);
        float y0 = floorf(cy - ext);
        y0 = y0 > 0.0f ? y0 : 0.0f;
        float y1 = ceilf(cy + ext) + 1.0f;
        y1 = y1 < 0.0f ? 0.0f : (y1 > (float)h ? (float)h : y1);
        if (!(fx >= x0 && fx < x1 && fy >= y0 && fy < y1)) continue;
        const float dx = fx - cx;
        const float dy = fy - cy;
        const float u = (dx * cs + dy * sn) / a;
        const float v = (-dx * sn + dy * cs) / b;
        const float ai = mfr_min1(amp * expf(-0.5f * (u * u + v * v)));
        alpha = mfr_union_alpha(alpha, ai);
    }
    return alpha;
}

// endo_blood: the film thickness m at pixel (x, y): sum over the list, in list order, of
// w_i a_i where w_i > 0 and a_i > 0 (the CPU's `Sprite::for_each` skips a_i == 0).
MFR_HD float mfr_endo_blood_thickness(const uint32_t* boxes, const uint64_t* offsets, const float* data,
                                      uint32_t x, uint32_t y, float s) {
    const float t = mfr_min1(s);
    float m = 0.0f;
    for (uint32_t i = 0; i < MFR_ENDO_BLOOD_N; ++i) {
        const uint32_t* box = boxes + 4 * i;
        const float wt = mfr_prefix_weight(t, MFR_ENDO_BLOOD_N, i);
        uint32_t k;
        if (box[2] == 0 || !(wt > 0.0f) || !mfr_sprite_at(box, x, y, &k)) continue;
        const float a = data[offsets[i] + k];
        if (a > 0.0f) m += wt * a;
    }
    return m;
}

// endo_blood: x T^m = x exp(ln T * m) where m > 0, unchanged elsewhere.
MFR_HD float mfr_endo_blood(float x, float log_t, float m, float s) {
    if (s <= 0.0f || !(m > 0.0f)) return x;
    return mfr_clamp01(x * expf(log_t * m));
}

// endo_bubbles: channel c of pixel (x, y) composited with the bubbles in REVERSE list order
// (bubble 0 on top): x <- x (1 - w a_in) + w a_in interior_c, then x <- x + (1 - x) w white,
// clamped after each bubble that covers the pixel's box.
MFR_HD float mfr_endo_bubbles(float v, const uint32_t* boxes, const uint64_t* offsets, const float* data,
                              uint32_t x, uint32_t y, uint32_t c, float s) {
    if (s <= 0.0f) return v;
    const float t = mfr_min1(s);
    for (uint32_t j = MFR_ENDO_BUBBLES_N; j-- > 0;) {
        const uint32_t* box = boxes + 4 * j;
        const float wt = mfr_prefix_weight(t, MFR_ENDO_BUBBLES_N, j);
        if (box[2] == 0) continue;
        if (wt <= 0.0f) continue;
        uint32_t k;
        if (!mfr_sprite_at(box, x, y, &k)) continue;
        const uint64_t n = (uint64_t)box[2] * box[3];
        const float* b = data + offsets[j];
        const float a_in = wt * b[k];
        v = v * (1.0f - a_in) + a_in * b[(2 + (uint64_t)c) * n + k];
        v = v + (1.0f - v) * wt * b[n + k];
        v = mfr_clamp01(v);
    }
    return v;
}
