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

void mfr_host_derm_light_reflection(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* glare, float s) {
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint64_t p = 0; p < (uint64_t)w * h; ++p) {
            uint64_t at = (uint64_t)ch * w * h + p;
            out[at] = mfr_derm_light_reflection(in[at], glare[p], s);
        }
}

// `hairs`: n records of MFR_HAIR_WORDS u32; `colour`: 3 floats (channel c uses colour[min(c, 2)]).
void mfr_host_derm_hair(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const uint32_t* hairs, uint32_t n,
                        const float* alpha, const float* colour, float s) {
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) {
                uint64_t at = ((uint64_t)ch * h + y) * w + x;
                out[at] = mfr_derm_hair(in[at], x, y, hairs, n, alpha, colour[ch < 2 ? ch : 2], s);
            }
}

}
