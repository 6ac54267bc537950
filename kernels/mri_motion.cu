// mri_motion over a packed batch (math, layout and block phases: mri_motion.cuh). Two launches
// per strength on one stream, both reading image i's strength from device memory (on-GPU search):
//   mri_motion_rows: D (ramp applied to the uploaded spectra, on the fly) times the w-point
//     twiddle matrix -> G scratch (c x m x w complex per image);
//   mri_motion_cols: G times the h-point twiddle matrix (real part), + x, finish -> out.
// Images flagged for the radix-2 path (meta word MFR_MOTION_FFT) are skipped by these two and
// handled by mri_motion_rows_fft / mri_motion_cols_fft (end of file), launched on the same stream.
// Both direct kernels are tiled matrix products: a block (32 x 8 threads) stages a chunk of the left operand and
// of the twiddle matrix in static shared memory (24 KiB / 16 KiB) and every thread accumulates
// several outputs in registers, in ascending k order. Grid: x = tiles of the largest image
// (channel-major), y = image; blocks past an image's tiles return before any barrier (the whole
// block at once). Strength <= 0 (or NaN): pass 1 does nothing, pass 2 copies the input.
#include "common.cuh"
#include "mri_motion.cuh"

extern "C" __global__ void __launch_bounds__(MFR_MOTION_THREADS)
mri_motion_rows(const MfrImageDesc* __restrict__ descs, const float* __restrict__ strength,
                const MfrC64* __restrict__ spectra, const uint64_t* __restrict__ meta,
                const uint32_t* __restrict__ row_ky, const double* __restrict__ row_u,
                const MfrC64* __restrict__ twiddles, MfrC64* __restrict__ g, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t* mt = meta + (uint64_t)blockIdx.y * MFR_MOTION_META_WORDS;
    if (mt[MFR_MOTION_FFT] != 0) return;  // uniform per image: the whole block returns
    const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
    MfrMotionBlock b;
    if (!mfr_motion_block(blockIdx.x, d.channels, d.width, m, MFR_MOTION_P1_X, MFR_MOTION_P1_J, &b)) return;
    const double s_px = mfr_motion_scale(s, d.width, d.height);
    const MfrC64* plane = spectra + d.offset + (uint64_t)b.c * d.width * d.height;
    const uint64_t rows_off = mt[MFR_MOTION_ROWS_OFF];
    const uint32_t* ky = row_ky + rows_off;
    const double* u = row_u + 2 * rows_off;
    const MfrC64* tw = twiddles + mt[MFR_MOTION_TW_W_OFF];
    const uint32_t tx = threadIdx.x, ty = threadIdx.y, tid = ty * MFR_MOTION_BX + tx;

    __shared__ MfrMotionRowsTile tile;
    MfrC64 acc[4][2];
MFR_UNROLL
    for (int r = 0; r < 4; ++r) {
        mfr_c64_zero(&acc[r][0]);
        mfr_c64_zero(&acc[r][1]);
    }
    for (uint32_t k0 = 0; k0 < d.width; k0 += MFR_MOTION_P1_K) {
        mfr_motion_rows_stage(&tile, tid, k0, b, m, d.width, d.height, plane, ky, u, tw, s_px);
        __syncthreads();
        mfr_motion_rows_accumulate(&tile, tx, ty, acc);
        __syncthreads();
    }
    mfr_motion_rows_store(g + mt[MFR_MOTION_G_OFF] + (uint64_t)b.c * m * d.width, tx, ty, b, m, d.width, acc);
}

extern "C" __global__ void __launch_bounds__(MFR_MOTION_THREADS)
mri_motion_cols(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
                const float* __restrict__ strength, const uint64_t* __restrict__ meta,
                const uint32_t* __restrict__ row_ky, const MfrC64* __restrict__ twiddles,
                const MfrC64* __restrict__ g, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint64_t* mt = meta + (uint64_t)blockIdx.y * MFR_MOTION_META_WORDS;
    if (mt[MFR_MOTION_FFT] != 0) return;  // uniform per image: the whole block returns
    MfrMotionBlock b;
    if (!mfr_motion_block(blockIdx.x, d.channels, d.width, d.height, MFR_MOTION_P2_X, MFR_MOTION_P2_Y, &b)) return;
    const uint32_t tx = threadIdx.x, ty = threadIdx.y, tid = ty * MFR_MOTION_BX + tx;
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) {  // uniform per image, so the whole block returns
        mfr_motion_cols_copy(in, out, d, b, tx, ty);
        return;
    }
    const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
    const MfrC64* gp = g + mt[MFR_MOTION_G_OFF] + (uint64_t)b.c * m * d.width;
    const uint32_t* ky = row_ky + mt[MFR_MOTION_ROWS_OFF];
    const MfrC64* tw = twiddles + mt[MFR_MOTION_TW_H_OFF];

    __shared__ MfrMotionColsTile tile;
    double acc[4] = {0.0, 0.0, 0.0, 0.0};
    for (uint32_t j0 = 0; j0 < m; j0 += MFR_MOTION_P2_J) {
        mfr_motion_cols_stage(&tile, tid, j0, b, m, d.width, d.height, gp, ky, tw);
        __syncthreads();
        mfr_motion_cols_accumulate(&tile, tx, ty, acc);
        __syncthreads();
    }
    mfr_motion_cols_store(in, out, d, b, tx, ty, acc);
}

