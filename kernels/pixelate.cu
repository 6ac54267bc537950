// pixelate over a packed batch: one thread per (block cell, channel) computes the block mean
// (pixelate.cuh) and fills the block. Image i's block size comes from its strength on the device
// (`mfr_pixelate_block`). grid = (ceil(max cells * channels / 256), n_images), where the host
// bounds cells by the smallest block size of the batch.
#include "common.cuh"
#include "pixelate.cuh"

#define PIX_THREADS 256

extern "C" __global__ void __launch_bounds__(PIX_THREADS)
pixelate(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
         const float* __restrict__ strength, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint32_t b = mfr_pixelate_block(strength[blockIdx.y]);
    const uint32_t cx = (d.width + b - 1) / b, cy = (d.height + b - 1) / b;
    const uint64_t cells = (uint64_t)cx * cy;
    const uint64_t i = (uint64_t)blockIdx.x * PIX_THREADS + threadIdx.x;
    if (i >= cells * d.channels) return;
    const uint32_t c = (uint32_t)(i / cells);
    const uint32_t cell = (uint32_t)(i % cells);
    const uint32_t x0 = (cell % cx) * b, y0 = (cell / cx) * b;
    const uint64_t plane = (uint64_t)d.width * d.height;
    const float* src = in + d.offset + c * plane;
    float* dst = out + d.offset + c * plane;
    const float m = mfr_pixelate_block_mean(src, d.width, d.height, x0, y0, b);
    const uint32_t x1 = x0 + b < d.width ? x0 + b : d.width;
    const uint32_t y1 = y0 + b < d.height ? y0 + b : d.height;
    for (uint32_t y = y0; y < y1; ++y)
        for (uint32_t x = x0; x < x1; ++x) dst[(uint64_t)y * d.width + x] = m;
}
