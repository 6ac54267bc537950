// Per-block math of the jpeg kernel (kernels/jpeg.cu), shared with the host-math shim
// (kernels/host/shim_jpeg.cpp). Twin: src/perturb/base/jpeg/ (direct.rs: the same emulation on the CPU, checked against
// the real codec round trip of codec.rs byte for byte):
// encoder `jpeg-encoder` 0.6.1 (baseline, standard tables, RGB as YCbCr 4:2:0, grey as one
// luma component), decoder `zune-jpeg` 0.5.15 as the `image` 0.25 crate configures it. Every
// function below is an exact integer emulation of one function of those crates (named in its
// comment), so the GPU output is bit-identical to the CPU round trip, not merely close. Huffman
// coding is lossless and skipped.
//
// Which code paths run on the CPU (checked in the crates' sources):
// - jpeg-encoder: the `simd` feature is off in this build (Cargo.toml asks for the default
//   features only), so the scalar paths run: `rgb_to_ycbcr`, `fdct` (fdct.rs) and
//   `Operations::quantize_block` (encoder.rs).
// - zune-jpeg: the default `x86` feature is on and `DecoderOptions::default()` allows AVX2, so on
//   an AVX2 machine the decoder runs `idct_avx2` / `idct_avx2_4x4`, `upsample_hv_avx2` and
//   `ycbcr_to_rgb_avx2`. Each is a lane-wise transcription of its scalar twin (`idct_int`,
//   `idct4x4`, `idct_int_1x1`; `upsample_hv`; `ycbcr_to_rgb_inner_16_scalar`) with the same
//   integer operations (the i16/u16 saturating packs only clamp values the scalar code clamps to
//   0..255 anyway), so the scalar formulas below describe both. The 1x1 (DC only) and 4x4 IDCT
//   shortcuts the decoder picks per block are algebraically identical to the full 8x8 IDCT in
//   exact integer arithmetic (checked by hand; tests/cuda_host_math_jpeg.rs checks the whole
//   chain bit for bit against the real codec, whatever paths it took).
//
// Differences from a textbook JPEG that are emulated on purpose (they are what the CPU does):
// - 4:2:0 chroma is POINT-sampled by the encoder (`get_block` with stride 2 takes the top-left
//   sample of each 2x2 group), not averaged.
// - Partial MCUs are padded by edge replication (rows clamped to the last row, columns filled with
//   the last sample); the encoder pads after colour conversion, which is per pixel, so padding
//   the RGB input instead gives the same samples.
// - The decoder's chroma upsampling is zune's "fancy" triangle filter: vertical pass
//   (3*near + far + 2) >> 2, rounded, then horizontal pass, rounded, with edge samples replicated
//   at the borders of the PADDED chroma plane (8 * MCU count per side), not at the image border.
//
// Integer conventions: `>>` on negative int32 is an arithmetic shift (what both nvcc and the host
// compilers do, and what Rust's `>>` on i32 is); left shifts of possibly negative values are
// written as multiplications. No intermediate overflows int32 for data that came out of the
// forward DCT of 8-bit samples (|dequantised coefficient| <= ~1200).
#pragma once
#include "common.cuh"

// ---------------------------------------------------------------------------------------------
// Tile layout of the kernel: one CUDA block per 16 x 16 pixel tile. RGB: the tile is one MCU
// (4 luma blocks) plus the 3 x 3 neighbourhood of chroma blocks (per chroma component) whose
// decoded samples the upsampling filter reads. Grey: 4 luma blocks of the 8 x 8 MCU grid.

#define MFR_JPEG_TILE 16
#define MFR_JPEG_THREADS 256
#define MFR_JPEG_LUMA_BLOCKS 4
#define MFR_JPEG_BLOCKS 22  // 4 luma + 2 chroma components x 3 x 3 blocks

