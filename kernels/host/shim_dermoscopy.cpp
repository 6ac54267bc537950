// Host-math shim of kernels/dermoscopy.cuh (see kernels/host/shim.cpp for the scheme): whole-plane
// loops with the kernels' per-pixel functions, for tests/cuda_host_math_dermoscopy.rs. Nothing in
// the library calls these functions.
#include "../common.cuh"
#include "../dermoscopy.cuh"

extern "C" {

void mfr_host_derm_vignette(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, float s) {
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) {
                uint64_t at = ((uint64_t)ch * h + y) * w + x;
                out[at] = mfr_derm_vignette(in[at], mfr_vignette_falloff(x, y, w, h), s);
            }
}

}
