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