// Standard tables of ITU-T T.81 Annex K (K.1 luma, K.2 chroma), natural (row-major) order, as
// jpeg-encoder's `DEFAULT_LUMA_TABLES[0]` / `DEFAULT_CHROMA_TABLES[0]` (quantization.rs). One
// initializer for both copies: the kernel's __constant__ array and the host shim's array.
#define MFR_JPEG_BASE_TABLES                                                                        \
    {16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,                          \
     14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,                          \
     18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,                          \
     49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,                          \
     17, 18, 24, 47, 99,  99,  99,  99,  18, 21, 26, 66, 99,  99,  99,  99,                          \
     24, 26, 56, 99, 99,  99,  99,  99,  47, 66, 99, 99, 99,  99,  99,  99,                          \
     99, 99, 99, 99, 99,  99,  99,  99,  99, 99, 99, 99, 99,  99,  99,  99,                          \
     99, 99, 99, 99, 99,  99,  99,  99,  99, 99, 99, 99, 99,  99,  99,  99}

// ---------------------------------------------------------------------------------------------
// Scalar building blocks.

// Quality at strength s: round(100 - 99 * clamp(s, 0, 1)), clamped to 1..=100, as an integer.
// Twin: src/perturb/base/jpeg/mod.rs `quality` (f32 throughout, no FMA: build flags). NaN gives 0 as
// Rust's `NaN as u8` does; the encoder then clamps 0 to 1 (`mfr_jpeg_table_value`).
MFR_HD uint32_t mfr_jpeg_quality(float s) {
    float c = s < 0.0f ? 0.0f : (s > 1.0f ? 1.0f : s);  // f32::clamp: NaN stays NaN
    float q = roundf(100.0f - 99.0f * c);
    if (q != q) return 0u;
    q = q < 1.0f ? 1.0f : (q > 100.0f ? 100.0f : q);
    return (uint32_t)q;
}

// Quality-scaled table entry (the byte written to the DQT segment, 1..255). Twin: jpeg-encoder
// `QuantizationTable::get_with_quality` (IJG scaling: 5000/q below 50, 200 - 2q from 50 on).
MFR_HD uint32_t mfr_jpeg_table_value(uint32_t base, uint32_t quality) {
    uint32_t q = quality < 1u ? 1u : (quality > 100u ? 100u : quality);
    uint32_t scale = q < 50u ? 5000u / q : 200u - q * 2u;
    uint32_t v = (base * scale + 50u) / 100u;
    return v < 1u ? 1u : (v > 255u ? 255u : v);
}

// Reciprocal and rounding correction for the quantisation divisor (8 x the table value: the
// encoder's DCT output is scaled by 8). Twin: jpeg-encoder `compute_reciprocal` (SHIFT = 15).
MFR_HD void mfr_jpeg_reciprocal(uint32_t divisor, int32_t* recip, int32_t* corr) {
    if (divisor <= 1u) {
        *recip = 1;
        *corr = 0;
        return;
    }
    uint32_t r = 32768u / divisor;
    uint32_t f = 32768u % divisor;
    uint32_t c = divisor / 2u;
    if (f != 0u) {
        if (f <= c) c += 1u;
        else r += 1u;
    }
    *recip = (int32_t)r;
    *corr = (int32_t)c;
}

// Quantise one DCT coefficient: sign(v) * (((|v| + corr) * recip) >> 15). Twin: jpeg-encoder
// `QuantizationTable::quantize` (result fits i16).
MFR_HD int32_t mfr_jpeg_quantize(int32_t v, int32_t recip, int32_t corr) {
    int32_t a = v < 0 ? -v : v;
    int32_t p = ((a + corr) * recip) >> 15;
    return (int32_t)(int16_t)(v < 0 ? -p : p);
}

// Dequantise: the decoded coefficient times the DQT table value. Twin: zune-jpeg
// `BitStream::decode_mcu_block` (`symbol * qt_table[t_pos]`).
MFR_HD int32_t mfr_jpeg_dequantize(int32_t q, int32_t table_value) {
    return q * table_value;
}

