// Host-math shim of kernels/mri.cuh (see kernels/host/shim.cpp), for tests/cuda_host_math_mri.rs.
#include "../common.cuh"
#include "../pointwise.cuh"
#include "../mri.cuh"

extern "C" {

float mfr_host_mri_bias_field(float v, float l, float s) { return mfr_finish(mfr_mri_bias_field(v, l, s)); }

// One image through mri.cu's mri_ghosting loop: n samples, ghost component g (same layout).
void mfr_host_mri_ghosting(const float* in, const float* g, float* out, uint64_t n, float s) {
    for (uint64_t i = 0; i < n; ++i) out[i] = s > 0.0f ? mfr_finish(mfr_mri_ghosting(in[i], g[i], s)) : in[i];
}

}  // extern "C"

// mri_motion (kernels/mri_motion.cuh): its kernels run whole under the host CUDA emulation
// (kernels/host/emu_mri_motion.cpp); here only the constants the packing must agree with.
#include "../mri_motion.cuh"

// out[0] = MFR_MOTION_META_WORDS, out[1] = MFR_MOTION_THREADS (src/backend/motion_pack.rs).
extern "C" void mfr_host_motion_constants(uint64_t out[2]) {
    out[0] = MFR_MOTION_META_WORDS;
    out[1] = MFR_MOTION_THREADS;
}
