// Shared driver of the "prepared field + per-pixel formula" medical kernels (kernels/xray.cu,
// kernels/ct.cu). The strength-independent part of a perturbation (a smooth field, a row profile,
// a blurred veil, a geometry map) is computed ONCE on the host by the CPU `prepare` and uploaded;
// the kernel evaluates only the per-pixel formula of `apply(s)`. Noise fields of
// `Rng::fill_normal(0, ..)` are drawn on the device instead (bit-identical Philox, common.cuh).
// Finishing rule, twin of src/perturb/common/grey.rs `map_pixels`: NaN -> 0, then clamp to [0, 1];
// s <= 0 copies the input unchanged (no clipping), as every CPU `apply` does.
#pragma once
#include "common.cuh"

// How the per-image field is indexed (field_off[i] is image i's first element).
#define MFR_FIELD_NONE 0u   // no field
#define MFR_FIELD_PLANE 1u  // w * h values shared by all channels: index y * w + x
#define MFR_FIELD_ROW 2u    // h values: index y
#define MFR_FIELD_FULL 3u   // c * w * h values: index c * w * h + y * w + x

MFR_HD float mfr_finish(float r) {
    if (r != r) return 0.0f;
    return r < 0.0f ? 0.0f : (r > 1.0f ? 1.0f : r);
}

MFR_HD uint64_t mfr_field_index(uint32_t mode, uint32_t w, uint32_t h, uint32_t c, uint32_t y, uint32_t x) {
    switch (mode) {
        case MFR_FIELD_PLANE: return (uint64_t)y * w + x;
        case MFR_FIELD_ROW: return y;
        case MFR_FIELD_FULL: return ((uint64_t)c * h + y) * w + x;
        default: return 0;
    }
}