// Clean sample -> encoder input byte: NaN -> 0, clamp to [0, 1], round(v * 255) half away from
// zero. Twin: `Image::quantised(U8)` followed by `(v * 255).round() as u8` in jpeg.rs `prepare`
// (k / 255 * 255 rounds back to k exactly in f32, so the two roundings are one).
MFR_HD int32_t mfr_jpeg_sample_u8(float v) {
    if (v != v) v = 0.0f;
    v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    return (int32_t)roundf(v * 255.0f);
}

// RGB -> YCbCr, 16-bit fixed point with rounding. Twin: jpeg-encoder `rgb_to_ycbcr`
// (image_buffer.rs); every result is in 0..255 for inputs in 0..255 (the `as u8` is exact).
MFR_HD void mfr_jpeg_rgb_to_ycbcr(int32_t r, int32_t g, int32_t b, int32_t* y, int32_t* cb, int32_t* cr) {
    *y = (19595 * r + 38470 * g + 7471 * b + 0x7FFF) >> 16;
    *cb = (-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 0x7FFF) >> 16;
    *cr = (32768 * r - 27439 * g - 5329 * b + (128 << 16) + 0x7FFF) >> 16;
}

// Encoder 4:2:0 downsampling + edge padding: the source pixel of chroma sample (i, r) of the
// padded chroma plane is full-resolution pixel (2i, 2r) clamped into the image (point sampling).
// Twin: jpeg-encoder `encode_image_interleaved` (row clamp, last-sample column padding) and
// `get_block` with col/row stride 2.
MFR_HD uint32_t mfr_jpeg_chroma_source(int32_t i, uint32_t extent) {
    uint32_t p = 2u * (uint32_t)i;
    return p < extent ? p : extent - 1u;
}

// 1-D pass of the accurate integer forward DCT (IJG jpeg_fdct_islow: Loeffler-Ligtenberg-Moschytz
// with 12 multiplies, CONST_BITS 13, PASS1_BITS 2) over in[k * si] -> out[k * so], k = 0..7.
// pass1 = rows: outputs 0 and 4 scaled by 2^PASS1_BITS, the rest descaled by CONST_BITS -
// PASS1_BITS; otherwise columns: outputs 0/4 descaled by PASS1_BITS, the rest by CONST_BITS +
// PASS1_BITS, truncated to i16. Twin: jpeg-encoder `fdct` (fdct.rs), its two loops.
MFR_HD int32_t mfr_jpeg_descale(int32_t x, int32_t n) {
    return (x + (1 << (n - 1))) >> n;
}

