// Host emulation of kernels/ssim.cu (`ssim_tiles` then `ssim_reduce`) for ONE image pair, built
// from the kernel's own phase functions (kernels/ssim.cuh) called thread by thread, phase by
// phase, in the kernel's barrier order, with its tile numbering and both fixed-order reductions.
// The phases are race-free between barriers, so this sequential run computes what the GPU computes,
// bit for bit (same f64 operations, explicit fma on both sides, no contraction here or there).
// Checked by tests/cuda_host_math.rs against scikit-image values and the Rust CPU SSIM.
#include "../common.cuh"
#include "../ssim.cuh"
#include <math.h>
#include <stdlib.h>
#include <vector>

namespace {

// Fixed-order tree of kernels/ssim.cu `block_sum_256` over 256 values (destroys v).
double tree_sum_256(double* v) {
    for (int s = MFR_SSIM_THREADS / 2; s > 0; s >>= 1)
        for (int t = 0; t < s; ++t) v[t] += v[t + s];
    return v[0];
}

// One block of `ssim_tiles`: the tile at (x0, y0) of the valid map, all channels.
template <int RAD, bool NORM>
double emulate_tile(MfrSsimTile* tile, const float* a, const float* b, uint32_t w, uint32_t h, uint32_t channels,
                    int32_t x0, int32_t y0, MfrSsimAffine n, const MfrSsimParams& p) {
    double taps[2 * RAD + 1];
    mfr_ssim_taps<RAD>(p, taps);
    const int32_t vw = (int32_t)w - 2 * RAD, vh = (int32_t)h - 2 * RAD;
    struct Regs {
        double mu_x[MFR_SSIM_RUN], mu_y[MFR_SSIM_RUN], e_sq[MFR_SSIM_RUN], e_xy[MFR_SSIM_RUN];
    };
    std::vector<Regs> regs(MFR_SSIM_THREADS);
    std::vector<double> acc(MFR_SSIM_THREADS, 0.0);
    for (uint32_t c = 0; c < channels; ++c) {
        const uint64_t plane = (uint64_t)c * w * h;
        for (uint32_t tid = 0; tid < MFR_SSIM_THREADS; ++tid)
            mfr_ssim_stage(tile, tid, a, b, plane, (int32_t)w, (int32_t)h, x0, y0, MFR_SSIM_TILE + 2 * RAD);
        for (uint32_t tid = 0; tid < MFR_SSIM_THREADS; ++tid) mfr_ssim_hpass<RAD, NORM>(tile, tid, 0, taps, n);
        for (uint32_t tid = 0; tid < MFR_SSIM_THREADS; ++tid)
            mfr_ssim_vpass<RAD>(tile, tid % MFR_SSIM_BX, tid / MFR_SSIM_BX, taps, regs[tid].mu_x, regs[tid].mu_y);
        for (uint32_t tid = 0; tid < MFR_SSIM_THREADS; ++tid) mfr_ssim_hpass<RAD, NORM>(tile, tid, 1, taps, n);
        for (uint32_t tid = 0; tid < MFR_SSIM_THREADS; ++tid) {
            Regs& r = regs[tid];
            const uint32_t tx = tid % MFR_SSIM_BX, ty = tid / MFR_SSIM_BX;
            mfr_ssim_vpass<RAD>(tile, tx, ty, taps, r.e_sq, r.e_xy);
            acc[tid] += mfr_ssim_run_sum(tx, ty, x0, y0, vw, vh, r.mu_x, r.mu_y, r.e_sq, r.e_xy, p);
        }
    }
    return tree_sum_256(acc.data());
}

template <int RAD, bool NORM>
double emulate(const float* a, const float* b, uint32_t w, uint32_t h, uint32_t channels, MfrSsimAffine n,
               const MfrSsimParams& p) {
    const int32_t vw = (int32_t)w - 2 * RAD, vh = (int32_t)h - 2 * RAD;
    const int32_t tiles_x = (vw + MFR_SSIM_TILE - 1) / MFR_SSIM_TILE;
    const int32_t tiles = tiles_x * ((vh + MFR_SSIM_TILE - 1) / MFR_SSIM_TILE);
    MfrSsimTile* tile = (MfrSsimTile*)calloc(1, sizeof(MfrSsimTile));
    std::vector<double> partials((size_t)tiles);
    for (int32_t t = 0; t < tiles; ++t)
        partials[(size_t)t] = emulate_tile<RAD, NORM>(tile, a, b, w, h, channels, (t % tiles_x) * MFR_SSIM_TILE,
                                                (t / tiles_x) * MFR_SSIM_TILE, n, p);
    free(tile);
    // ssim_reduce: strided per-thread sums in ascending order, then the tree.
    std::vector<double> acc(MFR_SSIM_THREADS, 0.0);
    for (uint32_t t = 0; t < MFR_SSIM_THREADS; ++t)
        for (size_t i = t; i < partials.size(); i += MFR_SSIM_THREADS) acc[t] += partials[i];
    const double s = tree_sum_256(acc.data());
    return s / ((double)channels * (double)vw * (double)vh);
}

}  // namespace

extern "C" {

// The kernel's output tile side, for the check against src/backend/cuda/ssim.rs `SSIM_TILE`
// (the host numbers the tiles the kernel decodes).
uint32_t mfr_host_ssim_tile(void) { return MFR_SSIM_TILE; }

// SSIM of one image pair (planar, `channels` planes of w x h) as the two kernels compute it.
// `minmax_a`/`minmax_b` (2 floats each) select the compat normalisation, or are null.
// Returns NaN if the image is smaller than the window or the radius is not 3 or 5 (the host
// rejects both before a launch).
double mfr_host_ssim_emulate(const float* a, const float* b, uint32_t w, uint32_t h, uint32_t channels,
                             const float* minmax_a, const float* minmax_b, const MfrSsimParams* p) {
    const uint32_t r = p->radius;
    if ((r != 3 && r != 5) || w < 2 * r + 1 || h < 2 * r + 1) return NAN;
    MfrSsimAffine n = {0.0, 1.0, 0.0, 1.0};
    if (minmax_a == nullptr)
        return r == 5 ? emulate<5, false>(a, b, w, h, channels, n, *p) : emulate<3, false>(a, b, w, h, channels, n, *p);
    mfr_compat_affine(minmax_a[0], minmax_a[1], &n.lo_a, &n.inv_a);
    mfr_compat_affine(minmax_b[0], minmax_b[1], &n.lo_b, &n.inv_b);
    return r == 5 ? emulate<5, true>(a, b, w, h, channels, n, *p) : emulate<3, true>(a, b, w, h, channels, n, *p);
}

}  // extern "C"
