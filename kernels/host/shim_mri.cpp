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

// mri_motion (kernels/mri_motion.cuh): the whole batch through kernels/mri_motion.cu's four
// kernels, emulated block by block: every block of the grids the wrapper launches (grid.x =
// `blocks_rows` / `blocks_cols` for the direct path, `fft_rows` / `fft_cols` for the radix-2 path,
// grid.y = image; a zero extent is not launched), each phase between two barriers run for the
// block's 256 threads in turn, with the kernels' own phase functions and early returns. Same packed
// inputs as the device (src/backend/motion_pack.rs); `g` is the G scratch (`scratch_len` values).
#include "../mri_motion.cuh"
#include <vector>

// The kernel's limits and table width, for the check against src/backend/motion_pack.rs:
// out[0] = MFR_MOTION_META_WORDS, out[1] = MFR_MOTION_FFT_MAX, out[2] = MFR_MOTION_MAX_SIDE.
extern "C" void mfr_host_motion_constants(uint64_t out[3]) {
    out[0] = MFR_MOTION_META_WORDS;
    out[1] = MFR_MOTION_FFT_MAX;
    out[2] = MFR_MOTION_MAX_SIDE;
}

extern "C" void mfr_host_mri_motion(const float* in, float* out, const MfrImageDesc* descs, uint32_t n_images,
                                    const float* strength, const MfrC64* spectra, const uint64_t* meta,
                                    const uint32_t* row_ky, const double* row_u, const MfrC64* twiddles, MfrC64* g,
                                    uint32_t blocks_rows, uint32_t blocks_cols, uint32_t fft_rows, uint32_t fft_cols) {
    const uint32_t nt = MFR_MOTION_THREADS;
    std::vector<MfrMotionRowsTile> rows_tile(1);
    std::vector<MfrMotionColsTile> cols_tile(1);
    // pass 1: mri_motion_rows over grid (blocks_rows, n_images)
    for (uint32_t img = 0; img < n_images; ++img) {
        const float s = strength[img];
        if (!(s > 0.0f)) continue;
        const MfrImageDesc d = descs[img];
        const uint64_t* mt = meta + (uint64_t)img * MFR_MOTION_META_WORDS;
        if (mt[MFR_MOTION_FFT] != 0) continue;
        const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
        const double s_px = mfr_motion_scale(s, d.width, d.height);
        const uint64_t rows_off = mt[MFR_MOTION_ROWS_OFF];
        for (uint32_t bx = 0; bx < blocks_rows; ++bx) {
            MfrMotionBlock b;
            if (!mfr_motion_block(bx, d.channels, d.width, m, MFR_MOTION_P1_X, MFR_MOTION_P1_J, &b)) continue;
            const MfrC64* plane = spectra + d.offset + (uint64_t)b.c * d.width * d.height;
            std::vector<MfrC64> acc(nt * 8);
            for (auto& a : acc) mfr_c64_zero(&a);
            for (uint32_t k0 = 0; k0 < d.width; k0 += MFR_MOTION_P1_K) {
                for (uint32_t tid = 0; tid < nt; ++tid)
                    mfr_motion_rows_stage(&rows_tile[0], tid, k0, b, m, d.width, d.height, plane, row_ky + rows_off,
                                          row_u + 2 * rows_off, twiddles + mt[MFR_MOTION_TW_W_OFF], s_px);
                for (uint32_t tid = 0; tid < nt; ++tid)
                    mfr_motion_rows_accumulate(&rows_tile[0], tid % MFR_MOTION_BX, tid / MFR_MOTION_BX,
                                               reinterpret_cast<MfrC64(*)[2]>(&acc[tid * 8]));
            }
            for (uint32_t tid = 0; tid < nt; ++tid)
                mfr_motion_rows_store(g + mt[MFR_MOTION_G_OFF] + (uint64_t)b.c * m * d.width, tid % MFR_MOTION_BX,
                                      tid / MFR_MOTION_BX, b, m, d.width, reinterpret_cast<MfrC64(*)[2]>(&acc[tid * 8]));
        }
    }
    // pass 2: mri_motion_cols over grid (blocks_cols, n_images)
    for (uint32_t img = 0; img < n_images; ++img) {
        const MfrImageDesc d = descs[img];
        const float s = strength[img];
        const uint64_t* mt = meta + (uint64_t)img * MFR_MOTION_META_WORDS;
        if (mt[MFR_MOTION_FFT] != 0) continue;
        for (uint32_t bx = 0; bx < blocks_cols; ++bx) {
            MfrMotionBlock b;
            if (!mfr_motion_block(bx, d.channels, d.width, d.height, MFR_MOTION_P2_X, MFR_MOTION_P2_Y, &b)) continue;
            if (!(s > 0.0f)) {
                for (uint32_t tid = 0; tid < nt; ++tid) mfr_motion_cols_copy(in, out, d, b, tid % MFR_MOTION_BX, tid / MFR_MOTION_BX);
                continue;
            }
            const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
            const MfrC64* gp = g + mt[MFR_MOTION_G_OFF] + (uint64_t)b.c * m * d.width;
            std::vector<double> acc(nt * 4, 0.0);
            for (uint32_t j0 = 0; j0 < m; j0 += MFR_MOTION_P2_J) {
                for (uint32_t tid = 0; tid < nt; ++tid)
                    mfr_motion_cols_stage(&cols_tile[0], tid, j0, b, m, d.width, d.height, gp,
                                          row_ky + mt[MFR_MOTION_ROWS_OFF], twiddles + mt[MFR_MOTION_TW_H_OFF]);
                for (uint32_t tid = 0; tid < nt; ++tid)
                    mfr_motion_cols_accumulate(&cols_tile[0], tid % MFR_MOTION_BX, tid / MFR_MOTION_BX, &acc[tid * 4]);
            }
            for (uint32_t tid = 0; tid < nt; ++tid)
                mfr_motion_cols_store(in, out, d, b, tid % MFR_MOTION_BX, tid / MFR_MOTION_BX, &acc[tid * 4]);
        }
    }
    // radix-2 pass 1: mri_motion_rows_fft over grid (fft_rows, n_images)
    std::vector<MfrC64> a(MFR_MOTION_FFT_MAX);
    for (uint32_t img = 0; img < n_images; ++img) {
        const uint64_t* mt = meta + (uint64_t)img * MFR_MOTION_META_WORDS;
        const float s = strength[img];
        if (mt[MFR_MOTION_FFT] == 0 || !(s > 0.0f)) continue;
        const MfrImageDesc d = descs[img];
        const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
        const uint64_t rows_off = mt[MFR_MOTION_ROWS_OFF];
        const MfrC64* tw = twiddles + mt[MFR_MOTION_TW_W_OFF];
        for (uint32_t bx = 0; bx < fft_rows; ++bx) {
            if (bx >= d.channels * m) continue;
            const uint32_t c = bx / m, j = bx % m;
            const MfrC64* plane = spectra + d.offset + (uint64_t)c * d.width * d.height;
            for (uint32_t tid = 0; tid < nt; ++tid)
                mfr_motion_fft_load_row(a.data(), tid, plane, d.width, d.height, row_ky[rows_off + j],
                                        row_u[2 * (rows_off + j)], row_u[2 * (rows_off + j) + 1],
                                        mfr_motion_scale(s, d.width, d.height));
            for (uint32_t len = 2; len <= d.width; len <<= 1)
                for (uint32_t tid = 0; tid < nt; ++tid) mfr_fft_stage(a.data(), tid, d.width, len, tw);
            for (uint32_t tid = 0; tid < nt; ++tid)
                mfr_motion_fft_store_row(g + mt[MFR_MOTION_G_OFF] + ((uint64_t)c * m + j) * d.width, a.data(), tid, d.width);
        }
    }
    // radix-2 pass 2: mri_motion_cols_fft over grid (fft_cols, n_images)
    for (uint32_t img = 0; img < n_images; ++img) {
        const uint64_t* mt = meta + (uint64_t)img * MFR_MOTION_META_WORDS;
        if (mt[MFR_MOTION_FFT] == 0) continue;
        const MfrImageDesc d = descs[img];
        const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
        const MfrC64* tw = twiddles + mt[MFR_MOTION_TW_H_OFF];
        for (uint32_t bx = 0; bx < fft_cols; ++bx) {
            if (bx >= d.channels * d.width) continue;
            const uint32_t c = bx / d.width, x = bx % d.width;
            if (!(strength[img] > 0.0f)) {
                for (uint32_t tid = 0; tid < nt; ++tid) mfr_motion_fft_copy_col(in, out, d, c, x, tid);
                continue;
            }
            const MfrC64* gp = g + mt[MFR_MOTION_G_OFF] + (uint64_t)c * m * d.width;
            for (uint32_t tid = 0; tid < nt; ++tid) mfr_motion_fft_zero(a.data(), tid, d.height);
            for (uint32_t tid = 0; tid < nt; ++tid)
                mfr_motion_fft_scatter_col(a.data(), tid, gp, m, d.width, d.height, row_ky + mt[MFR_MOTION_ROWS_OFF], x);
            for (uint32_t len = 2; len <= d.height; len <<= 1)
                for (uint32_t tid = 0; tid < nt; ++tid) mfr_fft_stage(a.data(), tid, d.height, len, tw);
            for (uint32_t tid = 0; tid < nt; ++tid) mfr_motion_fft_store_col(in, out, d, c, x, a.data(), tid);
        }
    }
}