MFR_HD void mfr_jpeg_fdct_1d(const int32_t* in, int32_t si, int32_t* out, int32_t so, bool pass1) {
    const int32_t d0 = in[0], d1 = in[si], d2 = in[2 * si], d3 = in[3 * si];
    const int32_t d4 = in[4 * si], d5 = in[5 * si], d6 = in[6 * si], d7 = in[7 * si];
    const int32_t tmp0 = d0 + d7, tmp7 = d0 - d7, tmp1 = d1 + d6, tmp6 = d1 - d6;
    const int32_t tmp2 = d2 + d5, tmp5 = d2 - d5, tmp3 = d3 + d4, tmp4 = d3 - d4;

    // even part
    const int32_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
    const int32_t n_even = pass1 ? 0 : 2;       // PASS1_BITS (pass 2 only)
    const int32_t n_odd = pass1 ? 13 - 2 : 13 + 2;  // CONST_BITS -/+ PASS1_BITS
    int32_t o0, o4;
    if (pass1) {
        o0 = (tmp10 + tmp11) * 4;  // << PASS1_BITS
        o4 = (tmp10 - tmp11) * 4;
    } else {
        o0 = mfr_jpeg_descale(tmp10 + tmp11, n_even);
        o4 = mfr_jpeg_descale(tmp10 - tmp11, n_even);
    }
    const int32_t z1e = (tmp12 + tmp13) * 4433;                        // FIX_0_541196100
    const int32_t o2 = mfr_jpeg_descale(z1e + tmp13 * 6270, n_odd);     // FIX_0_765366865
    const int32_t o6 = mfr_jpeg_descale(z1e + tmp12 * -15137, n_odd);   // FIX_1_847759065

    // odd part
    const int32_t z1 = tmp4 + tmp7, z2 = tmp5 + tmp6, z3 = tmp4 + tmp6, z4 = tmp5 + tmp7;
    const int32_t z5 = (z3 + z4) * 9633;  // FIX_1_175875602
    const int32_t t4 = tmp4 * 2446;       // FIX_0_298631336
    const int32_t t5 = tmp5 * 16819;      // FIX_2_053119869
    const int32_t t6 = tmp6 * 25172;      // FIX_3_072711026
    const int32_t t7 = tmp7 * 12299;      // FIX_1_501321110
    const int32_t m1 = z1 * -7373;        // FIX_0_899976223
    const int32_t m2 = z2 * -20995;       // FIX_2_562915447
    const int32_t m3 = z3 * -16069 + z5;  // FIX_1_961570560
    const int32_t m4 = z4 * -3196 + z5;   // FIX_0_390180644
    const int32_t o7 = mfr_jpeg_descale(t4 + m1 + m3, n_odd);
    const int32_t o5 = mfr_jpeg_descale(t5 + m2 + m4, n_odd);
    const int32_t o3 = mfr_jpeg_descale(t6 + m2 + m3, n_odd);
    const int32_t o1 = mfr_jpeg_descale(t7 + m1 + m4, n_odd);

    int32_t r[8] = {o0, o1, o2, o3, o4, o5, o6, o7};
    for (int k = 0; k < 8; ++k) out[k * so] = pass1 ? r[k] : (int32_t)(int16_t)r[k];
}

// 1-D pass of the decoder's integer IDCT (stb_image's jidctint-style IDCT as ported by zune-jpeg,
// 12-bit constants) over in[k * s], k = 0..7, results in natural order in res[0..8]:
// (butterfly + bias) >> shift. Columns first (bias 512, shift 10), then rows (bias
// 512 + 65536 + (128 << 17), i.e. rounding plus the +128 level shift, shift 17, then clamp to
// 0..255). Twin: zune-jpeg `idct_int` (idct/scalar.rs), its vertical and horizontal loops.
#define MFR_JPEG_IDCT_COL_BIAS 512
#define MFR_JPEG_IDCT_ROW_BIAS (512 + 65536 + (128 << 17))

MFR_HD void mfr_jpeg_idct_1d(const int32_t* in, int32_t s, int32_t bias, int32_t shift, int32_t res[8]) {
    // even part
    int32_t p2 = in[2 * s], p3 = in[6 * s];
    const int32_t p1 = (p2 + p3) * 2217;
    const int32_t t2 = p1 + p3 * -7567;
    const int32_t t3 = p1 + p2 * 3135;
    p2 = in[0];
    p3 = in[4 * s];
    const int32_t t0 = (p2 + p3) * 4096;  // << 12
    const int32_t t1 = (p2 - p3) * 4096;
    const int32_t x0 = t0 + t3 + bias, x3 = t0 - t3 + bias;
    const int32_t x1 = t1 + t2 + bias, x2 = t1 - t2 + bias;

    // odd part
    int32_t u0 = in[7 * s], u1 = in[5 * s], u2 = in[3 * s], u3 = in[s];
    int32_t q3 = u0 + u2, q4 = u1 + u3;
    int32_t q1 = u0 + u3, q2 = u1 + u2;
    const int32_t p5 = (q3 + q4) * 4816;  // f2f(1.175875602)
    u0 = u0 * 1223;
    u1 = u1 * 8410;
    u2 = u2 * 12586;
    u3 = u3 * 6149;
    q1 = p5 + q1 * -3685;
    q2 = p5 + q2 * -10497;
    q3 = q3 * -8034;
    q4 = q4 * -1597;
    u3 += q1 + q4;
    u2 += q2 + q3;
    u1 += q2 + q4;
    u0 += q1 + q3;

    res[0] = (x0 + u3) >> shift;
    res[1] = (x1 + u2) >> shift;
    res[2] = (x2 + u1) >> shift;
    res[3] = (x3 + u0) >> shift;
    res[4] = (x3 - u0) >> shift;
    res[5] = (x2 - u1) >> shift;
    res[6] = (x1 - u2) >> shift;
    res[7] = (x0 - u3) >> shift;
}

