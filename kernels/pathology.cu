// Pathology perturbations over a packed batch: path_stain_hsv (prepared draws and smooth field) and
// path_bubbles (prepared sprite table, kernels/objects.cuh). One thread per pixel (all channels),
// grid = (ceil(max plane / 256), n_images); `strength[i]` is image i's strength (read on the
// device, for the on-GPU search). Per-pixel math: pathology.cuh.
#include "common.cuh"
#include "pathology.cuh"

#define PATH_THREADS 256

__device__ __forceinline__ bool path_pixel(const MfrImageDesc* descs, uint32_t n_images, MfrImageDesc* d, uint32_t* px) {
    if (blockIdx.y >= n_images) return false;
    *d = descs[blockIdx.y];
    uint64_t i = (uint64_t)blockIdx.x * PATH_THREADS + threadIdx.x;
    if (i >= (uint64_t)d->width * d->height) return false;
    *px = (uint32_t)i;
    return true;
}

// field + field_off[i]: image i's w * h field g; draws + 4 i: (u_h, u_s, u_v, unused)
// (stain_hsv.rs `stain_draws`). 3 channels: the HSV model; any other count: the grey model on
// every channel.
extern "C" __global__ void __launch_bounds__(PATH_THREADS)
path_stain_hsv(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
               const float* __restrict__ strength, const float* __restrict__ field, const uint64_t* __restrict__ field_off,
               const float* __restrict__ draws, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!path_pixel(descs, n_images, &d, &px)) return;
    const uint32_t img = blockIdx.y;
    const float s = strength[img];
    const float g = field[field_off[img] + px];
    const float* u = draws + (uint64_t)img * MFR_CHAN_STRIDE;
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t at = d.offset + px;
    if (d.channels == 3) {
        float r = in[at], gr = in[at + plane], b = in[at + 2 * plane];
        mfr_path_stain_rgb(&r, &gr, &b, g, s, u[0], u[1], u[2]);
        out[at] = r;
        out[at + plane] = gr;
        out[at + 2 * plane] = b;
    } else {
        for (uint32_t c = 0; c < d.channels; ++c) out[at + c * plane] = mfr_path_stain_grey(in[at + c * plane], g, s, u[2]);
    }
}

// Sprite table of image i: boxes + i * 28 * 4, offsets + i * 28 (into data; layers interior
// alpha, rim, line: bubbles.rs `bubble_list`); bg + 4 i: background of channel c (`background`).
extern "C" __global__ void __launch_bounds__(PATH_THREADS)
path_bubbles(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
             const float* __restrict__ strength, const uint32_t* __restrict__ boxes, const uint64_t* __restrict__ offsets,
             const float* __restrict__ data, const float* __restrict__ bg, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!path_pixel(descs, n_images, &d, &px)) return;
    const uint32_t img = blockIdx.y;
    const float s = strength[img];
    const uint32_t* b = boxes + (uint64_t)img * MFR_PATH_BUBBLES_N * 4;
    const uint64_t* o = offsets + (uint64_t)img * MFR_PATH_BUBBLES_N;
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_path_bubbles(in[at], b, o, data, px % d.width, px / d.width, bg[img * MFR_CHAN_STRIDE + c], s);
    }
}
