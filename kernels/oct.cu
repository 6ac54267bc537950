// OCT perturbations over a packed batch: oct_shadow (column gains), oct_blink (row gains),
// oct_speckle (uploaded N(0, 1) plane), oct_motion (uploaded row band factors) and oct_defocus
// (two passes: f64 prefix rows into a scratch buffer, then the disk sums).
// One thread per pixel (all channels; oct_defocus: per sample), grid = (ceil(max plane / 256),
// n_images); `strength[i]` is image i's strength (read on the device, for the on-GPU search).
// `lists` holds image i's strength-independent segments at `lists + i * 2K`; `field` +
// `field_off[i]` image i's uploaded plane / rows (kernels/oct.cuh). Per-pixel math: oct.cuh.
#include "common.cuh"
#include "oct.cuh"

#define OCT_THREADS 256

__device__ __forceinline__ bool oct_pixel(const MfrImageDesc* descs, uint32_t n_images, MfrImageDesc* d, uint32_t* px) {
    if (blockIdx.y >= n_images) return false;
    *d = descs[blockIdx.y];
    uint64_t i = (uint64_t)blockIdx.x * OCT_THREADS + threadIdx.x;
    if (i >= (uint64_t)d->width * d->height) return false;
    *px = (uint32_t)i;
    return true;
}

extern "C" __global__ void __launch_bounds__(OCT_THREADS)
oct_shadow(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
           const float* __restrict__ strength, const float* __restrict__ lists, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!oct_pixel(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const float g = mfr_oct_shadow_gain(lists + (uint64_t)blockIdx.y * 2 * MFR_OCT_SHADOW_K, px % d.width, d.width, s);
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_gain_apply(in[at], g, s);
    }
}

extern "C" __global__ void __launch_bounds__(OCT_THREADS)
oct_blink(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
          const float* __restrict__ strength, const float* __restrict__ lists, uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!oct_pixel(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const float g = mfr_oct_blink_gain(lists + (uint64_t)blockIdx.y * 2 * MFR_OCT_BLINK_K, px / d.width, d.height, s);
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_gain_apply(in[at], g, s);
    }
}

extern "C" __global__ void __launch_bounds__(OCT_THREADS)
oct_speckle(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
            const float* __restrict__ strength, const float* __restrict__ field, const uint64_t* __restrict__ field_off,
            uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!oct_pixel(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const float z = field[field_off[blockIdx.y] + px];
    const uint64_t plane = (uint64_t)d.width * d.height;
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = mfr_oct_speckle(in[at], z, s);
    }
}

extern "C" __global__ void __launch_bounds__(OCT_THREADS)
oct_motion(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
           const float* __restrict__ strength, const float* __restrict__ field, const uint64_t* __restrict__ field_off,
           uint32_t n_images) {
    MfrImageDesc d;
    uint32_t px;
    if (!oct_pixel(descs, n_images, &d, &px)) return;
    const float s = strength[blockIdx.y];
    const uint32_t x = px % d.width, y = px / d.width;
    const uint64_t plane = (uint64_t)d.width * d.height;
    const float dshift = mfr_oct_motion_shift(s, d.width, field[field_off[blockIdx.y] + y]);
    for (uint32_t c = 0; c < d.channels; ++c) {
        uint64_t at = d.offset + c * plane + px;
        out[at] = s <= 0.0f ? in[at] : mfr_oct_motion(in + d.offset + c * plane + (uint64_t)y * d.width, x, d.width, dshift);
    }
}

// oct_defocus pass 1: one thread per (channel, row) of image blockIdx.y writes the row's
// w + 2 half + 1 prefix sums at scratch + scratch_off[i] + (c h + y) * (w + 2 MAX_HALF + 1).
// Nothing to do for s <= 0.5 (identity) or half > MFR_DISK_MAX_HALF (pass 2 writes NaN).
extern "C" __global__ void __launch_bounds__(OCT_THREADS)
oct_defocus_prefix(const float* __restrict__ in, const MfrImageDesc* __restrict__ descs, const float* __restrict__ strength,
                   double* __restrict__ scratch, const uint64_t* __restrict__ scratch_off, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t r = (uint64_t)blockIdx.x * OCT_THREADS + threadIdx.x;
    if (r >= (uint64_t)d.height * d.channels) return;
    const float s = strength[blockIdx.y];
    if (s <= 0.5f) return;
    const int32_t half = mfr_disk_half(s);
    if (half > MFR_DISK_MAX_HALF) return;
    const uint64_t stride = (uint64_t)d.width + 2 * MFR_DISK_MAX_HALF + 1;
    mfr_disk_prefix_row(in + d.offset + r * d.width, (int32_t)d.width, half, scratch + scratch_off[blockIdx.y] + r * stride);
}

// oct_defocus pass 2: one thread per sample; the block builds the (2 half + 1)^2 weight table and
// 1 / total in shared memory (every thread of a block belongs to the same image).
extern "C" __global__ void __launch_bounds__(OCT_THREADS)
oct_defocus(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
            const float* __restrict__ strength, const double* __restrict__ scratch, const uint64_t* __restrict__ scratch_off,
            uint32_t n_images) {
    __shared__ float wt[MFR_DISK_MAX_SIDE * MFR_DISK_MAX_SIDE];
    __shared__ double inv;
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const float s = strength[blockIdx.y];
    const int32_t half = mfr_disk_half(s);
    const bool conv = s > 0.5f && half >= 1 && half <= MFR_DISK_MAX_HALF;
    if (conv) {  // uniform per block: every thread reaches the barriers
        const int32_t side = 2 * half + 1;
        for (int32_t k = threadIdx.x; k < side * side; k += OCT_THREADS) wt[k] = mfr_disk_weight(s, k % side - half, k / side - half);
        __syncthreads();
        if (threadIdx.x == 0) inv = mfr_disk_inv_total(wt, half);
        __syncthreads();
    }
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * OCT_THREADS + threadIdx.x;
    if (i >= plane * d.channels) return;
    const uint64_t at = d.offset + i;
    if (s <= 0.5f) {
        out[at] = in[at];
        return;
    }
    if (half > MFR_DISK_MAX_HALF) {
        out[at] = __int_as_float(0x7fc00000);  // strength beyond the supported radius: NaN
        return;
    }
    if (half == 0) {  // NaN strength: the CPU's convolve_disk returns the plane, then clamps
        out[at] = mfr_clamp01_rust(in[at]);
        return;
    }
    const uint64_t c = i / plane, p = i % plane;
    const uint64_t stride = (uint64_t)d.width + 2 * MFR_DISK_MAX_HALF + 1;
    const double* pre = scratch + scratch_off[blockIdx.y] + c * d.height * stride;
    out[at] = mfr_clamp01_rust(mfr_disk_sample(pre, stride, (int32_t)(p % d.width), (int32_t)(p / d.width), (int32_t)d.height, half, wt, inv));
}