// Clamp to a decoded sample. Twin: zune-jpeg idct/scalar.rs `clamp` (and the colour converters').
MFR_HD int32_t mfr_jpeg_clamp255(int32_t v) {
    return v < 0 ? 0 : (v > 255 ? 255 : v);
}

// One tap of the decoder's fancy upsampling: (3 * nearest + other + 2) >> 2. Twin: zune-jpeg
// upsampler/scalar.rs `upsample_vertical` / `upsample_horizontal` (and their AVX2 twins).
MFR_HD int32_t mfr_jpeg_upsample_tap(int32_t nearest, int32_t other) {
    return (3 * nearest + other + 2) >> 2;
}

// YCbCr -> RGB, 14-bit fixed point (Y_CF 16384, CR_CF 22970, CB_CF 29032, G: -11700 Cr - 5638
// Cb, YUV_RND 8191), clamped to 0..255. Twin: zune-jpeg color_convert/scalar.rs
// `ycbcr_to_rgb_inner_16_scalar` (= `ycbcr_to_rgb_avx2`).
MFR_HD void mfr_jpeg_ycbcr_to_rgb(int32_t y, int32_t cb, int32_t cr, int32_t* r, int32_t* g, int32_t* b) {
    const int32_t crc = cr - 128, cbc = cb - 128;
    const int32_t y0 = y * 16384 + 8191;
    *r = mfr_jpeg_clamp255((y0 + crc * 22970) >> 14);
    *g = mfr_jpeg_clamp255((y0 + crc * -11700 + cbc * -5638) >> 14);
    *b = mfr_jpeg_clamp255((y0 + cbc * 29032) >> 14);
}

// Decoded byte -> output sample b / 255 (f32 division, as jpeg.rs `round_trip`).
MFR_HD float mfr_jpeg_to_unit(int32_t v) {
    return (float)v / 255.0f;
}

// ---------------------------------------------------------------------------------------------
// The tile pipeline. The kernel runs each stage for all its tasks (threads striding over them),
// with a barrier between stages; the host shim runs the same stages as plain loops in the same
// order. Within a stage every task writes only its own entries and reads only what earlier stages
// wrote, so the order of tasks inside a stage does not matter.

// Block b of a tile: 0..3 luma (b = 2 * row + column inside the tile), 4..21 chroma:
// k = b - 4, component k / 9 (0 = Cb, 1 = Cr), neighbour k % 9 = 3 * (dy + 1) + (dx + 1) relative
// to the tile's own chroma block.
struct MfrJpegTile {
    int32_t coef[MFR_JPEG_BLOCKS * 64];  // samples - 128 -> DCT -> (de)quantised -> decoded 0..255
    int32_t tmp[MFR_JPEG_BLOCKS * 64];   // FDCT row-pass output
    int32_t table[128];                  // DQT value per natural index: [0, 64) luma, [64, 128) chroma
    int32_t recip[128];                  // quantisation reciprocal (divisor 8 * table)
    int32_t corr[128];                   // quantisation rounding correction
};

// One image's tile geometry.
struct MfrJpegGeom {
    uint32_t w, h, c;      // image size, channels (1 or 3)
    uint32_t tx, ty;       // tile column / row (= MCU column / row for RGB)
    uint32_t mcu_x, mcu_y; // RGB: MCUs per row / column (chroma plane = 8 mcu_x x 8 mcu_y)
};

