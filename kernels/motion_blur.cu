// motion_blur over a packed batch (motion_blur.cuh): one thread per sample, grid = (ceil(max
// samples / 256), n_images). Image i's taps are dx/dy/wt[tap_start[i] .. tap_start[i] + tap_count[i]];
// tap_count[i] == 0 copies image i unchanged (s <= 0, as the CPU `apply`).
#include "common.cuh"
#include "motion_blur.cuh"

#define MB_THREADS 256

extern "C" __global__ void __launch_bounds__(MB_THREADS)
motion_blur(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
            const int32_t* __restrict__ dx, const int32_t* __restrict__ dy, const float* __restrict__ wt,
            const uint32_t* __restrict__ tap_start, const uint32_t* __restrict__ tap_count, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * MB_THREADS + threadIdx.x;
    if (i >= plane * d.channels) return;
    const uint32_t n = tap_count[blockIdx.y];
    if (n == 0u) {
        out[d.offset + i] = in[d.offset + i];
        return;
    }
    const uint32_t c = (uint32_t)(i / plane);
    const uint32_t p = (uint32_t)(i % plane);
    const uint32_t t0 = tap_start[blockIdx.y];
    out[d.offset + i] = mfr_sparse_conv_pixel(in + d.offset + c * plane, (int32_t)d.width, (int32_t)d.height,
                                              (int32_t)(p % d.width), (int32_t)(p / d.width), dx + t0, dy + t0, wt + t0, n);
}
