// Per-image reductions over a packed batch (descriptor table as in common.cuh), deterministic:
// each thread folds a fixed strided subset, then a fixed shared-memory tree; no atomics.
//
// `minmax_per_image`: out[2i] = min, out[2i+1] = max over all samples of image i (exact, so order
//   does not matter); feeds the `compat` SSIM variant's min-max normalisation.
// `channel_mean_per_image`: out[i*max_channels + c] = mean of channel c of image i, summed in f64
//   (twin: the CPU contrast perturbation's per-channel mean); grid = (n_images, max_channels).
#include "common.cuh"

#define RED_THREADS 256

extern "C" __global__ void __launch_bounds__(RED_THREADS)
minmax_per_image(const float* __restrict__ x, const MfrImageDesc* __restrict__ descs,
                 uint32_t n_images, float* __restrict__ out) {
    __shared__ float smin[RED_THREADS];
    __shared__ float smax[RED_THREADS];
    const uint32_t img = blockIdx.x;
    if (img >= n_images) return;
    const MfrImageDesc d = descs[img];
    const uint64_t n = (uint64_t)d.channels * d.width * d.height;
    float lo = INFINITY, hi = -INFINITY;
    for (uint64_t i = threadIdx.x; i < n; i += RED_THREADS) {
        float v = x[d.offset + i];
        lo = fminf(lo, v);
        hi = fmaxf(hi, v);
    }
    smin[threadIdx.x] = lo;
    smax[threadIdx.x] = hi;
    __syncthreads();
    for (uint32_t s = RED_THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            smin[threadIdx.x] = fminf(smin[threadIdx.x], smin[threadIdx.x + s]);
            smax[threadIdx.x] = fmaxf(smax[threadIdx.x], smax[threadIdx.x + s]);
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        out[2 * img] = smin[0];
        out[2 * img + 1] = smax[0];
    }
}

extern "C" __global__ void __launch_bounds__(RED_THREADS)
channel_mean_per_image(const float* __restrict__ x, const MfrImageDesc* __restrict__ descs,
                       uint32_t n_images, uint32_t max_channels, double* __restrict__ out) {
    __shared__ double red[RED_THREADS];
    const uint32_t img = blockIdx.x, c = blockIdx.y;
    if (img >= n_images) return;
    const MfrImageDesc d = descs[img];
    if (c >= d.channels) {
        if (threadIdx.x == 0) out[img * max_channels + c] = 0.0;
        return;
    }
    const uint64_t n = (uint64_t)d.width * d.height;
    const float* plane = x + d.offset + (uint64_t)c * n;
    double acc = 0.0;
    for (uint64_t i = threadIdx.x; i < n; i += RED_THREADS) acc += (double)plane[i];
    red[threadIdx.x] = acc;
    __syncthreads();
    for (uint32_t s = RED_THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[img * max_channels + c] = red[0] / (double)n;
}