// Tiles of a w x h image (both grey and RGB use 16 x 16 tiles).
MFR_HD uint32_t mfr_jpeg_tiles_x(uint32_t w) {
    return (w + MFR_JPEG_TILE - 1) / MFR_JPEG_TILE;
}

MFR_HD MfrJpegGeom mfr_jpeg_geom(uint32_t w, uint32_t h, uint32_t c, uint32_t tile) {
    MfrJpegGeom g;
    g.w = w;
    g.h = h;
    g.c = c;
    g.mcu_x = mfr_jpeg_tiles_x(w);
    g.mcu_y = (h + MFR_JPEG_TILE - 1) / MFR_JPEG_TILE;
    g.tx = tile % g.mcu_x;
    g.ty = tile / g.mcu_x;
    return g;
}

// Blocks the tile transforms: 4 (grey) or 22 (RGB).
MFR_HD uint32_t mfr_jpeg_blocks(MfrJpegGeom g) {
    return g.c == 3u ? MFR_JPEG_BLOCKS : MFR_JPEG_LUMA_BLOCKS;
}

// Chroma block (tile-relative neighbour dx, dy in -1..1) of block b >= 4.
MFR_HD int32_t mfr_jpeg_chroma_dx(uint32_t b) {
    return (int32_t)((b - 4u) % 9u % 3u) - 1;
}
MFR_HD int32_t mfr_jpeg_chroma_dy(uint32_t b) {
    return (int32_t)((b - 4u) % 9u / 3u) - 1;
}

// Whether block b exists: luma always (blocks past the image replicate its edge, as the encoder
// pads, and are never written out); a chroma neighbour only inside the MCU grid.
MFR_HD bool mfr_jpeg_block_valid(MfrJpegGeom g, uint32_t b) {
    if (b < MFR_JPEG_LUMA_BLOCKS) return true;
    const int32_t bx = (int32_t)g.tx + mfr_jpeg_chroma_dx(b), by = (int32_t)g.ty + mfr_jpeg_chroma_dy(b);
    return bx >= 0 && by >= 0 && bx < (int32_t)g.mcu_x && by < (int32_t)g.mcu_y;
}

// Stage 0, task 0..127: the quality-scaled table entry, its reciprocal and correction. `base` is
// MFR_JPEG_BASE_TABLES. Twin: jpeg-encoder `QuantizationTable::new_with_quality`.
MFR_HD void mfr_jpeg_stage_tables(MfrJpegTile* t, uint32_t task, uint32_t quality, const uint8_t* base) {
    const uint32_t v = mfr_jpeg_table_value(base[task], quality);
    t->table[task] = (int32_t)v;
    mfr_jpeg_reciprocal(8u * v, &t->recip[task], &t->corr[task]);
}

// Stage 1, task 0..64 * blocks: sample (task % 64) of block task / 64, level-shifted (- 128), as
// the encoder's `get_block` reads it from its padded, colour-converted row buffer.
MFR_HD void mfr_jpeg_stage_load(MfrJpegTile* t, const float* img, MfrJpegGeom g, uint32_t task) {
    const uint32_t b = task >> 6, e = task & 63u, y = e >> 3, x = e & 7u;
    if (!mfr_jpeg_block_valid(g, b)) return;
    uint32_t px, py, comp;
    if (b < MFR_JPEG_LUMA_BLOCKS) {
        px = g.tx * MFR_JPEG_TILE + (b & 1u) * 8u + x;
        py = g.ty * MFR_JPEG_TILE + (b >> 1) * 8u + y;
        px = px < g.w ? px : g.w - 1u;
        py = py < g.h ? py : g.h - 1u;
        comp = 0;
    } else {
        const int32_t i = ((int32_t)g.tx + mfr_jpeg_chroma_dx(b)) * 8 + (int32_t)x;
        const int32_t r = ((int32_t)g.ty + mfr_jpeg_chroma_dy(b)) * 8 + (int32_t)y;
        px = mfr_jpeg_chroma_source(i, g.w);
        py = mfr_jpeg_chroma_source(r, g.h);
        comp = 1u + (b - 4u) / 9u;
    }
    const uint64_t plane = (uint64_t)g.w * g.h, idx = (uint64_t)py * g.w + px;
    int32_t v;
    if (g.c == 1u) {
        v = mfr_jpeg_sample_u8(img[idx]);
    } else {
        int32_t yy, cb, cr;
        mfr_jpeg_rgb_to_ycbcr(mfr_jpeg_sample_u8(img[idx]), mfr_jpeg_sample_u8(img[plane + idx]),
                              mfr_jpeg_sample_u8(img[2 * plane + idx]), &yy, &cb, &cr);
        v = comp == 0u ? yy : (comp == 1u ? cb : cr);
    }
    t->coef[task] = v - 128;
}

