// Host-math shim of kernels/jpeg.cuh (see kernels/host/shim.cpp), for
// tests/cuda_host_math_jpeg.rs: the whole jpeg kernel on one image, the stages of kernels/jpeg.cu
// run as plain loops in the kernel's order (one tile after the other; within a stage the task
// order does not matter, see jpeg.cuh).
#include "../common.cuh"
#include "../jpeg.cuh"
#include <stdlib.h>

extern "C" {

uint32_t mfr_host_jpeg_quality(float s) { return mfr_jpeg_quality(s); }

// One planar image (c * h * w samples, c = 1 or 3) through the jpeg kernel at strength s.
// Returns 0, or 1 if the scratch tile could not be allocated (out untouched then).
int mfr_host_jpeg(const float* in, float* out, uint32_t w, uint32_t h, uint32_t c, float s) {
    static const uint8_t base[128] = MFR_JPEG_BASE_TABLES;
    const uint64_t n = (uint64_t)w * h * c;
    if (s <= 0.0f || (c != 1u && c != 3u)) {
        for (uint64_t i = 0; i < n; ++i) out[i] = in[i];
        return 0;
    }
    MfrJpegTile* t = (MfrJpegTile*)malloc(sizeof(MfrJpegTile));
    if (!t) return 1;
    const uint32_t tiles = mfr_jpeg_tiles_x(w) * ((h + MFR_JPEG_TILE - 1) / MFR_JPEG_TILE);
    const uint32_t quality = mfr_jpeg_quality(s);
    for (uint32_t tile = 0; tile < tiles; ++tile) {
        const MfrJpegGeom g = mfr_jpeg_geom(w, h, c, tile);
        const uint32_t nb = mfr_jpeg_blocks(g);
        for (uint32_t k = 0; k < 128u; ++k) mfr_jpeg_stage_tables(t, k, quality, base);
        for (uint32_t k = 0; k < nb * 64u; ++k) mfr_jpeg_stage_load(t, in, g, k);
        for (uint32_t k = 0; k < nb * 8u; ++k) mfr_jpeg_stage_fdct_rows(t, g, k);
        for (uint32_t k = 0; k < nb * 8u; ++k) mfr_jpeg_stage_fdct_cols(t, g, k);
        for (uint32_t k = 0; k < nb * 64u; ++k) mfr_jpeg_stage_quantize(t, g, k);
        for (uint32_t k = 0; k < nb * 8u; ++k) mfr_jpeg_stage_idct_cols(t, g, k);
        for (uint32_t k = 0; k < nb * 8u; ++k) mfr_jpeg_stage_idct_rows(t, g, k);
        for (uint32_t k = 0; k < MFR_JPEG_THREADS; ++k) mfr_jpeg_stage_store(t, g, out, k);
    }
    free(t);
    return 0;
}

}  // extern "C"
