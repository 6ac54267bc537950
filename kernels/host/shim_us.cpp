// Host-math shim of kernels/us.cuh (see kernels/host/shim.cpp), for tests/cuda_host_math_us.rs.
#include "../common.cuh"
#include "../pointwise.cuh"
#include "../us.cuh"

extern "C" {

float mfr_host_us_acoustic_shadow(float v, float r, float t, const float* p, float s) {
    return mfr_finish(mfr_us_acoustic_shadow(v, r, t, p, s));
}

float mfr_host_us_reverberation(float v, float r, float t, float inside, float n, const float* p, float s) {
    if (!(s > 0.0f)) return v;  // as the kernel: copy, no finish
    return mfr_finish(mfr_us_reverberation(v, r, t, inside, n, p, s));
}

}  // extern "C"
