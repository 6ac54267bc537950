// kernels/ssim.cu itself (not a transcription) run by the host CUDA emulation
// (kernels/host/cuda_emu.h), launched with the grids and blocks src/backend/cuda/ssim.rs uses,
// for tests/cuda_emulated.rs.
#include "cuda_emu.h"
#include "../ssim.cu"

// SSIM of every image pair of a packed batch: `ssim_tiles` over tile_start[n] blocks of 32 x 8
// threads, then `ssim_reduce` over n blocks. `tile_start` comes from the host's own numbering
// (src/backend/ssim_tiles.rs); `partials` holds tile_start[n] values, `out` n; the minmax arrays
// hold 2n floats or are null (compat).
extern "C" void mfr_emu_ssim_batch(const float* a, const float* b, const MfrImageDesc* descs, uint32_t n,
                                   const uint32_t* tile_start, const float* minmax_a, const float* minmax_b,
                                   const MfrSsimParams* p, double* partials, double* out) {
    const MfrSsimParams params = *p;
    mfr_emu::launch({tile_start[n], 1, 1}, {MFR_SSIM_BX, MFR_SSIM_BY, 1},
                    [&] { ssim_tiles(a, b, descs, tile_start, minmax_a, minmax_b, params, partials); });
    mfr_emu::launch({n, 1, 1}, {MFR_SSIM_BX, MFR_SSIM_BY, 1},
                    [&] { ssim_reduce(partials, tile_start, descs, params, out); });
}

// The kernel's output tile side, for the check against src/backend/ssim_tiles.rs `SSIM_TILE`
// (the host numbers the tiles the kernel decodes).
extern "C" uint32_t mfr_host_ssim_tile(void) { return MFR_SSIM_TILE; }
