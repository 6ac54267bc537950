// Separable Gaussian blur of a packed batch (gaussian_blur), two launches: rows into `tmp`, then
// columns into `out` (clipped to [0, 1]). Image i uses taps[tap_off[i] .. tap_off[i] + 2r_i + 1]
// with r_i = radius[i] (host-computed by the CPU twin's `gaussian_kernel`, so the taps are the
// CPU's bits; strength 0 is the one-tap identity). One thread per pixel, channels looped;
// grid = (ceil(max plane / 256), n_images). Per-pixel math: blur.cuh.
#include "common.cuh"
#include "blur.cuh"

#define BLUR_THREADS 256

extern "C" __global__ void __launch_bounds__(BLUR_THREADS)
blur_rows(const float* __restrict__ in, float* __restrict__ tmp, const MfrImageDesc* __restrict__ descs,
          const float* __restrict__ taps, const uint32_t* __restrict__ tap_off,
          const uint32_t* __restrict__ radius, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t px = (uint64_t)blockIdx.x * BLUR_THREADS + threadIdx.x;
    if (px >= plane) return;
    const int32_t x = (int32_t)(px % d.width), y = (int32_t)(px / d.width);
    const float* t = taps + tap_off[blockIdx.y];
    const int32_t r = (int32_t)radius[blockIdx.y];
    for (uint32_t c = 0; c < d.channels; ++c) {
        const uint64_t base = d.offset + c * plane;
        tmp[base + px] = mfr_blur_row_pixel(in + base + (uint64_t)y * d.width, (int32_t)d.width, x, t, r);
    }
}

extern "C" __global__ void __launch_bounds__(BLUR_THREADS)
blur_cols(const float* __restrict__ tmp, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
          const float* __restrict__ taps, const uint32_t* __restrict__ tap_off,
          const uint32_t* __restrict__ radius, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t px = (uint64_t)blockIdx.x * BLUR_THREADS + threadIdx.x;
    if (px >= plane) return;
    const int32_t x = (int32_t)(px % d.width), y = (int32_t)(px / d.width);
    const float* t = taps + tap_off[blockIdx.y];
    const int32_t r = (int32_t)radius[blockIdx.y];
    for (uint32_t c = 0; c < d.channels; ++c) {
        const uint64_t base = d.offset + c * plane;
        out[base + px] = mfr_clip01(mfr_blur_col_pixel(tmp + base, (int32_t)d.width, (int32_t)d.height, x, y, t, r));
    }
}

// gaussian_blur's taps built on the device from each image's strength (the on-GPU search's
// entry): image i's sigma = strength[i] (as f64, as the CPU `apply`), its taps written to
// taps[i * (2 max_r + 1) ..] by `mfr_gaussian_taps` (capped at max_r, see blur.cuh) and its
// radius to radius[i]; tap_off[i] = i * (2 max_r + 1) is uploaded once by the host. One thread
// per image.
#define BLUR_TAP_THREADS 64

extern "C" __global__ void __launch_bounds__(BLUR_TAP_THREADS)
blur_taps(const float* __restrict__ strength, float* __restrict__ taps, uint32_t* __restrict__ radius,
          uint32_t max_r, uint32_t n_images) {
    const uint32_t i = blockIdx.x * BLUR_TAP_THREADS + threadIdx.x;
    if (i >= n_images) return;
    float* t = taps + (uint64_t)i * (2u * max_r + 1u);
    radius[i] = (uint32_t)mfr_gaussian_taps((double)strength[i], 4.0, (int32_t)max_r, t);
}
