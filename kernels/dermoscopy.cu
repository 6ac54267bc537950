// Dermoscopy perturbations over a packed batch: derm_vignette (closed form, no upload).
// One thread per pixel (all channels), grid = (ceil(max plane / 256), n_images); `strength[i]` is
// image i's strength (read on the device, for the on-GPU search). Per-pixel math: dermoscopy.cuh.
#include "common.cuh"
#include "dermoscopy.cuh"

#define DERM_THREADS 256

extern "C" __global__ void __launch_bounds__(DERM_THREADS)
derm_vignette(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
              const float* __restrict__ strength, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t i = (uint64_t)blockIdx.x * DERM_THREADS + threadIdx.x;
    const uint64_t plane = (uint64_t)d.width * d.height;
    if (i >= plane) return;
    const uint32_t px = (uint32_t)i;
    const float s = strength[blockIdx.y];
    const float f = mfr_vignette_falloff(px % d.width, px / d.width, d.width, d.height);
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_derm_vignette(in[at], f, s);
    }
}
