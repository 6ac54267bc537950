// Host-math shim of kernels/xray.cuh and kernels/ct.cuh (see kernels/host/shim.cpp): the
// per-pixel formulas, finished as the kernels finish them, for tests/cuda_host_math_xray.rs and
// tests/cuda_host_math_ct.rs.
#include "../common.cuh"
#include "../pointwise.cuh"
#include "../xray.cuh"
#include "../ct.cuh"

extern "C" {

float mfr_host_xray_pixel(uint32_t op, float v, float field, float n, float s) {
    return mfr_finish(mfr_xray_pixel(op, v, field, n, s));
}

float mfr_host_ct_pixel(uint32_t op, float v, float p, float field, float n, float s) {
    return mfr_finish(mfr_ct_pixel(op, v, p, field, n, s));
}

uint64_t mfr_host_field_index(uint32_t mode, uint32_t w, uint32_t h, uint32_t c, uint32_t y, uint32_t x) {
    return mfr_field_index(mode, w, h, c, y, x);
}

}  // extern "C"