// Radix-2 path, pass 1: block (blockIdx.x = c m + j, blockIdx.y = image) transforms k-space row
// ky_j of channel c into G[j, :]. Blocks of direct-path images, past c * m, or of an image at
// strength <= 0 return before any barrier (uniform per block).
extern "C" __global__ void __launch_bounds__(MFR_MOTION_THREADS)
mri_motion_rows_fft(const MfrImageDesc* __restrict__ descs, const float* __restrict__ strength,
                    const MfrC64* __restrict__ spectra, const uint64_t* __restrict__ meta,
                    const uint32_t* __restrict__ row_ky, const double* __restrict__ row_u,
                    const MfrC64* __restrict__ twiddles, MfrC64* __restrict__ g, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const uint64_t* mt = meta + (uint64_t)blockIdx.y * MFR_MOTION_META_WORDS;
    if (mt[MFR_MOTION_FFT] == 0) return;
    const float s = strength[blockIdx.y];
    if (!(s > 0.0f)) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
    if (blockIdx.x >= d.channels * m) return;
    const uint32_t c = blockIdx.x / m, j = blockIdx.x % m;
    const uint32_t tid = threadIdx.y * MFR_MOTION_BX + threadIdx.x;
    const uint64_t rows_off = mt[MFR_MOTION_ROWS_OFF];
    const MfrC64* plane = spectra + d.offset + (uint64_t)c * d.width * d.height;
    const MfrC64* tw = twiddles + mt[MFR_MOTION_TW_W_OFF];
    __shared__ MfrC64 a[MFR_MOTION_FFT_MAX];
    mfr_motion_fft_load_row(a, tid, plane, d.width, d.height, row_ky[rows_off + j], row_u[2 * (rows_off + j)],
                            row_u[2 * (rows_off + j) + 1], mfr_motion_scale(s, d.width, d.height));
    __syncthreads();
    for (uint32_t len = 2; len <= d.width; len <<= 1) {
        mfr_fft_stage(a, tid, d.width, len, tw);
        __syncthreads();
    }
    mfr_motion_fft_store_row(g + mt[MFR_MOTION_G_OFF] + ((uint64_t)c * m + j) * d.width, a, tid, d.width);
}

// Radix-2 path, pass 2: block (blockIdx.x = c w + x, blockIdx.y = image) transforms column x of
// channel c's G and writes that column of the output (a copy at strength <= 0). Blocks of
// direct-path images or past c * w return before any barrier.
extern "C" __global__ void __launch_bounds__(MFR_MOTION_THREADS)
mri_motion_cols_fft(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
                    const float* __restrict__ strength, const uint64_t* __restrict__ meta,
                    const uint32_t* __restrict__ row_ky, const MfrC64* __restrict__ twiddles,
                    const MfrC64* __restrict__ g, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const uint64_t* mt = meta + (uint64_t)blockIdx.y * MFR_MOTION_META_WORDS;
    if (mt[MFR_MOTION_FFT] == 0) return;
    const MfrImageDesc d = descs[blockIdx.y];
    if (blockIdx.x >= d.channels * d.width) return;
    const uint32_t c = blockIdx.x / d.width, x = blockIdx.x % d.width;
    const uint32_t tid = threadIdx.y * MFR_MOTION_BX + threadIdx.x;
    if (!(strength[blockIdx.y] > 0.0f)) {
        mfr_motion_fft_copy_col(in, out, d, c, x, tid);
        return;
    }
    const uint32_t m = (uint32_t)mt[MFR_MOTION_ROWS];
    const MfrC64* gp = g + mt[MFR_MOTION_G_OFF] + (uint64_t)c * m * d.width;
    const MfrC64* tw = twiddles + mt[MFR_MOTION_TW_H_OFF];
    __shared__ MfrC64 a[MFR_MOTION_FFT_MAX];
    mfr_motion_fft_zero(a, tid, d.height);
    __syncthreads();
    mfr_motion_fft_scatter_col(a, tid, gp, m, d.width, d.height, row_ky + mt[MFR_MOTION_ROWS_OFF], x);
    __syncthreads();
    for (uint32_t len = 2; len <= d.height; len <<= 1) {
        mfr_fft_stage(a, tid, d.height, len, tw);
        __syncthreads();
    }
    mfr_motion_fft_store_col(in, out, d, c, x, a, tid);
}
