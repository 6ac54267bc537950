// kernels/mri_motion.cu itself run by the host CUDA emulation (kernels/host/cuda_emu.h), launched
// as src/backend/cuda/mri_motion.rs launches it, for tests/cuda_emulated.rs and
// tests/cuda_host_math_mri.rs.
#include "cuda_emu.h"
#include "../mri_motion.cu"

// One strength step of the whole batch: the warp pass, then the mix pass, each over (grid extent
// from src/backend/motion_pack.rs, n images) blocks of 256 threads; a zero warp extent is not
// launched. Inputs: the packing of src/backend/motion_pack.rs; `scratch` holds its scratch_len.
extern "C" void mfr_emu_mri_motion(const float* in, float* out, const MfrImageDesc* descs, uint32_t n,
                                   const float* strength, const uint64_t* meta, const double* units,
                                   const double* kernels, const float* fill, double* scratch, uint32_t warp_blocks,
                                   uint32_t mix_blocks) {
    const MfrEmuDim3 block = {MFR_MOTION_THREADS, 1, 1};
    if (warp_blocks)
        mfr_emu::launch({warp_blocks, n, 1}, block,
                        [&] { mri_motion_warp(in, descs, strength, meta, units, fill, scratch, n); });
    mfr_emu::launch({mix_blocks > 0 ? mix_blocks : 1u, n, 1}, block,
                    [&] { mri_motion_mix(in, out, descs, strength, meta, kernels, scratch, n); });
}
