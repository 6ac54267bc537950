// kernels/jpeg.cu and kernels/pixelate.cu themselves run by the host CUDA emulation
// (kernels/host/cuda_emu.h) with the launch shapes of src/backend/cuda/{jpeg,pixelate}.rs, for
// tests/cuda_emulated.rs. Each .cu is compiled in its own namespace-free translation unit scope
// here; they share no kernel names.
#include "cuda_emu.h"
#include "../jpeg.cu"
#include "../pixelate.cu"

// jpeg over (blocks_x, n) blocks of MFR_JPEG_THREADS threads.
extern "C" void mfr_emu_jpeg(const float* in, float* out, const MfrImageDesc* descs, const float* strength, uint32_t n,
                             uint32_t blocks_x) {
    mfr_emu::launch({blocks_x, n, 1}, {MFR_JPEG_THREADS, 1, 1}, [&] { jpeg(in, out, descs, strength, n); });
}

// pixelate over (blocks_x, n) blocks of PIX_THREADS threads.
extern "C" void mfr_emu_pixelate(const float* in, float* out, const MfrImageDesc* descs, const float* strength,
                                 uint32_t n, uint32_t blocks_x) {
    mfr_emu::launch({blocks_x, n, 1}, {PIX_THREADS, 1, 1}, [&] { pixelate(in, out, descs, strength, n); });
}
