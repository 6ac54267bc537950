// mri_bias_field and mri_ghosting over a packed batch (mri.cuh): one thread per sample, grid =
// (ceil(max samples / 256), n_images); `field`/`field_off` hold each image's w x h log bias field
// (plane layout) or its c x w x h ghost component (full layout).
#include "common.cuh"
#include "mri.cuh"

#define MRI_THREADS 256

extern "C" __global__ void __launch_bounds__(MRI_THREADS)
mri_bias_field(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
               const float* __restrict__ strength, const float* __restrict__ field,
               const uint64_t* __restrict__ field_off, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * MRI_THREADS + threadIdx.x;
    if (i >= plane * d.channels) return;
    const float v = in[d.offset + i];
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) {
        out[d.offset + i] = v;
        return;
    }
    const uint64_t p = i % plane;
    out[d.offset + i] = mfr_finish(mfr_mri_bias_field(v, field[field_off[blockIdx.y] + p], s));
}

extern "C" __global__ void __launch_bounds__(MRI_THREADS)
mri_ghosting(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
             const float* __restrict__ strength, const float* __restrict__ field,
             const uint64_t* __restrict__ field_off, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t i = (uint64_t)blockIdx.x * MRI_THREADS + threadIdx.x;
    if (i >= (uint64_t)d.width * d.height * d.channels) return;
    const float v = in[d.offset + i];
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) {
        out[d.offset + i] = v;
        return;
    }
    out[d.offset + i] = mfr_finish(mfr_mri_ghosting(v, field[field_off[blockIdx.y] + i], s));
}
