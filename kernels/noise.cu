// Base noise/intensity perturbations over a packed batch: gaussian_noise, speckle_noise,
// salt_pepper, brightness, contrast. One thread per pixel (all channels), grid = (ceil(max plane / 256), n_images);
// `strength[i]` is image i's strength (read on the device, so the on-GPU search can change it
// without a host round trip). Per-pixel math and RNG convention: noise.cuh.
#include "common.cuh"
#include "noise.cuh"

#define NOISE_THREADS 256

// Pixel index of this thread inside image blockIdx.y, or false when past the image.
__device__ __forceinline__ bool pixel_of(const MfrImageDesc* descs, uint32_t n_images,
                                         MfrImageDesc* d, uint32_t* px) {
    if (blockIdx.y >= n_images) return false;
    *d = descs[blockIdx.y];
    uint64_t i = (uint64_t)blockIdx.x * NOISE_THREADS + threadIdx.x;
    if (i >= (uint64_t)d->width * d->height) return false;
    *px = (uint32_t)i;
    return true;
}

extern "C" __global__ void __launch_bounds__(NOISE_THREADS)
gaussian_noise(const float* __restrict__ in, float* __restrict__ out,
               const MfrImageDesc* __restrict__ descs, const float* __restrict__ strength,
               MfrRngKey key, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!pixel_of(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_gaussian_noise(in[at], mfr_rng_normal(key, d.image_id, c, px), s);
    }
}

extern "C" __global__ void __launch_bounds__(NOISE_THREADS)
speckle_noise(const float* __restrict__ in, float* __restrict__ out,
               const MfrImageDesc* __restrict__ descs, const float* __restrict__ strength,
               MfrRngKey key, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!pixel_of(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_speckle_noise(in[at], mfr_rng_normal(key, d.image_id, c, px), s);
    }
}

extern "C" __global__ void __launch_bounds__(NOISE_THREADS)
salt_pepper(const float* __restrict__ in, float* __restrict__ out,
            const MfrImageDesc* __restrict__ descs, const float* __restrict__ strength,
            MfrRngKey key, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!pixel_of(descs, n_images, &d, &px)) return;
    const float u = mfr_rng_uniform(key, d.image_id, 0, px);
    const float sv = mfr_rng_uniform(key, d.image_id, 1, px);
    const float v = mfr_salt_pepper_value(u, sv, strength[blockIdx.y]);
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = v < 0.0f ? in[at] : v;
    }
}

extern "C" __global__ void __launch_bounds__(NOISE_THREADS)
brightness(const float* __restrict__ in, float* __restrict__ out,
           const MfrImageDesc* __restrict__ descs, const float* __restrict__ strength,
           uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!pixel_of(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t at = d.offset + px;
    if (d.channels == 3) {
        const float r = in[at], g = in[at + plane], b = in[at + 2 * plane];
        float v = r > g ? r : g;
        v = v > b ? v : b;
        out[at] = mfr_brightness_rgb(r, v, s);
        out[at + plane] = mfr_brightness_rgb(g, v, s);
        out[at + 2 * plane] = mfr_brightness_rgb(b, v, s);
    } else {
        for (uint32_t c = 0; c < d.channels; ++c) out[at + c * plane] = mfr_brightness_grey(in[at + c * plane], s);
    }
}

// `means[i * max_channels + c]`: channel means from reduce.cu `channel_mean_per_image`.
extern "C" __global__ void __launch_bounds__(NOISE_THREADS)
contrast(const float* __restrict__ in, float* __restrict__ out,
         const MfrImageDesc* __restrict__ descs, const float* __restrict__ strength,
         const double* __restrict__ means, uint32_t max_channels, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!pixel_of(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_contrast(in[at], (float)means[blockIdx.y * max_channels + c], s);
    }
}
