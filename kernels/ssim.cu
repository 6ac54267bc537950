// Fused SSIM over a batch of (clean, perturbed) image pairs, one SSIM per pair.
//
// Pass 1 `ssim_tiles`: one 32 x 8-thread block per 32 x 32 tile of the VALID SSIM map (the map
// cropped by the window radius r on every side, spec/ssim-calibration.md), so every input sample
// a valid output needs lies inside the image and no border rule is involved. Per channel the block
// stages both images' samples of the tile and its r-pixel halo in shared memory, then runs two
// field passes (horizontal window into shared memory, vertical window into registers) and the SSIM
// formula in registers (phases and their contracts: ssim.cuh). Each block writes the f64 sum of
// its tile to `partials[blockIdx.x]`.
// Pass 2 `ssim_reduce`: one block per image sums its tiles' partials in a fixed order (strided
// per-thread sums, then a fixed shared-memory tree) and divides by channels * valid pixels.
// No float atomics anywhere: the result is identical from run to run (spec/gpu.md).
// The window sums use explicit f64 fma() (fused even under the build's --fmad=false): SSIM needs
// parity to 1e-6, not bit identity, and fusing halves the f64 instructions of the hot loops;
// the difference to unfused sums is at the 1e-16 level.
//
// Tiles of all images are numbered consecutively; `tile_start[i]` (n_images + 1 entries, host
// computed, see src/backend/cuda/ssim.rs) is the first tile of image i, image i has
// ceil((w - 2r) / 32) * ceil((h - 2r) / 32) tiles in row-major order. Images smaller than the
// window are rejected on the host before launch; the radius is 3 or 5 (the host checks), each
// with its own fully unrolled instantiation.
#include "common.cuh"
#include "ssim.cuh"

#define SSIM_THREADS MFR_SSIM_THREADS

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
// `red` must not be in use by any thread when called (callers sync first where it aliases).
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

template <int RAD, bool NORM>
__device__ __forceinline__ double ssim_tile_sum(MfrSsimTile* tile, const float* __restrict__ a,
                                                const float* __restrict__ b, const MfrImageDesc& d,
                                                int32_t x0, int32_t y0, MfrSsimAffine n,
                                                const MfrSsimParams& p) {
    double taps[2 * RAD + 1];
    mfr_ssim_taps<RAD>(p, taps);
    const int32_t w = (int32_t)d.width, h = (int32_t)d.height;
    const int32_t vw = w - 2 * RAD, vh = h - 2 * RAD;
    const uint32_t tx = threadIdx.x, ty = threadIdx.y, tid = ty * MFR_SSIM_BX + tx;
    double acc = 0.0;
    for (uint32_t c = 0; c < d.channels; ++c) {
        const uint64_t plane = d.offset + (uint64_t)c * (uint64_t)w * (uint64_t)h;
        // ra/rb were last read by the previous channel's pass-1 hpass, which every thread left
        // through the barrier before its vpass: safe to overwrite without a barrier here.
        mfr_ssim_stage(tile, tid, a, b, plane, w, h, x0, y0, MFR_SSIM_TILE + 2 * RAD);
        __syncthreads();
        double mu_x[MFR_SSIM_RUN], mu_y[MFR_SSIM_RUN], e_sq[MFR_SSIM_RUN], e_xy[MFR_SSIM_RUN];
        mfr_ssim_hpass<RAD, NORM>(tile, tid, 0, taps, n);
        __syncthreads();
        mfr_ssim_vpass<RAD>(tile, tx, ty, taps, mu_x, mu_y);
        __syncthreads();  // pass 1 overwrites hm
        mfr_ssim_hpass<RAD, NORM>(tile, tid, 1, taps, n);
        __syncthreads();
        mfr_ssim_vpass<RAD>(tile, tx, ty, taps, e_sq, e_xy);
        acc += mfr_ssim_run_sum(tx, ty, x0, y0, vw, vh, mu_x, mu_y, e_sq, e_xy, p);
        // hm is next written by the next channel's hpass, after the staging barrier.
    }
    return acc;
}

extern "C" __global__ void __launch_bounds__(SSIM_THREADS)
ssim_tiles(const float* __restrict__ a, const float* __restrict__ b,
           const MfrImageDesc* __restrict__ descs, const uint32_t* __restrict__ tile_start,
           const float* __restrict__ minmax_a, const float* __restrict__ minmax_b,
           MfrSsimParams p, double* __restrict__ partials) {
    __shared__ MfrSsimTile tile;
    const uint32_t img = find_image(tile_start, p.n_images, blockIdx.x);
    const MfrImageDesc d = descs[img];
    const int32_t r = (int32_t)p.radius;
    const int32_t vw = (int32_t)d.width - 2 * r;
    const int32_t tiles_x = (vw + MFR_SSIM_TILE - 1) / MFR_SSIM_TILE;
    const int32_t t = (int32_t)(blockIdx.x - tile_start[img]);
    // The tile's first output; in input coordinates also the first staged column/row.
    const int32_t x0 = (t % tiles_x) * MFR_SSIM_TILE;
    const int32_t y0 = (t / tiles_x) * MFR_SSIM_TILE;

    // compat: per-image min-max normalisation; otherwise the identity.
    MfrSsimAffine n = {0.0, 1.0, 0.0, 1.0};
    const bool norm = minmax_a != nullptr;
    if (norm) {
        mfr_compat_affine(minmax_a[2 * img], minmax_a[2 * img + 1], &n.lo_a, &n.inv_a);
        mfr_compat_affine(minmax_b[2 * img], minmax_b[2 * img + 1], &n.lo_b, &n.inv_b);
    }
    // Radius and normalisation are the same for the whole launch: no divergence.
    double acc;
    if (r == 5) {
        acc = norm ? ssim_tile_sum<5, true>(&tile, a, b, d, x0, y0, n, p)
                   : ssim_tile_sum<5, false>(&tile, a, b, d, x0, y0, n, p);
    } else {
        acc = norm ? ssim_tile_sum<3, true>(&tile, a, b, d, x0, y0, n, p)
                   : ssim_tile_sum<3, false>(&tile, a, b, d, x0, y0, n, p);
    }
    __syncthreads();  // red aliases hm, which slower threads may still be reading
    const double s = block_sum_256(acc, tile.red);
    if (threadIdx.x == 0 && threadIdx.y == 0) partials[blockIdx.x] = s;
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
