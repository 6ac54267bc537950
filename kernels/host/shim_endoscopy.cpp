// Host-math shim of kernels/endoscopy.cuh (see kernels/host/shim.cpp for the scheme): whole-image
// loops with the kernels' per-pixel functions and the same host-prepared inputs (one image's
// field, spot list or sprite table, as packed by src/backend/sprites.rs), for
// tests/cuda_host_math_endoscopy.rs. Nothing in the library calls these functions.
#include "../common.cuh"
#include "../endoscopy.cuh"

extern "C" {

void mfr_host_endo_overexposure(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* field, float s) {
    const uint64_t plane = (uint64_t)w * h;
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint64_t i = 0; i < plane; ++i) out[ch * plane + i] = mfr_endo_overexposure(in[ch * plane + i], field[i], s);
}

void mfr_host_endo_specular(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* spots, float s) {
    const uint64_t plane = (uint64_t)w * h;
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            const float a = mfr_endo_specular_alpha(spots, x, y, w, h, s);
            for (uint32_t ch = 0; ch < c; ++ch) {
                uint64_t at = ch * plane + (uint64_t)y * w + x;
                out[at] = mfr_endo_screen(in[at], a, s);
            }
        }
}

void mfr_host_endo_blood(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const uint32_t* boxes,
                         const uint64_t* offsets, const float* data, const float* log_t, float s) {
    const uint64_t plane = (uint64_t)w * h;
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) {
            const float m = s <= 0.0f ? 0.0f : mfr_endo_blood_thickness(boxes, offsets, data, x, y, s);
            for (uint32_t ch = 0; ch < c; ++ch) {
                uint64_t at = ch * plane + (uint64_t)y * w + x;
                out[at] = mfr_endo_blood(in[at], log_t[ch < 2 ? ch : 2], m, s);
            }
        }
}

void mfr_host_endo_bubbles(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const uint32_t* boxes,
                           const uint64_t* offsets, const float* data, float s) {
    const uint64_t plane = (uint64_t)w * h;
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) {
                uint64_t at = ch * plane + (uint64_t)y * w + x;
                out[at] = mfr_endo_bubbles(in[at], boxes, offsets, data, x, y, ch, s);
            }
}

}
