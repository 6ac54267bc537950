// CT perturbations with a prepared field over a packed batch (ct.cuh): one thread per sample,
// grid = (ceil(max samples / 256), n_images). `op` selects the perturbation (MFR_CT_*), `param`
// holds one value per image (ct_window_level u), `field`/`field_off`/`field_mode` the prepared
// per-image field (pointwise.cuh), `key` the RNG key for ct_photon_starvation's noise (normal,
// stream 0, plane index: Rng::fill_normal(0, ..)).
#include "common.cuh"
#include "ct.cuh"

#define CT_THREADS 256

extern "C" __global__ void __launch_bounds__(CT_THREADS)
ct_pointwise(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
             const float* __restrict__ strength, const float* __restrict__ param, const float* __restrict__ field,
             const uint64_t* __restrict__ field_off, uint32_t field_mode, MfrRngKey key, uint32_t op,
             uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t plane = (uint64_t)d.width * d.height;
    const uint64_t i = (uint64_t)blockIdx.x * CT_THREADS + threadIdx.x;
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
    if (op == MFR_CT_PHOTON_STARVATION) n = mfr_rng_normal(key, d.image_id, 0u, p);
    out[d.offset + i] = mfr_finish(mfr_ct_pixel(op, v, param[blockIdx.y], f, n, s));
}
