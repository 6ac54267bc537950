// mri_motion over a packed batch (math and layout: mri_motion.cuh). Two launches per strength
// on one stream, both reading image i's strength from device memory (on-GPU search):
//   mri_motion_rows: D (ramp applied to the uploaded spectra, on the fly) times the w-point
//     twiddle matrix -> G scratch (c x m x w complex per image);
//   mri_motion_cols: G times the h-point twiddle matrix (real part), + x, finish -> out.
// Both are tiled matrix products: a block (32 x 8 threads) stages a chunk of the left operand and
// of the twiddle matrix in shared memory (static, 24 KiB / 16 KiB) and every thread accumulates
// several outputs in registers, in ascending k order (the host shim's order). Grid: x = tiles of
// the largest image (channel-major), y = image; blocks past an image's tiles return before any
// barrier (the whole block at once). Strength <= 0 (or NaN): pass 1 does nothing, pass 2 copies.
#include "common.cuh"
#include "mri_motion.cuh"

#define MOTION_THREADS 256  // MFR_MOTION_BX * MFR_MOTION_BY

extern "C" __global__ void __launch_bounds__(MOTION_THREADS)
mri_motion_rows(const MfrImageDesc* __restrict__ descs, const float* __restrict__ strength,
                const MfrC64* __restrict__ spectra, const uint64_t* __restrict__ meta,
                const uint32_t* __restrict__ row_ky, const double* __restrict__ row_u,
                const MfrC64* __restrict__ twiddles, MfrC64* __restrict__ g, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t* mt = meta + (uint64_t)blockIdx.y * MFR_MOTION_META_WORDS;
    const uint32_t w = d.width, h = d.height;
    const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
    const uint32_t tiles_x = (w + MFR_MOTION_P1_X - 1u) / MFR_MOTION_P1_X;
    const uint32_t tiles_j = (m + MFR_MOTION_P1_J - 1u) / MFR_MOTION_P1_J;
    if ((uint64_t)blockIdx.x >= (uint64_t)d.channels * tiles_j * tiles_x) return;  // whole block
    const uint32_t x0 = (blockIdx.x % tiles_x) * MFR_MOTION_P1_X;
    const uint32_t rest = blockIdx.x / tiles_x;
    const uint32_t j0 = (rest % tiles_j) * MFR_MOTION_P1_J;
    const uint32_t c = rest / tiles_j;

    const double s_px = mfr_motion_scale(s, w, h);
    const MfrC64* plane = spectra + d.offset + (uint64_t)c * w * h;
    const MfrC64* tw = twiddles + mt[MFR_MOTION_TW_W_OFF];
    const uint64_t rows_off = mt[MFR_MOTION_ROWS_OFF];
    const uint32_t tx = threadIdx.x, ty = threadIdx.y;
    const uint32_t tid = ty * MFR_MOTION_BX + tx;

    __shared__ MfrC64 sd[MFR_MOTION_P1_J][MFR_MOTION_P1_K];  // D chunk: rows x kx
    __shared__ MfrC64 sw[MFR_MOTION_P1_K][MFR_MOTION_P1_X];  // twiddles: kx x columns
    MfrC64 acc[4][2];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        acc[r][0].re = acc[r][0].im = 0.0;
        acc[r][1].re = acc[r][1].im = 0.0;
    }
    for (uint32_t k0 = 0; k0 < w; k0 += MFR_MOTION_P1_K) {
        for (uint32_t e = tid; e < MFR_MOTION_P1_J * MFR_MOTION_P1_K; e += MOTION_THREADS) {
            const uint32_t jj = e / MFR_MOTION_P1_K, kk = e % MFR_MOTION_P1_K;
            const uint32_t j = j0 + jj, kx = k0 + kk;
            MfrC64 v;
            v.re = v.im = 0.0;
            if (j < m && kx < w) {
                const uint64_t r = rows_off + j;
                v = mfr_motion_sample(plane, w, h, row_ky[r], row_u[2 * r], row_u[2 * r + 1], s_px, kx);
            }
            sd[jj][kk] = v;
        }
        for (uint32_t e = tid; e < MFR_MOTION_P1_K * MFR_MOTION_P1_X; e += MOTION_THREADS) {
            const uint32_t kk = e / MFR_MOTION_P1_X, xx = e % MFR_MOTION_P1_X;
            const uint32_t kx = k0 + kk, x = x0 + xx;
            MfrC64 t;
            t.re = t.im = 0.0;
            if (kx < w && x < w) t = tw[mfr_twiddle_index(kx, x, w)];
            sw[kk][xx] = t;
        }
        __syncthreads();
        // Padding entries (kx >= w) are 0 * 0: they add +0.0 and change no sum.
#pragma unroll 4
        for (uint32_t kk = 0; kk < MFR_MOTION_P1_K; ++kk) {
            const MfrC64 w0 = sw[kk][tx];
            const MfrC64 w1 = sw[kk][tx + MFR_MOTION_BX];
#pragma unroll
            for (int r = 0; r < 4; ++r) {
                const MfrC64 dv = sd[ty + MFR_MOTION_BY * r][kk];  // same for the whole warp
                acc[r][0] = mfr_cmac(acc[r][0], dv, w0);
                acc[r][1] = mfr_cmac(acc[r][1], dv, w1);
            }
        }
        __syncthreads();
    }
    MfrC64* gp = g + mt[MFR_MOTION_G_OFF] + (uint64_t)c * m * w;
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const uint32_t j = j0 + ty + MFR_MOTION_BY * r;
        if (j >= m) continue;
        const uint32_t xa = x0 + tx, xb = x0 + tx + MFR_MOTION_BX;
        if (xa < w) gp[(uint64_t)j * w + xa] = acc[r][0];
        if (xb < w) gp[(uint64_t)j * w + xb] = acc[r][1];
    }
}

