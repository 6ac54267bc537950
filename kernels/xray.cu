// X-ray perturbations over a packed batch (xray.cuh): one thread per sample, grid = (ceil(max
// samples / 256), n_images). `op` selects the perturbation (MFR_XRAY_*), `field`/`field_off`/
// `field_mode` the prepared per-image field (pointwise.cuh), `key` the RNG key for the noise of
// xray_underexposure (normal, stream 0, plane index: Rng::fill_normal(0, ..)).
#include "common.cuh"
#include "xray.cuh"

#define XRAY_THREADS 256

extern "C" __global__ void __launch_bounds__(XRAY_THREADS)
xray_pointwise(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
               const float* __restrict__ strength, const float* __restrict__ field,
               const uint64_t* __restrict__ field_off, uint32_t field_mode, MfrRngKey key, uint32_t op,
               uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * XRAY_THREADS + threadIdx.x;
    if (i >= plane * d.channels) return;
    const float v = in[d.offset + i];
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) {
        out[d.offset + i] = v;
        return;
    }
    const uint32_t c = (uint32_t)(i / plane);
    const uint32_t p = (uint32_t)(i % plane);
    const uint32_t y = p / d.width, x = p % d.width;
    float f = 0.0f;
    if (field_mode != MFR_FIELD_NONE) f = field[field_off[blockIdx.y] + mfr_field_index(field_mode, d.width, d.height, c, y, x)];
    float n = 0.0f;
    if (op == MFR_XRAY_UNDEREXPOSURE) n = mfr_rng_normal(key, d.image_id, 0u, p);
    out[d.offset + i] = mfr_finish(mfr_xray_pixel(op, v, f, n, s));
}
