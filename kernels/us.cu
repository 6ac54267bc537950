// us_acoustic_shadow and us_reverberation over a packed batch (us.cuh): one thread per sample,
// grid = (ceil(max samples / 256), n_images). `field`/`field_off` hold each image's cone depth
// plane followed by its angle plane (2 w h values; us_reverberation: then its support and speckle
// planes, 4 w h); `params` MFR_US_PARAMS (MFR_US_REVERB_PARAMS) floats per image.
#include "common.cuh"
#include "us.cuh"

#define US_THREADS 256

extern "C" __global__ void __launch_bounds__(US_THREADS)
us_acoustic_shadow(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
                   const float* __restrict__ strength, const float* __restrict__ params,
                   const float* __restrict__ field, const uint64_t* __restrict__ field_off, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * US_THREADS + threadIdx.x;
    if (i >= plane * d.channels) return;
    const float v = in[d.offset + i];
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) {
        out[d.offset + i] = v;
        return;
    }
    const uint64_t p = i % plane;
    const float* f = field + field_off[blockIdx.y];
    out[d.offset + i] = mfr_finish(mfr_us_acoustic_shadow(v, f[p], f[plane + p], params + (uint64_t)MFR_US_PARAMS * blockIdx.y, s));
}

extern "C" __global__ void __launch_bounds__(US_THREADS)
us_reverberation(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
                 const float* __restrict__ strength, const float* __restrict__ params,
                 const float* __restrict__ field, const uint64_t* __restrict__ field_off, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * US_THREADS + threadIdx.x;
    if (i >= plane * d.channels) return;
    const float v = in[d.offset + i];
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) {
        out[d.offset + i] = v;
        return;
    }
    const uint64_t p = i % plane;
    const float* f = field + field_off[blockIdx.y];
    out[d.offset + i] = mfr_finish(mfr_us_reverberation(v, f[p], f[plane + p], f[2 * plane + p], f[3 * plane + p],
                                                        params + (uint64_t)MFR_US_REVERB_PARAMS * blockIdx.y, s));
}
