// Host-math shim of kernels/geometric.cuh (see kernels/host/shim.cpp), for
// tests/cuda_host_math_geometric.rs: one whole plane warped as the kernel warps it.
#include "../common.cuh"
#include "../geometric.cuh"

extern "C" {

void mfr_host_warp_plane(const float* in, float* out, uint32_t w, uint32_t h, const double m[6], uint32_t border) {
    for (uint32_t y = 0; y < h; ++y)
        for (uint32_t x = 0; x < w; ++x) out[(uint64_t)y * w + x] = mfr_warp_pixel(in, w, h, m, x, y, border);
}

// The device-built inverse map (geometric.cuh `mfr_warp_map`, as `warp_maps` calls it).
void mfr_host_warp_map(uint32_t kind, uint32_t w, uint32_t h, float s, double p0, double p1, double m[6]) {
    mfr_warp_map(kind, w, h, (double)s, p0, p1, m);
}

}  // extern "C"
