// Host-math shim: the kernels' `__host__ __device__` functions (kernels/*.cuh) compiled by the
// host C++ compiler (build.rs, flags -ffp-contract=off, no fast-math) and exposed through
// extern "C" to tests/cuda_host_math.rs, which checks them against the Rust CPU implementation on
// machines without a GPU. Nothing in the library calls these functions.
#include "../common.cuh"
#include "../ssim.cuh"
#include "../noise.cuh"
#include "../blur.cuh"
#include "../pixelate.cuh"
#include <stddef.h>

extern "C" {

// sizeof / offsetof of the shared parameter structs as the C compiler lays them out, for the
// layout test against src/backend/params.rs. Order: see tests/cuda_host_math.rs `c_layout`.
void mfr_host_layout(uint64_t out[12]) {
    out[0] = sizeof(MfrImageDesc);
    out[1] = offsetof(MfrImageDesc, width);
    out[2] = offsetof(MfrImageDesc, channels);
    out[3] = offsetof(MfrImageDesc, image_id);
    out[4] = sizeof(MfrRngKey);
    out[5] = offsetof(MfrRngKey, perturbation_id);
    out[6] = sizeof(MfrSsimParams);
    out[7] = offsetof(MfrSsimParams, c1);
    out[8] = offsetof(MfrSsimParams, cov_norm);
    out[9] = offsetof(MfrSsimParams, radius);
    out[10] = offsetof(MfrSsimParams, n_images);
    out[11] = alignof(MfrImageDesc);
}

void mfr_host_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    MfrU32x4 c = {ctr[0], ctr[1], ctr[2], ctr[3]};
    MfrU32x4 r = mfr_philox4x32_10(c, key[0], key[1]);
    out[0] = r.x;
    out[1] = r.y;
    out[2] = r.z;
    out[3] = r.w;
}

float mfr_host_unit_f32(uint32_t w) { return mfr_unit_f32(w); }

void mfr_host_box_muller(uint32_t w0, uint32_t w1, float* z0, float* z1) {
    mfr_box_muller(w0, w1, z0, z1);
}

float mfr_host_rng_normal(MfrRngKey k, uint32_t image_id, uint32_t stream, uint32_t index) {
    return mfr_rng_normal(k, image_id, stream, index);
}

float mfr_host_rng_uniform(MfrRngKey k, uint32_t image_id, uint32_t stream, uint32_t index) {
    return mfr_rng_uniform(k, image_id, stream, index);
}

int32_t mfr_host_reflect_index(int32_t i, int32_t n) { return mfr_reflect_index(i, n); }

float mfr_host_clip01(float v) { return mfr_clip01(v); }

double mfr_host_ssim_from_moments(MfrMoments m, double c1, double c2, double cov_norm) {
    return mfr_ssim_from_moments(m, c1, c2, cov_norm);
}

float mfr_host_gaussian_noise(float x, float n, float s) { return mfr_gaussian_noise(x, n, s); }
float mfr_host_speckle_noise(float x, float n, float s) { return mfr_speckle_noise(x, n, s); }
float mfr_host_salt_pepper_value(float u, float v, float s) { return mfr_salt_pepper_value(u, v, s); }
float mfr_host_brightness_grey(float x, float s) { return mfr_brightness_grey(x, s); }
float mfr_host_brightness_rgb(float x, float v, float s) { return mfr_brightness_rgb(x, v, s); }
float mfr_host_contrast(float x, float mean, float s) { return mfr_contrast(x, mean, s); }

// Both blur passes over one w x h plane, as kernels/blur.cu does (then clipped); `tmp` and
// `out` hold w * h floats, taps 2r + 1.
void mfr_host_blur_plane(const float* in, float* tmp, float* out, int32_t w, int32_t h,
                         const float* taps, int32_t r) {
    for (int32_t y = 0; y < h; ++y)
        for (int32_t x = 0; x < w; ++x) tmp[(size_t)y * w + x] = mfr_blur_row_pixel(in + (size_t)y * w, w, x, taps, r);
    for (int32_t y = 0; y < h; ++y)
        for (int32_t x = 0; x < w; ++x) out[(size_t)y * w + x] = mfr_clip01(mfr_blur_col_pixel(tmp, w, h, x, y, taps, r));
}

// gaussian_blur's device-built taps (blur.cuh `mfr_gaussian_taps`, as kernels/blur.cu `blur_taps`
// calls it): writes 2r + 1 taps, returns r.
int32_t mfr_host_gaussian_taps(float s, int32_t max_r, float* taps) { return mfr_gaussian_taps((double)s, 4.0, max_r, taps); }

uint32_t mfr_host_pixelate_block(float s) { return mfr_pixelate_block(s); }

// pixelate's warp-per-cell path (kernels/pixelate.cu, 8 <= b <= 64): the row sums as the lanes
// compute them (lane l: rows y0 + l, y0 + l + 32, ...), then added in row order by lane 0.
float mfr_host_pixelate_block_mean_by_warp(const float* plane, uint32_t w, uint32_t h, uint32_t x0, uint32_t y0,
                                           uint32_t b) {
    uint32_t x1 = x0 + b < w ? x0 + b : w;
    uint32_t y1 = y0 + b < h ? y0 + b : h;
    double rows[64];
    for (uint32_t lane = 0; lane < 32; ++lane)
        for (uint32_t y = y0 + lane; y < y1; y += 32u) rows[y - y0] = mfr_pixelate_row_sum(plane, w, y, x0, x1);
    double sum = 0.0;
    for (uint32_t k = 0; k < y1 - y0; ++k) sum += rows[k];
    return mfr_pixelate_mean(sum, (x1 - x0) * (y1 - y0));
}
float mfr_host_pixelate_block_mean(const float* plane, uint32_t w, uint32_t h, uint32_t x0, uint32_t y0,
                                   uint32_t b) {
    return mfr_pixelate_block_mean(plane, w, h, x0, y0, b);
}

}  // extern "C"
