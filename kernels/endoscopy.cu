// Endoscopy perturbations over a packed batch: endo_overexposure (prepared blob field),
// endo_specular (prepared spot list), endo_blood and endo_bubbles (prepared sprite tables,
// kernels/objects.cuh). One thread per pixel (all channels), grid = (ceil(max plane / 256),
// n_images); `strength[i]` is image i's strength (read on the device, for the on-GPU search).
// Per-pixel math: endoscopy.cuh.
#include "common.cuh"
#include "endoscopy.cuh"

#define ENDO_THREADS 256

__device__ __forceinline__ bool endo_pixel(const MfrImageDesc* descs, uint32_t n_images, MfrImageDesc* d, uint32_t* px) {
    if (blockIdx.y >= n_images) return false;
    *d = descs[blockIdx.y];
    uint64_t i = (uint64_t)blockIdx.x * ENDO_THREADS + threadIdx.x;
    if (i >= (uint64_t)d->width * d->height) return false;
    *px = (uint32_t)i;
    return true;
}

// field + field_off[i]: image i's w * h blob union (overexposure.rs `overexposure_field`).
extern "C" __global__ void __launch_bounds__(ENDO_THREADS)
endo_overexposure(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
                  const float* __restrict__ strength, const float* __restrict__ field,
                  const uint64_t* __restrict__ field_off, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!endo_pixel(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const float m = field[field_off[blockIdx.y] + px];
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_endo_overexposure(in[at], m, s);
    }
}

// spots + i * 48 * 6: image i's spot list (specular.rs `specular_spots`).
extern "C" __global__ void __launch_bounds__(ENDO_THREADS)
endo_specular(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
              const float* __restrict__ strength, const float* __restrict__ spots, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!endo_pixel(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const float a = mfr_endo_specular_alpha(spots + (uint64_t)blockIdx.y * MFR_ENDO_SPECULAR_N * MFR_ENDO_SPOT_FLOATS,
                                            px % d.width, px / d.width, d.width, d.height, s);
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_endo_screen(in[at], a, s);
    }
}

// Sprite table of image i: boxes + i * 24 * 4, offsets + i * 24 (into data); log_t + 4 i: ln T of
// channel min(c, 2) (blood.rs `blood_blobs`, `blood_log_transmittance`).
extern "C" __global__ void __launch_bounds__(ENDO_THREADS)
endo_blood(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
           const float* __restrict__ strength, const uint32_t* __restrict__ boxes, const uint64_t* __restrict__ offsets,
           const float* __restrict__ data, const float* __restrict__ log_t, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!endo_pixel(descs, n_images, &d, &px)) return;
    const uint32_t img = blockIdx.y;
    const float s = strength[img];
    const float m = s <= 0.0f ? 0.0f
                              : mfr_endo_blood_thickness(boxes + (uint64_t)img * MFR_ENDO_BLOOD_N * 4, offsets + (uint64_t)img * MFR_ENDO_BLOOD_N,
                                                         data, px % d.width, px / d.width, s);
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_endo_blood(in[at], log_t[img * MFR_CHAN_STRIDE + (c < 2 ? c : 2)], m, s);
    }
}

// Sprite table of image i: boxes + i * 64 * 4, offsets + i * 64 (into data; layers alpha, white,
// interior per channel: bubbles.rs `bubble_list`).
extern "C" __global__ void __launch_bounds__(ENDO_THREADS)
endo_bubbles(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
             const float* __restrict__ strength, const uint32_t* __restrict__ boxes, const uint64_t* __restrict__ offsets,
             const float* __restrict__ data, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!endo_pixel(descs, n_images, &d, &px)) return;
    const uint32_t img = blockIdx.y;
    const float s = strength[img];
    const uint32_t* b = boxes + (uint64_t)img * MFR_ENDO_BUBBLES_N * 4;
    const uint64_t* o = offsets + (uint64_t)img * MFR_ENDO_BUBBLES_N;
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_endo_bubbles(in[at], b, o, data, px % d.width, px / d.width, c, s);
    }
}
