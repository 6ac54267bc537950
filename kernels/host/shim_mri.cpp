// Host-math shim of kernels/mri.cuh (see kernels/host/shim.cpp), for tests/cuda_host_math_mri.rs.
#include "../common.cuh"
#include "../pointwise.cuh"
#include "../mri.cuh"

extern "C" {

float mfr_host_mri_bias_field(float v, float l, float s) { return mfr_finish(mfr_mri_bias_field(v, l, s)); }

// One image through mri.cu's mri_ghosting loop: n samples, ghost component g (same layout).
void mfr_host_mri_ghosting(const float* in, const float* g, float* out, uint64_t n, float s) {
    for (uint64_t i = 0; i < n; ++i) out[i] = s > 0.0f ? mfr_finish(mfr_mri_ghosting(in[i], g[i], s)) : in[i];
}

}  // extern "C"

// mri_motion (kernels/mri_motion.cuh): the whole batch through the two passes of
// kernels/mri_motion.cu, one image after the other, with the same per-output accumulation order
// (pass 1: kx ascending; pass 2: k-space row j ascending) and the same packed inputs
// (src/backend/motion_pack.rs). `g` is the scratch (the packing's `scratch_len` values).
#include "../mri_motion.cuh"
#include <vector>

extern "C" void mfr_host_mri_motion(const float* in, float* out, const MfrImageDesc* descs, uint32_t n_images,
                                    const float* strength, const MfrC64* spectra, const uint64_t* meta,
                                    const uint32_t* row_ky, const double* row_u, const MfrC64* twiddles, MfrC64* g) {
    for (uint32_t i = 0; i < n_images; ++i) {
        const MfrImageDesc d = descs[i];
        const uint32_t w = d.width, h = d.height;
        const uint64_t plane_n = (uint64_t)w * h;
        const float s = strength[i];
        if (!(s > 0.0f)) {
            for (uint64_t k = 0; k < plane_n * d.channels; ++k) out[d.offset + k] = in[d.offset + k];
            continue;
        }
        const uint64_t* mt = meta + (uint64_t)i * MFR_MOTION_META_WORDS;
        const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
        const uint64_t rows_off = mt[MFR_MOTION_ROWS_OFF];
        const MfrC64* tw_w = twiddles + mt[MFR_MOTION_TW_W_OFF];
        const MfrC64* tw_h = twiddles + mt[MFR_MOTION_TW_H_OFF];
        const double s_px = mfr_motion_scale(s, w, h);
        std::vector<MfrC64> drow(w);
        for (uint32_t c = 0; c < d.channels; ++c) {
            const MfrC64* plane = spectra + d.offset + (uint64_t)c * plane_n;
            MfrC64* gp = g + mt[MFR_MOTION_G_OFF] + (uint64_t)c * m * w;
            // pass 1 (mri_motion_rows)
            for (uint32_t j = 0; j < m; ++j) {
                const uint64_t r = rows_off + j;
                for (uint32_t kx = 0; kx < w; ++kx)
                    drow[kx] = mfr_motion_sample(plane, w, h, row_ky[r], row_u[2 * r], row_u[2 * r + 1], s_px, kx);
                for (uint32_t x = 0; x < w; ++x) {
                    MfrC64 acc;
                    acc.re = acc.im = 0.0;
                    for (uint32_t kx = 0; kx < w; ++kx) acc = mfr_cmac(acc, drow[kx], tw_w[mfr_twiddle_index(kx, x, w)]);
                    gp[(uint64_t)j * w + x] = acc;
                }
            }
            // pass 2 (mri_motion_cols)
            for (uint32_t y = 0; y < h; ++y) {
                for (uint32_t x = 0; x < w; ++x) {
                    double acc = 0.0;
                    for (uint32_t j = 0; j < m; ++j)
                        acc = mfr_cmac_re(acc, gp[(uint64_t)j * w + x], tw_h[mfr_twiddle_index(row_ky[rows_off + j], y, h)]);
                    const uint64_t k = mfr_sample_index(d, c, y, x);
                    out[k] = mfr_motion_finish(in[k], acc, w, h);
                }
            }
        }
    }
}
