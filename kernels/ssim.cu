// Fused SSIM over a batch of (clean, perturbed) image pairs, one SSIM per pair.
//
// Pass 1 `ssim_tiles`: one 16x16 block per 16x16 tile of the VALID SSIM map (the map cropped by
// the window radius r on every side, spec/ssim-calibration.md), so every input sample a valid
// output needs lies inside the image and no border rule is involved. The block stages both images
// (f64, min-max normalised for `compat`) with an r-pixel halo in shared memory, runs the horizontal
// window pass producing all five moments at once, then the vertical pass and the SSIM formula in
// registers; channels are looped inside the block. Each block writes the f64 sum of its tile to
// `partials[blockIdx.x]`.
// Pass 2 `ssim_reduce`: one block per image sums its tiles' partials in a fixed order (strided
// per-thread sums, then a fixed shared-memory tree) and divides by channels * valid pixels.
// No float atomics anywhere: the result is identical from run to run (spec/gpu.md).
// The window sums use explicit f64 fma() (fused even under the build's --fmad=false): SSIM needs
// parity to 1e-6, not bit identity, and fusing halves the f64 instructions of the hot loops;
// the difference to unfused sums is at the 1e-16 level.
//
// Tiles of all images are numbered consecutively; `tile_start[i]` (n_images + 1 entries, host
// computed, see src/backend/cuda/ssim.rs) is the first tile of image i, image i has
// ceil((w - 2r) / 16) * ceil((h - 2r) / 16) tiles in row-major order. Images smaller than the
// window are rejected on the host before launch.
#include "common.cuh"
#include "ssim.cuh"

#define SSIM_BLOCK 16
#define SSIM_SPAN (SSIM_BLOCK + 2 * MFR_SSIM_MAX_RADIUS)
#define SSIM_THREADS (SSIM_BLOCK * SSIM_BLOCK)

// Index of the image whose tile range holds `tile`: largest i with tile_start[i] <= tile.
__device__ __forceinline__ uint32_t find_image(const uint32_t* tile_start, uint32_t n, uint32_t tile) {
    uint32_t lo = 0, hi = n;  // invariant: tile_start[lo] <= tile < tile_start[hi]
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (tile_start[mid] <= tile) lo = mid; else hi = mid;
    }
    return lo;
}

// Fixed-order tree sum of one value per thread of a 256-thread block; result valid in thread 0.
__device__ __forceinline__ double block_sum_256(double v, double* red) {
    uint32_t t = threadIdx.y * blockDim.x + threadIdx.x;
    red[t] = v;
    __syncthreads();
    for (uint32_t s = SSIM_THREADS / 2; s > 0; s >>= 1) {
        if (t < s) red[t] += red[t + s];
        __syncthreads();
    }
    return red[0];
}

