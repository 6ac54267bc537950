// Affine warps (rotation, scaling, translation) over a packed batch (geometric.cuh): one thread
// per sample, grid = (ceil(max samples / 256), n_images). `maps` holds 6 doubles per image (the
// inverse map at the image's strength, built by `warp_maps` from the device strength),
// `identity[i]` != 0 copies image i unchanged (s <= 0, as the CPU `apply`), `border` is
// MFR_BORDER_REFLECT or MFR_BORDER_ZERO.
#include "common.cuh"
#include "geometric.cuh"

#define GEO_THREADS 256

extern "C" __global__ void __launch_bounds__(GEO_THREADS)
affine_warp(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
            const double* __restrict__ maps, const uint32_t* __restrict__ identity, uint32_t border,
            uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * GEO_THREADS + threadIdx.x;
    if (i >= plane * d.channels) return;
    if (identity[blockIdx.y] != 0u) {
        out[d.offset + i] = in[d.offset + i];
        return;
    }
    const uint32_t c = (uint32_t)(i / plane);
    const uint32_t p = (uint32_t)(i % plane);
    const double m[6] = {maps[6 * blockIdx.y], maps[6 * blockIdx.y + 1], maps[6 * blockIdx.y + 2],
                         maps[6 * blockIdx.y + 3], maps[6 * blockIdx.y + 4], maps[6 * blockIdx.y + 5]};
    out[d.offset + i] = mfr_warp_pixel(in + d.offset + c * plane, d.width, d.height, m, p % d.width, p / d.width, border);
}

// Each image's inverse map at its strength (geometric.cuh `mfr_warp_map`), one thread per image:
// params[2i], params[2i + 1] are the per-image draws (rotation: sign, 0; translation: ux, uy;
// scaling: unused), kind is MFR_WARP_*; identity[i] = 1 where strength[i] <= 0 or NaN.
#define GEO_MAP_THREADS 64

extern "C" __global__ void __launch_bounds__(GEO_MAP_THREADS)
warp_maps(const float* __restrict__ strength, const double* __restrict__ params, const MfrImageDesc* __restrict__ descs,
          uint32_t kind, double* __restrict__ maps, uint32_t* __restrict__ identity, uint32_t n_images) {
    const uint32_t i = blockIdx.x * GEO_MAP_THREADS + threadIdx.x;
    if (i >= n_images) return;
    const float s = strength[i];
    identity[i] = (s > 0.0f) ? 0u : 1u;
    mfr_warp_map(kind, descs[i].width, descs[i].height, (double)s, params[2 * i], params[2 * i + 1], maps + 6 * (uint64_t)i);
}
