// Host-math shim of kernels/oct.cuh (see kernels/host/shim.cpp for the scheme): whole-plane loops
// with the kernels' per-pixel functions, for tests/cuda_host_math_oct.rs. Nothing in the library
// calls these functions.
#include "../common.cuh"
#include "../oct.cuh"

extern "C" {


float mfr_host_interval_coverage(float x, float lo, float hi) { return mfr_interval_coverage(x, lo, hi); }

// oct_shadow / oct_blink on one planar image (c planes of w x h) with its segment list.
void mfr_host_oct_shadow(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* cols, float s) {
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) {
                uint64_t at = ((uint64_t)ch * h + y) * w + x;
                out[at] = mfr_gain_apply(in[at], mfr_oct_shadow_gain(cols, x, w, s), s);
            }
}

void mfr_host_oct_blink(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* bands, float s) {
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) {
                uint64_t at = ((uint64_t)ch * h + y) * w + x;
                out[at] = mfr_gain_apply(in[at], mfr_oct_blink_gain(bands, y, h, s), s);
            }
}

}
