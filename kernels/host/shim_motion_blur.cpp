// Host-math shim of kernels/motion_blur.cuh (see kernels/host/shim.cpp), for
// tests/cuda_host_math_motion_blur.rs: one whole plane filtered as the kernel filters it.
#include "../common.cuh"
#include "../motion_blur.cuh"

extern "C" {

void mfr_host_motion_blur_plane(const float* in, float* out, int32_t w, int32_t h, const int32_t* dx,
                                const int32_t* dy, const float* wt, uint32_t n_taps) {
    for (int32_t y = 0; y < h; ++y)
        for (int32_t x = 0; x < w; ++x) out[(int64_t)y * w + x] = mfr_sparse_conv_pixel(in, w, h, x, y, dx, dy, wt, n_taps);
}

// motion_blur's device-built taps (motion_blur.cuh `mfr_line_psf`, as kernels/motion_blur.cu
// `motion_taps` calls it): `grid` holds side^2 zeroed doubles (side = mfr_host_line_psf_side),
// dx/dy/wt side^2 entries each; returns the tap count.
int32_t mfr_host_line_psf_side(double length) { return mfr_line_psf_side(length); }
uint32_t mfr_host_line_psf(double length, double sn, double cs, double* grid, int32_t* dx, int32_t* dy, float* wt) {
    return mfr_line_psf(length, sn, cs, grid, dx, dy, wt);
}

}  // extern "C"
