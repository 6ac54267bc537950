// Dermoscopy perturbations over a packed batch: derm_vignette (closed form, no upload),
// derm_light_reflection (uploaded glare plane at `field + field_off[i]`) and derm_hair (uploaded
// hair records `hairs + MFR_HAIR_WORDS * hair_range[2i]`, `hair_range[2i + 1]` of them, sprites
// in `alpha`, colour `colour[3i + min(c, 2)]`).
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

extern "C" __global__ void __launch_bounds__(DERM_THREADS)
derm_light_reflection(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
                      const float* __restrict__ strength, const float* __restrict__ field,
                      const uint64_t* __restrict__ field_off, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t i = (uint64_t)blockIdx.x * DERM_THREADS + threadIdx.x;
    const uint64_t plane = (uint64_t)d.width * d.height;
    if (i >= plane) return;
    const float s = strength[blockIdx.y];
    const float g = field[field_off[blockIdx.y] + i];
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + i;
        out[at] = mfr_derm_light_reflection(in[at], g, s);
    }
}

extern "C" __global__ void __launch_bounds__(DERM_THREADS)
derm_hair(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
          const float* __restrict__ strength, const uint32_t* __restrict__ hairs, const uint32_t* __restrict__ hair_range,
          const float* __restrict__ alpha, const float* __restrict__ colour, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t i = (uint64_t)blockIdx.x * DERM_THREADS + threadIdx.x;
    const uint64_t plane = (uint64_t)d.width * d.height;
    if (i >= plane) return;
    const float s = strength[blockIdx.y];
    const uint32_t* list = hairs + (uint64_t)MFR_HAIR_WORDS * hair_range[2 * blockIdx.y];
    const uint32_t n = hair_range[2 * blockIdx.y + 1];
    const uint32_t x = (uint32_t)(i % d.width), y = (uint32_t)(i / d.width);
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + i;
        const float col = colour[3 * (uint64_t)blockIdx.y + (c < 2 ? c : 2)];
        out[at] = mfr_derm_hair(in[at], x, y, list, n, alpha, col, s);
    }
}