extern "C" __global__ void __launch_bounds__(SSIM_THREADS)
ssim_tiles(const float* __restrict__ a, const float* __restrict__ b,
           const MfrImageDesc* __restrict__ descs, const uint32_t* __restrict__ tile_start,
           const float* __restrict__ minmax_a, const float* __restrict__ minmax_b,
           MfrSsimParams p, double* __restrict__ partials) {
    __shared__ double sa[SSIM_SPAN][SSIM_SPAN];
    __shared__ double sb[SSIM_SPAN][SSIM_SPAN];
    __shared__ double hm[5][SSIM_SPAN][SSIM_BLOCK];
    __shared__ double red[SSIM_THREADS];
    // Taps in shared memory: indexing the by-value parameter struct with a run-time k would copy
    // it to the local stack.
    __shared__ double taps[2 * MFR_SSIM_MAX_RADIUS + 1];

    const uint32_t img = find_image(tile_start, p.n_images, blockIdx.x);
    const MfrImageDesc d = descs[img];
    const int32_t r = (int32_t)p.radius;
    const int32_t span = SSIM_BLOCK + 2 * r;
    const int32_t w = (int32_t)d.width, h = (int32_t)d.height;
    const int32_t vw = w - 2 * r, vh = h - 2 * r;
    const int32_t tiles_x = (vw + SSIM_BLOCK - 1) / SSIM_BLOCK;
    const int32_t tile = (int32_t)(blockIdx.x - tile_start[img]);
    const int32_t x0 = (tile % tiles_x) * SSIM_BLOCK;  // input column of the tile's left halo
    const int32_t y0 = (tile / tiles_x) * SSIM_BLOCK;
    const int32_t lx = (int32_t)threadIdx.x, ly = (int32_t)threadIdx.y;
    const int32_t tid = ly * SSIM_BLOCK + lx;
    const bool valid = (x0 + lx) < vw && (y0 + ly) < vh;
    if (tid == 0) {
#pragma unroll
        for (int k = 0; k < 2 * MFR_SSIM_MAX_RADIUS + 1; ++k) taps[k] = p.taps[k];
    }  // visible after the first __syncthreads below, before any use

    // compat: per-image min-max normalisation; otherwise the identity.
    double lo_a = 0.0, inv_a = 1.0, lo_b = 0.0, inv_b = 1.0;
    if (minmax_a != nullptr) {
        mfr_compat_affine(minmax_a[2 * img], minmax_a[2 * img + 1], &lo_a, &inv_a);
        mfr_compat_affine(minmax_b[2 * img], minmax_b[2 * img + 1], &lo_b, &inv_b);
    }

    double acc = 0.0;
    for (uint32_t c = 0; c < d.channels; ++c) {
        const uint64_t plane = d.offset + (uint64_t)c * (uint64_t)w * (uint64_t)h;
        // Stage the tile + halo. Rows/columns past the image only feed outputs that are masked
        // out, so they are clamped (never read out of bounds) rather than reflected.
        for (int32_t i = tid; i < span * span; i += SSIM_THREADS) {
            int32_t yy = i / span, xx = i % span;
            int32_t gy = min(y0 + yy, h - 1), gx = min(x0 + xx, w - 1);
            uint64_t at = plane + (uint64_t)gy * (uint64_t)w + (uint64_t)gx;
            sa[yy][xx] = mfr_normalise(a[at], lo_a, inv_a);
            sb[yy][xx] = mfr_normalise(b[at], lo_b, inv_b);
        }
        __syncthreads();
        // Horizontal pass: five moments of every staged row at the block's 16 columns.
        for (int32_t i = tid; i < span * SSIM_BLOCK; i += SSIM_THREADS) {
            int32_t yy = i / SSIM_BLOCK, xx = i % SSIM_BLOCK;
            double m0 = 0.0, m1 = 0.0, m2 = 0.0, m3 = 0.0, m4 = 0.0;
            for (int32_t k = 0; k <= 2 * r; ++k) {
                double t = taps[k];
                double va = sa[yy][xx + k], vb = sb[yy][xx + k];
                m0 = fma(t, va, m0);
                m1 = fma(t, vb, m1);
                m2 = fma(t, va * va, m2);
                m3 = fma(t, vb * vb, m3);
                m4 = fma(t, va * vb, m4);
            }
            hm[0][yy][xx] = m0;
            hm[1][yy][xx] = m1;
            hm[2][yy][xx] = m2;
            hm[3][yy][xx] = m3;
            hm[4][yy][xx] = m4;
        }
        __syncthreads();
        // Vertical pass and the SSIM formula in registers.
        MfrMoments m = {0.0, 0.0, 0.0, 0.0, 0.0};
        for (int32_t k = 0; k <= 2 * r; ++k) {
            double t = taps[k];
            m.mx = fma(t, hm[0][ly + k][lx], m.mx);
            m.my = fma(t, hm[1][ly + k][lx], m.my);
            m.exx = fma(t, hm[2][ly + k][lx], m.exx);
            m.eyy = fma(t, hm[3][ly + k][lx], m.eyy);
            m.exy = fma(t, hm[4][ly + k][lx], m.exy);
        }
        if (valid) acc += mfr_ssim_from_moments(m, p.c1, p.c2, p.cov_norm);
        __syncthreads();  // the next channel overwrites sa/sb/hm
    }
    double s = block_sum_256(acc, red);
    if (tid == 0) partials[blockIdx.x] = s;
}

extern "C" __global__ void __launch_bounds__(SSIM_THREADS)
ssim_reduce(const double* __restrict__ partials, const uint32_t* __restrict__ tile_start,
            const MfrImageDesc* __restrict__ descs, MfrSsimParams p, double* __restrict__ out) {
    __shared__ double red[SSIM_THREADS];
    const uint32_t img = blockIdx.x;
    if (img >= p.n_images) return;
    const uint32_t t = threadIdx.y * blockDim.x + threadIdx.x;
    const uint32_t first = tile_start[img], last = tile_start[img + 1];
    double acc = 0.0;
    for (uint32_t i = first + t; i < last; i += SSIM_THREADS) acc += partials[i];
    double s = block_sum_256(acc, red);
    if (t == 0) {
        const MfrImageDesc d = descs[img];
        double n = (double)d.channels * (double)(d.width - 2 * p.radius) *
                   (double)(d.height - 2 * p.radius);
        out[img] = s / n;
    }
}
