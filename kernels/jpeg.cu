// jpeg over a packed batch: one block of 256 threads per 16 x 16 pixel tile runs the whole codec
// round trip of kernels/jpeg.cuh in shared memory (encoder colour conversion, 4:2:0 point
// sampling, FDCT, quantisation with the quality-scaled Annex K tables, dequantisation, IDCT,
// fancy upsampling, YCbCr -> RGB), bit-identical to the CPU's jpeg-encoder + zune-jpeg round
// trip. RGB tiles are MCUs; the chroma upsampling filter reads one decoded chroma sample beyond
// the MCU on each side, so each tile also decodes its 8 neighbouring chroma blocks (recomputed
// per tile: one kernel, no scratch plane, 22 block transforms instead of 6 per MCU).
// Image i's quality comes from strength[i] on the device; s <= 0 copies the input (the CPU
// returns the clean image unchanged). grid = (max tiles of the batch, n_images).
#include "common.cuh"
#include "jpeg.cuh"

__constant__ uint8_t c_jpeg_base_tables[128] = MFR_JPEG_BASE_TABLES;

// One thread per tile pixel in the store stage; every other stage strides over its tasks.
static_assert(MFR_JPEG_THREADS == MFR_JPEG_TILE * MFR_JPEG_TILE, "jpeg: one thread per tile pixel");

extern "C" __global__ void __launch_bounds__(MFR_JPEG_THREADS)
jpeg(const float* __restrict__ in, float* __restrict__ out, const MfrImageDesc* __restrict__ descs,
     const float* __restrict__ strength, uint32_t n_images) {
    if (blockIdx.y >= n_images) return;
    const MfrImageDesc d = descs[blockIdx.y];
    const uint32_t tiles = mfr_jpeg_tiles_x(d.width) * ((d.height + MFR_JPEG_TILE - 1) / MFR_JPEG_TILE);
    // Uniform per block: every return before the first barrier is taken by the whole block.
    if (blockIdx.x >= tiles) return;
    const MfrJpegGeom g = mfr_jpeg_geom(d.width, d.height, d.channels, blockIdx.x);
    const float* src = in + d.offset;
    float* dst = out + d.offset;
    const float s = strength[blockIdx.y];
    const uint32_t tid = threadIdx.x;

    if (s <= 0.0f || (d.channels != 1u && d.channels != 3u)) {
        // Identity (the CPU returns the clean image itself); other channel counts never reach
        // here (the host wrapper rejects them, as the CPU `prepare` does).
        const uint32_t x = g.tx * MFR_JPEG_TILE + tid % MFR_JPEG_TILE, y = g.ty * MFR_JPEG_TILE + tid / MFR_JPEG_TILE;
        if (x < g.w && y < g.h) {
            const uint64_t plane = (uint64_t)g.w * g.h, idx = (uint64_t)y * g.w + x;
            for (uint32_t c = 0; c < d.channels; ++c) dst[c * plane + idx] = src[c * plane + idx];
        }
        return;
    }

    __shared__ MfrJpegTile t;
    const uint32_t quality = mfr_jpeg_quality(s);
    const uint32_t nb = mfr_jpeg_blocks(g);

    if (tid < 128u) mfr_jpeg_stage_tables(&t, tid, quality, c_jpeg_base_tables);
    for (uint32_t k = tid; k < nb * 64u; k += MFR_JPEG_THREADS) mfr_jpeg_stage_load(&t, src, g, k);
    __syncthreads();
    for (uint32_t k = tid; k < nb * 8u; k += MFR_JPEG_THREADS) mfr_jpeg_stage_fdct_rows(&t, g, k);
    __syncthreads();
    for (uint32_t k = tid; k < nb * 8u; k += MFR_JPEG_THREADS) mfr_jpeg_stage_fdct_cols(&t, g, k);
    __syncthreads();
    for (uint32_t k = tid; k < nb * 64u; k += MFR_JPEG_THREADS) mfr_jpeg_stage_quantize(&t, g, k);
    __syncthreads();
    for (uint32_t k = tid; k < nb * 8u; k += MFR_JPEG_THREADS) mfr_jpeg_stage_idct_cols(&t, g, k);
    __syncthreads();
    for (uint32_t k = tid; k < nb * 8u; k += MFR_JPEG_THREADS) mfr_jpeg_stage_idct_rows(&t, g, k);
    __syncthreads();
    mfr_jpeg_stage_store(&t, g, dst, tid);
}