// Stage 2, task 0..8 * blocks: FDCT row pass of row task % 8 of block task / 8 (coef -> tmp).
MFR_HD void mfr_jpeg_stage_fdct_rows(MfrJpegTile* t, MfrJpegGeom g, uint32_t task) {
    const uint32_t b = task >> 3, row = task & 7u;
    if (!mfr_jpeg_block_valid(g, b)) return;
    mfr_jpeg_fdct_1d(&t->coef[b * 64u + row * 8u], 1, &t->tmp[b * 64u + row * 8u], 1, true);
}

// Stage 3, task 0..8 * blocks: FDCT column pass of column task % 8 (tmp -> coef).
MFR_HD void mfr_jpeg_stage_fdct_cols(MfrJpegTile* t, MfrJpegGeom g, uint32_t task) {
    const uint32_t b = task >> 3, col = task & 7u;
    if (!mfr_jpeg_block_valid(g, b)) return;
    mfr_jpeg_fdct_1d(&t->tmp[b * 64u + col], 8, &t->coef[b * 64u + col], 8, false);
}

// Stage 4, task 0..64 * blocks: quantise with the encoder's reciprocal, dequantise with the DQT
// value (luma table for blocks 0..3, chroma for the rest), in place.
MFR_HD void mfr_jpeg_stage_quantize(MfrJpegTile* t, MfrJpegGeom g, uint32_t task) {
    const uint32_t b = task >> 6, z = task & 63u;
    if (!mfr_jpeg_block_valid(g, b)) return;
    const uint32_t k = (b < MFR_JPEG_LUMA_BLOCKS ? 0u : 64u) + z;
    t->coef[task] = mfr_jpeg_dequantize(mfr_jpeg_quantize(t->coef[task], t->recip[k], t->corr[k]), t->table[k]);
}

// Stage 5, task 0..8 * blocks: IDCT column pass of column task % 8, in place.
MFR_HD void mfr_jpeg_stage_idct_cols(MfrJpegTile* t, MfrJpegGeom g, uint32_t task) {
    const uint32_t b = task >> 3, col = task & 7u;
    if (!mfr_jpeg_block_valid(g, b)) return;
    int32_t* p = &t->coef[b * 64u + col];
    int32_t res[8];
    mfr_jpeg_idct_1d(p, 8, MFR_JPEG_IDCT_COL_BIAS, 10, res);
    for (int k = 0; k < 8; ++k) p[k * 8] = res[k];
}

// Stage 6, task 0..8 * blocks: IDCT row pass of row task % 8, clamped to 0..255, in place.
MFR_HD void mfr_jpeg_stage_idct_rows(MfrJpegTile* t, MfrJpegGeom g, uint32_t task) {
    const uint32_t b = task >> 3, row = task & 7u;
    if (!mfr_jpeg_block_valid(g, b)) return;
    int32_t* p = &t->coef[b * 64u + row * 8u];
    int32_t res[8];
    mfr_jpeg_idct_1d(p, 1, MFR_JPEG_IDCT_ROW_BIAS, 17, res);
    for (int k = 0; k < 8; ++k) p[k] = mfr_jpeg_clamp255(res[k]);
}

