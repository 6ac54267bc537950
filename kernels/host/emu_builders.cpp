// The kernels whose per-strength data is built on the device (kernels/blur.cu,
// kernels/motion_blur.cu, kernels/geometric.cu) run by the host CUDA emulation
// (kernels/host/cuda_emu.h) with the launch shapes of src/backend/cuda/{blur,motion_blur,
// geometric}.rs, builder then apply, for tests/cuda_emulated.rs. Buffers are the caller's, sized
// as the wrappers size them.
#include "cuda_emu.h"
#include "../blur.cu"
#include "../motion_blur.cu"
#include "../geometric.cu"

// gaussian_blur: blur_taps over ceil(n / 64) blocks of 64, then blur_rows and blur_cols over
// (blocks_x, n) blocks of 256 (blocks_x = ceil(largest plane / 256)).
extern "C" void mfr_emu_gaussian_blur(const float* in, float* tmp, float* out, const MfrImageDesc* descs,
                                      const float* strength, float* taps, uint32_t* radius,
                                      const uint32_t* tap_off, uint32_t max_r, uint32_t n, uint32_t blocks_x) {
    mfr_emu::launch({(n + BLUR_TAP_THREADS - 1) / BLUR_TAP_THREADS, 1, 1}, {BLUR_TAP_THREADS, 1, 1},
                    [&] { blur_taps(strength, taps, radius, max_r, n); });
    mfr_emu::launch({blocks_x, n, 1}, {BLUR_THREADS, 1, 1}, [&] { blur_rows(in, tmp, descs, taps, tap_off, radius, n); });
    mfr_emu::launch({blocks_x, n, 1}, {BLUR_THREADS, 1, 1}, [&] { blur_cols(tmp, out, descs, taps, tap_off, radius, n); });
}

// motion_blur: motion_taps over n blocks of 256, then motion_blur over (blocks_x, n) blocks of
// 256 (blocks_x = ceil(largest image's samples / 256)).
extern "C" void mfr_emu_motion_blur(const float* in, float* out, const MfrImageDesc* descs, const float* strength,
                                    const double* sin_cos, const double* cap, double max_len, double* grid,
                                    int32_t* dx, int32_t* dy, float* wt, const uint32_t* tap_start,
                                    uint32_t* tap_count, uint64_t stride, uint32_t n, uint32_t blocks_x) {
    mfr_emu::launch({n, 1, 1}, {MB_TAP_THREADS, 1, 1},
                    [&] { motion_taps(strength, sin_cos, cap, max_len, grid, dx, dy, wt, tap_count, stride, n); });
    mfr_emu::launch({blocks_x, n, 1}, {MB_THREADS, 1, 1},
                    [&] { motion_blur(in, out, descs, dx, dy, wt, tap_start, tap_count, n); });
}

// rotation / scaling / translation (kind 0 / 1 / 2, border 0 reflect / 1 zero): warp_maps over
// ceil(n / 64) blocks of 64, then affine_warp over (blocks_x, n) blocks of 256.
extern "C" void mfr_emu_warp(const float* in, float* out, const MfrImageDesc* descs, const float* strength,
                             const double* params, uint32_t kind, uint32_t border, double* maps, uint32_t* identity,
                             uint32_t n, uint32_t blocks_x) {
    mfr_emu::launch({(n + GEO_MAP_THREADS - 1) / GEO_MAP_THREADS, 1, 1}, {GEO_MAP_THREADS, 1, 1},
                    [&] { warp_maps(strength, params, descs, kind, maps, identity, n); });
    mfr_emu::launch({blocks_x, n, 1}, {GEO_THREADS, 1, 1},
                    [&] { affine_warp(in, out, descs, maps, identity, border, n); });
}
