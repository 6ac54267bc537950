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

// motion_blur's taps built on the device from each image's strength (the on-GPU search's
// entry). Block i = image i: length L = min(strength[i], cap[i], max_len) (cap = min(w, h) / 2 as
// the CPU `kernel`; max_len only guards the buffers sized by the host for the largest strength
// it will pass), grid cells zeroed by the block, then thread 0 runs `mfr_line_psf` into
// grid/dx/dy/wt at i * stride (stride >= the largest side^2) and writes tap_count[i];
// strength <= 0 (or NaN) writes count 0 (the motion_blur kernel then copies the image, as the
// CPU `apply` returns the clean image).
#define MB_TAP_THREADS 256

extern "C" __global__ void __launch_bounds__(MB_TAP_THREADS)
motion_taps(const float* __restrict__ strength, const double* __restrict__ sin_cos, const double* __restrict__ cap,
            double max_len, double* __restrict__ grid, int32_t* __restrict__ dx, int32_t* __restrict__ dy,
            float* __restrict__ wt, uint32_t* __restrict__ tap_count, uint64_t stride, uint32_t n_images) {
    const uint32_t i = blockIdx.x;
    if (i >= n_images) return;
    const double s = (double)strength[i];
    if (!(s > 0.0)) {
        if (threadIdx.x == 0) tap_count[i] = 0u;
        return;
    }
    double len = s < cap[i] ? s : cap[i];
    if (len > max_len) len = max_len;
    const int32_t side = mfr_line_psf_side(len);
    double* g = grid + (uint64_t)i * stride;
    for (int32_t k = threadIdx.x; k < side * side; k += MB_TAP_THREADS) g[k] = 0.0;
    __syncthreads();
    if (threadIdx.x == 0) {
        const uint64_t o = (uint64_t)i * stride;
        tap_count[i] = mfr_line_psf(len, sin_cos[2 * i], sin_cos[2 * i + 1], g, dx + o, dy + o, wt + o);
    }
}