// Decoded chroma sample (i, r) of component comp, indices clamped into the padded chroma plane
// (8 mcu_x x 8 mcu_y): the edge replication of zune's upsampler. (i, r) must lie within one
// block of the tile's own chroma block, so the clamped sample is in a valid neighbour block.
MFR_HD int32_t mfr_jpeg_chroma_at(const MfrJpegTile* t, MfrJpegGeom g, uint32_t comp, int32_t i, int32_t r) {
    const int32_t wc = 8 * (int32_t)g.mcu_x, hc = 8 * (int32_t)g.mcu_y;
    i = i < 0 ? 0 : (i >= wc ? wc - 1 : i);
    r = r < 0 ? 0 : (r >= hc ? hc - 1 : r);
    const int32_t dx = (i >> 3) - (int32_t)g.tx + 1, dy = (r >> 3) - (int32_t)g.ty + 1;
    const uint32_t b = 4u + comp * 9u + (uint32_t)(dy * 3 + dx);
    return t->coef[b * 64u + (uint32_t)(r & 7) * 8u + (uint32_t)(i & 7)];
}

// Upsampled chroma at full-resolution pixel (x, y): zune's `upsample_hv`, i.e. the vertical
// tap on chroma rows r = y / 2 and its neighbour (r - 1 for even y, r + 1 for odd y), then the
// horizontal tap on columns i = x / 2 and its neighbour (i - 1 for even x, i + 1 for odd x), each
// rounded. Twin: zune-jpeg upsampler/scalar.rs `upsample_hv` with worker.rs `upsample`'s row
// choice (first/last row of the image: the row itself).
MFR_HD int32_t mfr_jpeg_upsample(const MfrJpegTile* t, MfrJpegGeom g, uint32_t comp, uint32_t x, uint32_t y) {
    const int32_t i = (int32_t)(x >> 1), r = (int32_t)(y >> 1);
    const int32_t ni = (x & 1u) ? i + 1 : i - 1;
    const int32_t nr = (y & 1u) ? r + 1 : r - 1;
    const int32_t v_near = mfr_jpeg_upsample_tap(mfr_jpeg_chroma_at(t, g, comp, i, r), mfr_jpeg_chroma_at(t, g, comp, i, nr));
    const int32_t v_other = mfr_jpeg_upsample_tap(mfr_jpeg_chroma_at(t, g, comp, ni, r), mfr_jpeg_chroma_at(t, g, comp, ni, nr));
    return mfr_jpeg_upsample_tap(v_near, v_other);
}

// Stage 7, task 0..255: pixel (task % 16, task / 16) of the tile, if inside the image: grey, the
// decoded luma; RGB, luma + upsampled chroma converted to RGB; each written as b / 255.
MFR_HD void mfr_jpeg_stage_store(const MfrJpegTile* t, MfrJpegGeom g, float* out, uint32_t task) {
    const uint32_t px = task % MFR_JPEG_TILE, py = task / MFR_JPEG_TILE;
    const uint32_t x = g.tx * MFR_JPEG_TILE + px, y = g.ty * MFR_JPEG_TILE + py;
    if (x >= g.w || y >= g.h) return;
    const uint32_t lb = (py >> 3) * 2u + (px >> 3);
    const int32_t luma = t->coef[lb * 64u + (py & 7u) * 8u + (px & 7u)];
    const uint64_t plane = (uint64_t)g.w * g.h, idx = (uint64_t)y * g.w + x;
    if (g.c == 1u) {
        out[idx] = mfr_jpeg_to_unit(luma);
        return;
    }
    int32_t r, gr, b;
    mfr_jpeg_ycbcr_to_rgb(luma, mfr_jpeg_upsample(t, g, 0, x, y), mfr_jpeg_upsample(t, g, 1, x, y), &r, &gr, &b);
    out[idx] = mfr_jpeg_to_unit(r);
    out[plane + idx] = mfr_jpeg_to_unit(gr);
    out[2 * plane + idx] = mfr_jpeg_to_unit(b);
}
