// Host-math shim of kernels/pathology.cuh (see kernels/host/shim.cpp for the scheme): whole-image
// loops with the kernels' per-pixel functions and the same host-prepared inputs (one image's
// draws and field, or sprite table as packed by src/backend/sprites.rs), for
// tests/cuda_host_math_pathology.rs. Nothing in the library calls these functions.
#include "../common.cuh"
#include "../pathology.cuh"

extern "C" {

void mfr_host_rgb_to_hsv(float r, float g, float b, float* hsv) { mfr_rgb_to_hsv(r, g, b, &hsv[0], &hsv[1], &hsv[2]); }

void mfr_host_hsv_to_rgb(float h, float s, float v, float* rgb) { mfr_hsv_to_rgb(h, s, v, &rgb[0], &rgb[1], &rgb[2]); }

// draws: (u_h, u_s, u_v, unused), g: w * h.
void mfr_host_path_stain_hsv(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* g, const float* draws, float s) {
    const uint64_t plane = (uint64_t)w * h;
    for (uint64_t i = 0; i < plane; ++i) {
        if (c == 3) {
            float r = in[i], gr = in[plane + i], b = in[2 * plane + i];
            mfr_path_stain_rgb(&r, &gr, &b, g[i], s, draws[0], draws[1], draws[2]);
            out[i] = r;
            out[plane + i] = gr;
            out[2 * plane + i] = b;
        } else {
            for (uint32_t ch = 0; ch < c; ++ch) out[ch * plane + i] = mfr_path_stain_grey(in[ch * plane + i], g[i], s, draws[2]);
        }
    }
}

void mfr_host_path_bubbles(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const uint32_t* boxes,
                           const uint64_t* offsets, const float* data, const float* bg, float s) {
    const uint64_t plane = (uint64_t)w * h;
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) {
                uint64_t at = ch * plane + (uint64_t)y * w + x;
                out[at] = mfr_path_bubbles(in[at], boxes, offsets, data, x, y, bg[ch], s);
            }
}

}
