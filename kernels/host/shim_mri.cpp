// Host-math shim of kernels/mri.cuh (see kernels/host/shim.cpp), for tests/cuda_host_math_mri.rs.
#include "../common.cuh"
#include "../pointwise.cuh"
#include "../mri.cuh"

extern "C" {

float mfr_host_mri_bias_field(float v, float l, float s) { return mfr_finish(mfr_mri_bias_field(v, l, s)); }

}  // extern "C"
