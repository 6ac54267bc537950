// Per-pixel math of us_acoustic_shadow and us_reverberation, shared by kernels/us.cu and the
// host-math shim (kernels/host/shim_us.cpp). Twins: src/perturb/us/{acoustic_shadow,
// reverberation}.rs `apply` (same f32 operation order, no FMA contraction; `powi(2)` as a
// product). Per image the host prepares the cone's depth/angle planes and a parameter record
// (same draws as the CPU prepare; us_reverberation also its support and speckle planes and echo
// list, from the CPU's own `reverberation_fields`). expf: bit-identical on the host; <= 2 ulp on
// the device. Finished by `mfr_finish`.
#pragma once
#include "pointwise.cuh"

#define MFR_US_MAX_SHADOWS 5

// Per-image record, as floats: [r0, edge, decay, arc, k, (angle, half_width, depth) x 5].
#define MFR_US_PARAMS 20

MFR_HD float mfr_smoothstep(float t) {
    t = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
    return t * t * (3.0f - 2.0f * t);
}

MFR_HD float mfr_fmax_rust(float a, float b) {  // Rust f32::max: NaN loses
    if (a != a) return b;
    if (b != b) return a;
    return a > b ? a : b;
}

MFR_HD float mfr_us_acoustic_shadow(float v, float r, float t, const float* p, float s) {
    float amp = s < 1.0f ? s : 1.0f;
    float grow = 1.0f + 2.0f * mfr_fmax_rust(s - 1.0f, 0.0f);
    float r0 = p[0], edge = p[1], decay = p[2], arc = p[3];
    uint32_t k = (uint32_t)p[4];
    float loss = 0.0f, bright = 0.0f;
    for (uint32_t j = 0; j < k && j < MFR_US_MAX_SHADOWS; ++j) {
        float angle = p[5 + 3 * j], half_width = p[6 + 3 * j], depth = p[7 + 3 * j];
        float hw = half_width * grow;
        float lat = mfr_smoothstep((hw + edge - fabsf(t - angle)) / (2.0f * edge));
        if (lat <= 0.0f) continue;
        float start = r0 + (depth - r0) / grow;
        float d = r - start;
        if (d > 0.0f) loss = mfr_fmax_rust(loss, lat * (1.0f - expf(-d / decay)));
        float q = d / arc;
        bright = mfr_fmax_rust(bright, lat * expf(-(q * q)));
    }
    float shadowed = v * (1.0f - amp * loss);
    return v > 0.0f ? shadowed + 0.5f * amp * bright : shadowed;
}

MFR_HD float mfr_fmin_rust(float a, float b) {  // Rust f32::min: NaN loses
    if (a != a) return b;
    if (b != b) return a;
    return a < b ? a : b;
}

// us_reverberation record, as floats: [sigma, centre, half_width, edge, t0, t1, n_echoes, unused,
// (depth, amplitude) x MFR_US_MAX_ECHOES]. The CPU's echo count is < 1 / 0.12 + 1 < 10.
#define MFR_US_MAX_ECHOES 12
#define MFR_US_REVERB_PARAMS (8 + 2 * MFR_US_MAX_ECHOES)

// us_reverberation at one sample: v + s min(B, 1) n lat inside, B = sum_k q^k exp(-z^2 / 2),
// r / t the cone depth / angle, `inside` the soft support, `n` the Rayleigh speckle.
MFR_HD float mfr_us_reverberation(float v, float r, float t, float inside, float n, const float* p, float s) {
    float amp = s;
    float extra = mfr_fmax_rust(s - 1.0f, 0.0f);
    float sigma = p[0] * (1.0f + 2.0f * extra);
    float centre = p[1], half_width = p[2], edge = p[3], t0 = p[4], t1 = p[5];
    uint32_t k = (uint32_t)p[6];
    float hw = half_width + extra * (t1 - t0);
    if (inside <= 0.0f) return v;
    float lat = mfr_smoothstep((hw + edge - fabsf(t - centre)) / (2.0f * edge));
    if (lat <= 0.0f) return v;
    float b = 0.0f;
    for (uint32_t j = 0; j < k && j < MFR_US_MAX_ECHOES; ++j) {
        float z = (r - p[8 + 2 * j]) / sigma;
        if (fabsf(z) < 5.0f) b += p[9 + 2 * j] * expf(-0.5f * z * z);
    }
    return v + amp * mfr_fmin_rust(b, 1.0f) * n * lat * inside;
}
