// kernels/mri_motion.cu itself run by the host CUDA emulation (kernels/host/cuda_emu.h), launched
// as src/backend/cuda/mri_motion.rs launches it, for tests/cuda_emulated.rs.
#include "cuda_emu.h"
#include "../mri_motion.cu"

// One strength step of the whole batch: pass 1 of each path, then pass 2 of each path, each over
// (grid extent from src/backend/motion_pack.rs, n images) blocks of 32 x 8 threads; a zero extent
// is not launched. Inputs: the packing of src/backend/motion_pack.rs; `g` is the G scratch.
extern "C" void mfr_emu_mri_motion(const float* in, float* out, const MfrImageDesc* descs, uint32_t n,
                                   const float* strength, const MfrC64* spectra, const uint64_t* meta,
                                   const uint32_t* row_ky, const double* row_u, const MfrC64* twiddles, MfrC64* g,
                                   uint32_t rows_blocks, uint32_t cols_blocks, uint32_t fft_rows, uint32_t fft_cols) {
    const MfrEmuDim3 block = {MFR_MOTION_BX, MFR_MOTION_BY, 1};
    if (rows_blocks)
        mfr_emu::launch({rows_blocks, n, 1}, block,
                        [&] { mri_motion_rows(descs, strength, spectra, meta, row_ky, row_u, twiddles, g, n); });
    if (fft_rows)
        mfr_emu::launch({fft_rows, n, 1}, block,
                        [&] { mri_motion_rows_fft(descs, strength, spectra, meta, row_ky, row_u, twiddles, g, n); });
    if (cols_blocks)
        mfr_emu::launch({cols_blocks, n, 1}, block,
                        [&] { mri_motion_cols(in, out, descs, strength, meta, row_ky, twiddles, g, n); });
    if (fft_cols)
        mfr_emu::launch({fft_cols, n, 1}, block,
                        [&] { mri_motion_cols_fft(in, out, descs, strength, meta, row_ky, twiddles, g, n); });
}