extern "C" __global__ void __launch_bounds__(MOTION_THREADS)
mri_motion_cols(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
                const float* __restrict__ strength, const uint64_t* __restrict__ meta,
                const uint32_t* __restrict__ row_ky, const MfrC64* __restrict__ twiddles,
                const MfrC64* __restrict__ g, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint32_t w = d.width, h = d.height;
    const uint32_t tiles_x = (w + MFR_MOTION_P2_X - 1u) / MFR_MOTION_P2_X;
    const uint32_t tiles_y = (h + MFR_MOTION_P2_Y - 1u) / MFR_MOTION_P2_Y;
    if ((uint64_t)blockIdx.x >= (uint64_t)d.channels * tiles_y * tiles_x) return;  // whole block
    const uint32_t x0 = (blockIdx.x % tiles_x) * MFR_MOTION_P2_X;
    const uint32_t rest = blockIdx.x / tiles_x;
    const uint32_t y0 = (rest % tiles_y) * MFR_MOTION_P2_Y;
    const uint32_t c = rest / tiles_y;
    const uint32_t tx = threadIdx.x, ty = threadIdx.y;
    const uint32_t tid = ty * MFR_MOTION_BX + tx;
    const uint32_t x = x0 + tx;

    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) {  // the CPU returns x unchanged (no clipping); uniform per image
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const uint32_t y = y0 + ty + MFR_MOTION_BY * r;
            if (x < w && y < h) {
                const uint64_t i = mfr_sample_index(d, c, y, x);
                out[i] = in[i];
            }
        }
        return;
    }
    const uint64_t* mt = meta + (uint64_t)blockIdx.y * MFR_MOTION_META_WORDS;
    const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
    const uint64_t rows_off = mt[MFR_MOTION_ROWS_OFF];
    const MfrC64* gp = g + mt[MFR_MOTION_G_OFF] + (uint64_t)c * m * w;
    const MfrC64* tw = twiddles + mt[MFR_MOTION_TW_H_OFF];

    __shared__ MfrC64 sg[MFR_MOTION_P2_J][MFR_MOTION_P2_X];  // G chunk: rows x columns
    __shared__ MfrC64 st[MFR_MOTION_P2_J][MFR_MOTION_P2_Y];  // twiddles: rows x image rows
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    for (uint32_t j0 = 0; j0 < m; j0 += MFR_MOTION_P2_J) {
        for (uint32_t e = tid; e < MFR_MOTION_P2_J * MFR_MOTION_P2_X; e += MOTION_THREADS) {
            const uint32_t jj = e / MFR_MOTION_P2_X, xx = e % MFR_MOTION_P2_X;
            const uint32_t j = j0 + jj, xg = x0 + xx;
            MfrC64 v;
            v.re = v.im = 0.0;
            if (j < m && xg < w) v = gp[(uint64_t)j * w + xg];
            sg[jj][xx] = v;
        }
        for (uint32_t e = tid; e < MFR_MOTION_P2_J * MFR_MOTION_P2_Y; e += MOTION_THREADS) {
            const uint32_t jj = e / MFR_MOTION_P2_Y, yy = e % MFR_MOTION_P2_Y;
            const uint32_t j = j0 + jj, y = y0 + yy;
            MfrC64 t;
            t.re = t.im = 0.0;
            if (j < m && y < h) t = tw[mfr_twiddle_index(row_ky[rows_off + j], y, h)];
            st[jj][yy] = t;
        }
        __syncthreads();
        // Padding entries (j >= m) are 0 * 0: they add +0.0 and change no sum.
#pragma unroll 4
        for (uint32_t jj = 0; jj < MFR_MOTION_P2_J; ++jj) {
            const MfrC64 gv = sg[jj][tx];
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[r] = mfr_cmac_re(acc[r], gv, st[jj][ty + MFR_MOTION_BY * r]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const uint32_t y = y0 + ty + MFR_MOTION_BY * r;
        if (x < w && y < h) {
            const uint64_t i = mfr_sample_index(d, c, y, x);
            out[i] = mfr_motion_finish(in[i], acc[r], w, h);
        }
    }
}
