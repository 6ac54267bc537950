// Host-math shim of kernels/oct.cuh (see kernels/host/shim.cpp for the scheme): whole-plane loops
// with the kernels' per-pixel functions, for tests/cuda_host_math_oct.rs. Nothing in the library
// calls these functions.
#include "../common.cuh"
#include "../oct.cuh"

extern "C" {


float mfr_host_interval_coverage(float x, float lo, float hi) { return mfr_interval_coverage(x, lo, hi); }

// oct_shadow / oct_blink on one planar image (c planes of w x h) with its segment list.
void mfr_host_oct_shadow(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* cols, float s) {
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) {
                uint64_t at = ((uint64_t)ch * h + y) * w + x;
                out[at] = mfr_gain_apply(in[at], mfr_oct_shadow_gain(cols, x, w, s), s);
            }
}

void mfr_host_oct_blink(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* bands, float s) {
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x) {
                uint64_t at = ((uint64_t)ch * h + y) * w + x;
                out[at] = mfr_gain_apply(in[at], mfr_oct_blink_gain(bands, y, h, s), s);
            }
}

void mfr_host_oct_speckle(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* noise, float s) {
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint64_t p = 0; p < (uint64_t)w * h; ++p) {
            uint64_t at = (uint64_t)ch * w * h + p;
            out[at] = mfr_oct_speckle(in[at], noise[p], s);
        }
}

// oct_motion with the row band factors `rows` (h values), as the kernel: s <= 0 copies.
void mfr_host_oct_motion(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, const float* rows, float s) {
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y) {
            const float* row = in + ((uint64_t)ch * h + y) * w;
            float d = mfr_oct_motion_shift(s, w, rows[y]);
            for (uint32_t x = 0; x < w; ++x)
                out[((uint64_t)ch * h + y) * w + x] = s <= 0.0f ? row[x] : mfr_oct_motion(row, x, w, d);
        }
}

// oct_defocus as the two kernel passes: prefix rows into `scratch` (c h (w + 2 MAX_HALF + 1)
// doubles), weight table, then the disk sums. Returns 0, or 1 if the radius is beyond
// MFR_DISK_MAX_HALF (nothing written).
int mfr_host_oct_defocus(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, double* scratch, float s) {
    uint64_t plane = (uint64_t)w * h;
    if (s <= 0.5f) {
        for (uint64_t i = 0; i < plane * c; ++i) out[i] = in[i];
        return 0;
    }
    int32_t half = mfr_disk_half(s);
    if (half > MFR_DISK_MAX_HALF) return 1;
    if (half == 0) {
        for (uint64_t i = 0; i < plane * c; ++i) out[i] = mfr_clamp01_rust(in[i]);
        return 0;
    }
    uint64_t stride = (uint64_t)w + 2 * MFR_DISK_MAX_HALF + 1;
    for (uint64_t r = 0; r < (uint64_t)c * h; ++r) mfr_disk_prefix_row(in + r * w, (int32_t)w, half, scratch + r * stride);
    float wt[MFR_DISK_MAX_SIDE * MFR_DISK_MAX_SIDE];
    int32_t side = 2 * half + 1;
    for (int32_t k = 0; k < side * side; ++k) wt[k] = mfr_disk_weight(s, k % side - half, k / side - half);
    double inv = mfr_disk_inv_total(wt, half);
    for (uint32_t ch = 0; ch < c; ++ch)
        for (uint32_t y = 0; y < h; ++y)
            for (uint32_t x = 0; x < w; ++x)
                out[((uint64_t)ch * h + y) * w + x] =
                    mfr_clamp01_rust(mfr_disk_sample(scratch + (uint64_t)ch * h * stride, stride, (int32_t)x, (int32_t)y, (int32_t)h, half, wt, inv));
    return 0;
}

}
