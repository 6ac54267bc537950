// Per-pixel math of the pathology perturbations with a kernel in kernels/pathology.cu, shared with
// the host-math shim (kernels/host/shim_pathology.cpp). Twins: src/perturb/pathology/
// {stain_hsv,bubbles}.rs `apply` and src/perturb/common/hsv.rs, with the same f32 operations in
// the same order (no FMA). Every function returns the input unchanged for strength s <= 0 (the
// CPU's clone) and clamps where the CPU does (Rust's clamp: NaN passes through).
//
// Strength-independent parts computed on the host by the CPU's own functions and uploaded once per
// batch (src/backend/cuda/pathology.rs): path_stain_hsv's draws (u_h, u_s, u_v) and smooth field g
// (`stain_draws`); path_bubbles' sprites (`bubble_list`) and background colour (`background`).
// The RGB -> HSV conversion of the input is strength-independent too, but cheap and exact
// (divisions, fmodf), so the kernel redoes it instead of uploading three more planes.
//
// expf / powf: bit-identical on the host (glibc, the libm Rust calls); on the device CUDA's expf is
// within 2 ulp and powf within 4 ulp, so path_stain_hsv matches the CPU to 1e-5, not bit for bit.
// path_bubbles has no transcendental function: bit-identical on the device as well.
#pragma once
#include "common.cuh"
#include "objects.cuh"

#define MFR_PATH_BUBBLES_N 28u  // layers: interior alpha, rim profile, line profile

// Rust's f32::rem_euclid: r = a % b (fmodf, exact); r < 0 ? r + |b| : r.
MFR_HD float mfr_rem_euclid(float a, float b) {
    float r = fmodf(a, b);
    return r < 0.0f ? r + fabsf(b) : r;
}

// Rust's f32::max(v, 0.0) for the values here (NaN gives 0.0, as f32::max).
MFR_HD float mfr_max0(float v) {
    return v > 0.0f ? v : 0.0f;
}

// (r, g, b) -> (h in turns, s, v). Twin: hsv.rs `rgb_to_hsv`.
MFR_HD void mfr_rgb_to_hsv(float r, float g, float b, float* h, float* s, float* v) {
    float mx = r > g ? r : g;
    mx = mx > b ? mx : b;
    float mn = r < g ? r : g;
    mn = mn < b ? mn : b;
    *v = mx;
    const float c = mx - mn;
    if (c <= 0.0f || mx <= 0.0f) {
        *h = 0.0f;
        *s = 0.0f;
        return;
    }
    *s = c / mx;
    float h6;
    if (mx == r) {
        h6 = mfr_rem_euclid((g - b) / c, 6.0f);
    } else if (mx == g) {
        h6 = (b - r) / c + 2.0f;
    } else {
        h6 = (r - g) / c + 4.0f;
    }
    *h = mfr_rem_euclid(h6 / 6.0f, 1.0f);
}

// (h in turns, s, v) -> (r, g, b). Twin: hsv.rs `hsv_to_rgb`.
MFR_HD void mfr_hsv_to_rgb(float h, float s, float v, float* r, float* g, float* b) {
    if (s <= 0.0f) {
        *r = v;
        *g = v;
        *b = v;
        return;
    }
    const float h6 = mfr_rem_euclid(h, 1.0f) * 6.0f;
    int32_t i = (int32_t)floorf(h6) % 6;
    if (i < 0) i += 6;
    const float f = h6 - floorf(h6);
    const float p = v * (1.0f - s);
    const float q = v * (1.0f - s * f);
    const float t = v * (1.0f - s * (1.0f - f));
    switch (i) {
        case 0: *r = v; *g = t; *b = p; break;
        case 1: *r = q; *g = v; *b = p; break;
        case 2: *r = p; *g = v; *b = t; break;
        case 3: *r = p; *g = q; *b = v; break;
        case 4: *r = t; *g = p; *b = v; break;
        default: *r = v; *g = p; *b = q; break;
    }
}

// path_stain_hsv, optical-density exponent gamma = exp(-s u_v).
MFR_HD float mfr_stain_gamma(float s, float uv) {
    return expf(-s * uv);
}

// path_stain_hsv on a grey (non-RGB) sample: clamp(max(x, 0)^gamma (1 + 0.3 s g)).
MFR_HD float mfr_path_stain_grey(float x, float g, float s, float uv) {
    if (s <= 0.0f) return x;
    return mfr_clamp01(powf(mfr_max0(x), mfr_stain_gamma(s, uv)) * (1.0f + 0.3f * s * g));
}

// path_stain_hsv on an RGB pixel (in place): H + 20/180 s u_h, S exp(0.5 s u_s)(1 + 0.5 s g),
// V^gamma, back to RGB, each channel clamped.
MFR_HD void mfr_path_stain_rgb(float* r, float* gr, float* b, float g, float s, float uh, float us, float uv) {
    if (s <= 0.0f) return;
    const float gamma = mfr_stain_gamma(s, uv);
    const float dh = 20.0f / 180.0f * s * uh;
    const float sgain = expf(0.5f * s * us);
    float hh, ss, vv;
    mfr_rgb_to_hsv(*r, *gr, *b, &hh, &ss, &vv);
    const float h = hh + dh;
    const float sat = mfr_clamp01(ss * sgain * (1.0f + 0.5f * s * g));
    const float val = mfr_clamp01(powf(mfr_max0(vv), gamma));
    float ro, go, bo;
    mfr_hsv_to_rgb(h, sat, val, &ro, &go, &bo);
    *r = mfr_clamp01(ro);
    *gr = mfr_clamp01(go);
    *b = mfr_clamp01(bo);
}

// path_bubbles: channel c of pixel (x, y) (background bg of that channel) composited with the
// bubbles in REVERSE list order: x <- x (1 - 0.7 w a) + 0.7 w a bg, x <- x (1 - 0.55 w rim),
// x <- x + (1 - x) 0.5 w line, clamped after each bubble whose box holds the pixel.
MFR_HD float mfr_path_bubbles(float v, const uint32_t* boxes, const uint64_t* offsets, const float* data,
                              uint32_t x, uint32_t y, float bg, float s) {
    if (s <= 0.0f) return v;
    const float t = mfr_min1(s);
    for (uint32_t j = MFR_PATH_BUBBLES_N; j-- > 0;) {
        const uint32_t* box = boxes + 4 * j;
        const float wt = mfr_prefix_weight(t, MFR_PATH_BUBBLES_N, j);
        if (wt <= 0.0f) continue;
        uint32_t k;
        if (box[2] == 0 || !mfr_sprite_at(box, x, y, &k)) continue;
        const uint64_t n = (uint64_t)box[2] * box[3];
        const float* b = data + offsets[j];
        const float a = 0.7f * wt * b[k];
        v = v * (1.0f - a) + a * bg;
        v = v * (1.0f - 0.55f * wt * b[n + k]);
        v = v + (1.0f - v) * 0.5f * wt * b[2 * n + k];
        v = mfr_clamp01(v);
    }
    return v;
}
