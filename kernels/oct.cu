// OCT perturbations over a packed batch: oct_shadow (column gains) and oct_blink (row gains).
// One thread per pixel (all channels), grid = (ceil(max plane / 256), n_images); `strength[i]` is
// image i's strength (read on the device, for the on-GPU search). `lists` holds image i's
// strength-independent segments at `lists + i * 2K` (kernels/oct.cuh). Per-pixel math: oct.cuh.
#include "common.cuh"
#include "oct.cuh"

#define OCT_THREADS 256

__device__ __forceinline__ bool oct_pixel(const MfrImageDesc* descs, uint32_t n_images, MfrImageDesc* d, uint32_t* px) {
    if (blockIdx.y >= n_images) return false;
    *d = descs[blockIdx.y];
    uint64_t i = (uint64_t)blockIdx.x * OCT_THREADS + threadIdx.x;
    if (i >= (uint64_t)d->width * d->height) return false;
    *px = (uint32_t)i;
    return true;
}

extern "C" __global__ void __launch_bounds__(OCT_THREADS)
oct_shadow(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
           const float* __restrict__ strength, const float* __restrict__ lists, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!oct_pixel(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const float g = mfr_oct_shadow_gain(lists + (uint64_t)blockIdx.y * 2 * MFR_OCT_SHADOW_K, px % d.width, d.width, s);
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_gain_apply(in[at], g, s);
    }
}

extern "C" __global__ void __launch_bounds__(OCT_THREADS)
oct_blink(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
          const float* __restrict__ strength, const float* __restrict__ lists, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!oct_pixel(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const float g = mfr_oct_blink_gain(lists + (uint64_t)blockIdx.y * 2 * MFR_OCT_BLINK_K, px / d.width, d.height, s);
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_gain_apply(in[at], g, s);
    }
}
