// mri_motion over a packed batch (math and layout: mri_motion.cuh). Two launches per strength on
// one stream, both reading image i's strength from device memory (on-GPU search):
//   mri_motion_warp: one thread per difference sample e_j[c][y][x] = copy_j - x (f64 scratch);
//   mri_motion_mix:  one thread per output sample: the per-segment circular convolutions along y
//     of the scratch, + x, finish.
// Grid: x = ceil(samples / 256) of the largest image, y = image; threads past an image's samples
// return. Strength <= 0 (or NaN): warp does nothing, mix copies the input (the CPU returns x).
#include "common.cuh"
#include "mri_motion.cuh"

extern "C" __global__ void __launch_bounds__(MFR_MOTION_THREADS)
mri_motion_warp(const float* __restrict__ in, const MfrImageDesc* __restrict__ descs,
                const float* __restrict__ strength, const uint64_t* __restrict__ meta,
                const double* __restrict__ units, const float* __restrict__ fill,
                double* __restrict__ scratch, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t* mt = meta + (uint64_t)blockIdx.y * MFR_MOTION_META_WORDS;
    const uint64_t m = mt[MFR_MOTION_SEGS];
    const uint64_t n = m * d.channels * d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * MFR_MOTION_THREADS + threadIdx.x;
    if (i >= n) return;
    scratch[mt[MFR_MOTION_SCRATCH_OFF] + i] =
        mfr_motion_diff(in + d.offset, d, units + 3u * mt[MFR_MOTION_SEG_OFF], fill + mt[MFR_MOTION_FILL_OFF], s, i);
}

extern "C" __global__ void __launch_bounds__(MFR_MOTION_THREADS)
mri_motion_mix(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
               const float* __restrict__ strength, const uint64_t* __restrict__ meta,
               const double* __restrict__ kernels, const double* __restrict__ scratch, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane_n = (uint64_t)d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * MFR_MOTION_THREADS + threadIdx.x;
    if (i >= plane_n * d.channels) return;
    const float v = in[d.offset + i];
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) {
        out[d.offset + i] = v;
        return;
    }
    const uint64_t* mt = meta + (uint64_t)blockIdx.y * MFR_MOTION_META_WORDS;
    const uint32_t x = (uint32_t)(i % d.width), y = (uint32_t)((i / d.width) % d.height);
    const uint32_t ch = (uint32_t)(i / plane_n);
    out[d.offset + i] = mfr_motion_mix(v, kernels + mt[MFR_MOTION_KERNEL_OFF], scratch + mt[MFR_MOTION_SCRATCH_OFF],
                                       (uint32_t)mt[MFR_MOTION_SEGS], d.channels, d.width, d.height, ch, y, x);
}
