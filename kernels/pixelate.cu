// pixelate over a packed batch. Image i's block size b comes from its strength on the device
// (`mfr_pixelate_block`), so the host cannot size the work per image; the grid covers both ways
// of splitting it (src/backend/cuda/pixelate.rs `grid`):
// - b < PIX_WARP_MIN or b > PIX_WARP_MAX: one thread per (block cell, channel) computes the block
//   mean (pixelate.cuh) and fills the block (small blocks: little serial work per thread);
// - otherwise one warp per (cell, channel): lane l sums rows y0 + l, y0 + l + 32, ... (each row in
//   column order, `mfr_pixelate_row_sum`), lane 0 adds the row sums in row order and divides
//   (`mfr_pixelate_mean`): the same f64 operations in the same order as the serial path and the
//   CPU, so the same bits; then the warp fills the block row by row, lanes along x (coalesced).
// Threads (warps) past an image's cells return; a warp returns as a whole.
#include "common.cuh"
#include "pixelate.cuh"

#define PIX_THREADS 256
#define PIX_WARP_MIN 8u
#define PIX_WARP_MAX 64u

extern "C" __global__ void __launch_bounds__(PIX_THREADS)
pixelate(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
         const float* __restrict__ strength, uint32_t n_images) {
    __shared__ double rows[PIX_THREADS / 32][PIX_WARP_MAX];
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint32_t b = mfr_pixelate_block(strength[blockIdx.y]);
    const uint32_t cx = (d.width + b - 1) / b, cy = (d.height + b - 1) / b;
    const uint64_t cells = (uint64_t)cx * cy;
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t gi = (uint64_t)blockIdx.x * PIX_THREADS + threadIdx.x;
    const bool by_warp = b >= PIX_WARP_MIN && b <= PIX_WARP_MAX;
    const uint64_t i = by_warp ? gi / 32u : gi;  // (cell, channel) index of this thread or warp
    if (i >= cells * d.channels) return;
    const uint32_t c = (uint32_t)(i / cells);
    const uint32_t cell = (uint32_t)(i % cells);
    const uint32_t x0 = (cell % cx) * b, y0 = (cell / cx) * b;
    const uint32_t x1 = x0 + b < d.width ? x0 + b : d.width;
    const uint32_t y1 = y0 + b < d.height ? y0 + b : d.height;
    const float* src = in + d.offset + c * plane;
    float* dst = out + d.offset + c * plane;
    if (!by_warp) {
        const float m = mfr_pixelate_block_mean(src, d.width, d.height, x0, y0, b);
        for (uint32_t y = y0; y < y1; ++y)
            for (uint32_t x = x0; x < x1; ++x) dst[(uint64_t)y * d.width + x] = m;
        return;
    }
    const uint32_t lane = threadIdx.x % 32u;
    double* r = rows[threadIdx.x / 32u];
    for (uint32_t y = y0 + lane; y < y1; y += 32u) r[y - y0] = mfr_pixelate_row_sum(src, d.width, y, x0, x1);
    __syncwarp();
    float m = 0.0f;
    if (lane == 0u) {
        double sum = 0.0;
        for (uint32_t k = 0; k < y1 - y0; ++k) sum += r[k];
        m = mfr_pixelate_mean(sum, (x1 - x0) * (y1 - y0));
    }
    m = __shfl_sync(0xffffffffu, m, 0);
    for (uint32_t y = y0; y < y1; ++y)
        for (uint32_t x = x0 + lane; x < x1; x += 32u) dst[(uint64_t)y * d.width + x] = m;
}
