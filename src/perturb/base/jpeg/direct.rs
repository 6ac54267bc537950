//! The JPEG round trip computed directly: the integer arithmetic of the `jpeg-encoder` encoder
//! and the `zune-jpeg` decoder (as [`super::codec`] runs them), without the bitstream.
//!
//! Huffman coding is lossless, so the decoded pixels depend only on the quantised coefficients:
//! colour conversion, 4:2:0 point sampling and edge padding, the forward DCT (IJG islow), the
//! encoder's reciprocal quantisation, the decoder's dequantisation and integer IDCT, its "fancy"
//! chroma upsampling and YCbCr -> RGB. Each step is the formula of kernels/jpeg.cuh, which names
//! the crate function it transcribes; the tests of `super` check the whole chain against the
//! real codec bit for bit (every byte) over shapes, contents and all 100 qualities.
//!
//! Layout for speed: the blocks of a block row are processed [`LANES`] at a time, sample e of
//! block j at `[e][j]`, so every 1-D transform is one loop over the lanes that the compiler
//! vectorises (AVX-512 / AVX2 / baseline builds via `simd::multiversion!`, the same integer
//! operations in each). Everything that does not depend on the quality (colour conversion,
//! sampling, padding, the forward DCT) is done once, in [`Direct::new`]; [`Direct::decode`] is
//! the quantisation, the inverse transforms and the output conversion.

// The lane loops index several arrays by the lane (and samples by block and lane) at once.
#![allow(clippy::needless_range_loop)]

use crate::perturb::common::simd::multiversion;
use rayon::prelude::*;

/// Blocks transformed together (one lane each).
pub(super) const LANES: usize = 16;

/// Standard tables of ITU-T T.81 Annex K (K.1 luma, K.2 chroma), natural order, as
/// jpeg-encoder's `DEFAULT_LUMA_TABLES[0]` / `DEFAULT_CHROMA_TABLES[0]` (kernels/jpeg.cuh
/// `MFR_JPEG_BASE_TABLES`).
const BASE: [[u8; 64]; 2] = [
    [
        16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69,
        56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81,
        104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    ],
    [
        17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99,
        99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
        99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    ],
];

/// One table's quantisation at one quality: the DQT value (what the decoder multiplies by), the
/// encoder's reciprocal and rounding correction of the divisor 8 x value.
struct Table {
    value: [i32; 64],
    recip: [i32; 64],
    corr: [i32; 64],
}

impl Table {
    /// jpeg-encoder `QuantizationTable::new_with_quality` and `compute_reciprocal` (SHIFT 15).
    fn new(base: &[u8; 64], quality: u8) -> Table {
        let q = u32::from(quality.clamp(1, 100));
        let scale = if q < 50 { 5000 / q } else { 200 - q * 2 };
        let mut t = Table {
            value: [0; 64],
            recip: [0; 64],
            corr: [0; 64],
        };
        for e in 0..64 {
            let v = ((u32::from(base[e]) * scale + 50) / 100).clamp(1, 255);
            let divisor = 8 * v;
            let (mut r, f, mut c) = (32768 / divisor, 32768 % divisor, divisor / 2);
            if f != 0 {
                if f <= c {
                    c += 1;
                } else {
                    r += 1;
                }
            }
            t.value[e] = v as i32;
            t.recip[e] = r as i32;
            t.corr[e] = c as i32;
        }
        t
    }
}

/// The forward DCT coefficients of one component's blocks (a padded plane of `bw` x `bh`
/// blocks), grouped by [`LANES`] along each block row: coefficient e of block
/// `(g * LANES + j, by)` at `[((by * groups + g) * 64 + e) * LANES + j]`; lanes past `bw` are
/// zero and never written out.
struct Plane {
    bw: usize,
    bh: usize,
    groups: usize,
    chroma: bool,
    coef: Vec<i16>,
}

impl Plane {
    /// `padded`: the component's samples (0..255) on the whole block grid, `bw * 8` per row.
    fn new(padded: &[u8], bw: usize, bh: usize, chroma: bool) -> Plane {
        let groups = bw.div_ceil(LANES);
        let pw = bw * 8;
        let mut coef = vec![0i16; bh * groups * 64 * LANES];
        coef.par_chunks_mut(groups * 64 * LANES)
            .zip(padded.par_chunks(8 * pw))
            .for_each(|(c, rows)| fdct_block_row(c, rows, bw));
        Plane {
            bw,
            bh,
            groups,
            chroma,
            coef,
        }
    }

    /// The decoded samples of every block at one quality, `bw * 8` per row.
    fn decode(&self, tables: &[Table; 2]) -> Vec<u8> {
        let pw = self.bw * 8;
        let mut out = vec![0u8; pw * self.bh * 8];
        let table = &tables[usize::from(self.chroma)];
        out.par_chunks_mut(8 * pw)
            .zip(self.coef.par_chunks(self.groups * 64 * LANES))
            .for_each(|(rows, c)| idct_block_row(rows, c, table, self.bw));
        out
    }
}

/// An image prepared for the direct round trip.
pub(super) struct Direct {
    width: usize,
    height: usize,
    channels: usize,
    /// Y (grey: the only one), then Cb and Cr at half resolution.
    planes: Vec<Plane>,
}

impl Direct {
    /// `codes`: the clean image's 8-bit codes, planar (c = 1 or 3, both sides >= 1).
    pub(super) fn new(codes: &[u8], width: usize, height: usize, channels: usize) -> Direct {
        let (w, h) = (width, height);
        assert!(w > 0 && h > 0 && (channels == 1 || channels == 3));
        assert_eq!(codes.len(), w * h * channels, "8-bit codes length");
        let planes = if channels == 1 {
            let (bw, bh) = (w.div_ceil(8), h.div_ceil(8));
            let padded = pad(bw * 8, bh * 8, |x, y| {
                codes[y.min(h - 1) * w + x.min(w - 1)]
            });
            vec![Plane::new(&padded, bw, bh, false)]
        } else {
            // 4:2:0: MCUs of 16 x 16 px, 2 x 2 luma blocks and one block per chroma component
            let (mx, my) = (w.div_ceil(16), h.div_ceil(16));
            let n = w * h;
            let ycc = |x: usize, y: usize| {
                let i = y.min(h - 1) * w + x.min(w - 1);
                rgb_to_ycbcr(codes[i], codes[n + i], codes[2 * n + i])
            };
            let luma = pad(mx * 16, my * 16, |x, y| ycc(x, y).0);
            // point sampling: chroma sample (i, r) is the pixel (2i, 2r), clamped into the image
            let cb = pad(mx * 8, my * 8, |i, r| ycc(2 * i, 2 * r).1);
            let cr = pad(mx * 8, my * 8, |i, r| ycc(2 * i, 2 * r).2);
            vec![
                Plane::new(&luma, 2 * mx, 2 * my, false),
                Plane::new(&cb, mx, my, true),
                Plane::new(&cr, mx, my, true),
            ]
        };
        Direct {
            width,
            height,
            channels,
            planes,
        }
    }

    /// The decoded image of the round trip at `quality` (1..=100), as planar 8-bit codes.
    pub(super) fn decode(&self, quality: u8, out: &mut [u8]) {
        let (w, h) = (self.width, self.height);
        assert_eq!(out.len(), w * h * self.channels, "8-bit output length");
        let tables = [Table::new(&BASE[0], quality), Table::new(&BASE[1], quality)];
        let luma = self.planes[0].decode(&tables);
        let pw = self.planes[0].bw * 8;
        if self.channels == 1 {
            out.par_chunks_mut(w)
                .zip(luma.par_chunks(pw))
                .for_each(|(o, l)| o.copy_from_slice(&l[..w]));
            return;
        }
        let (cb, cr) = (
            self.planes[1].decode(&tables),
            self.planes[2].decode(&tables),
        );
        let (wc, hc) = (self.planes[1].bw * 8, self.planes[1].bh * 8);
        let (r, gb) = out.split_at_mut(w * h);
        let (g, b) = gb.split_at_mut(w * h);
        const ROWS: usize = 16;
        r.par_chunks_mut(ROWS * w)
            .zip(g.par_chunks_mut(ROWS * w))
            .zip(b.par_chunks_mut(ROWS * w))
            .enumerate()
            .for_each(|(k, ((r, g), b))| {
                let mut scratch = Scratch::new(wc, w);
                for (i, ((r, g), b)) in r
                    .chunks_mut(w)
                    .zip(g.chunks_mut(w))
                    .zip(b.chunks_mut(w))
                    .enumerate()
                {
                    // the vertical tap's rows: y / 2 and its neighbour, clamped into the
                    // padded plane
                    let y = k * ROWS + i;
                    let c = y / 2;
                    let n = if y % 2 == 1 {
                        (c + 1).min(hc - 1)
                    } else {
                        c.saturating_sub(1)
                    };
                    rgb_row(
                        &luma[y * pw..y * pw + w],
                        [&cb[c * wc..][..wc], &cb[n * wc..][..wc]],
                        [&cr[c * wc..][..wc], &cr[n * wc..][..wc]],
                        &mut scratch,
                        [r, g, b],
                    );
                }
            });
    }
}

/// A `pw` x `ph` plane of `at(x, y)`.
fn pad(pw: usize, ph: usize, at: impl Fn(usize, usize) -> u8 + Sync) -> Vec<u8> {
    let mut out = vec![0u8; pw * ph];
    out.par_chunks_mut(pw)
        .enumerate()
        .for_each(|(y, row)| row.iter_mut().enumerate().for_each(|(x, v)| *v = at(x, y)));
    out
}

/// RGB -> YCbCr, 16-bit fixed point with rounding (jpeg-encoder `rgb_to_ycbcr`); every result
/// is in 0..255.
fn rgb_to_ycbcr(r: u8, g: u8, b: u8) -> (u8, u8, u8) {
    let (r, g, b) = (i32::from(r), i32::from(g), i32::from(b));
    let y = (19595 * r + 38470 * g + 7471 * b + 0x7FFF) >> 16;
    let cb = (-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 0x7FFF) >> 16;
    let cr = (32768 * r - 27439 * g - 5329 * b + (128 << 16) + 0x7FFF) >> 16;
    (y as u8, cb as u8, cr as u8)
}

type Lane = [i32; LANES];

#[inline(always)]
fn descale(x: i32, n: u32) -> i32 {
    (x + (1 << (n - 1))) >> n
}

/// The 8 lanes `blk[first + k stride]`, k = 0..8.
#[inline(always)]
fn line(blk: &[Lane; 64], first: usize, stride: usize) -> [&Lane; 8] {
    std::array::from_fn(|k| &blk[first + k * stride])
}

/// One 1-D pass of the forward DCT (IJG `jpeg_fdct_islow`: CONST_BITS 13, PASS1_BITS 2) on
/// inputs `d[0..8]`, lane-wise (the whole butterfly inside one loop over the lanes, which the
/// compiler vectorises). `rows`: the first pass (outputs 0 and 4 scaled by 4, the rest
/// descaled by 11); otherwise the second (0 and 4 descaled by 2, the rest by 15, truncated to
/// i16). jpeg-encoder `fdct`, its two loops (kernels/jpeg.cuh `mfr_jpeg_fdct_1d`).
#[inline(always)]
fn fdct8(d: [&Lane; 8], rows: bool) -> [Lane; 8] {
    let mut o = [[0i32; LANES]; 8];
    let n_odd = if rows { 11 } else { 15 };
    for j in 0..LANES {
        let (d0, d1, d2, d3) = (d[0][j], d[1][j], d[2][j], d[3][j]);
        let (d4, d5, d6, d7) = (d[4][j], d[5][j], d[6][j], d[7][j]);
        let (tmp0, tmp7, tmp1, tmp6) = (d0 + d7, d0 - d7, d1 + d6, d1 - d6);
        let (tmp2, tmp5, tmp3, tmp4) = (d2 + d5, d2 - d5, d3 + d4, d3 - d4);
        let (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);
        let (o0, o4) = if rows {
            ((tmp10 + tmp11) * 4, (tmp10 - tmp11) * 4)
        } else {
            (descale(tmp10 + tmp11, 2), descale(tmp10 - tmp11, 2))
        };
        let z1e = (tmp12 + tmp13) * 4433;
        let o2 = descale(z1e + tmp13 * 6270, n_odd);
        let o6 = descale(z1e + tmp12 * -15137, n_odd);
        let (z1, z2, z3, z4) = (tmp4 + tmp7, tmp5 + tmp6, tmp4 + tmp6, tmp5 + tmp7);
        let z5 = (z3 + z4) * 9633;
        let (t4, t5, t6, t7) = (tmp4 * 2446, tmp5 * 16819, tmp6 * 25172, tmp7 * 12299);
        let (m1, m2) = (z1 * -7373, z2 * -20995);
        let (m3, m4) = (z3 * -16069 + z5, z4 * -3196 + z5);
        let r = [
            o0,
            descale(t7 + m1 + m4, n_odd),
            o2,
            descale(t6 + m2 + m3, n_odd),
            o4,
            descale(t5 + m2 + m4, n_odd),
            o6,
            descale(t4 + m1 + m3, n_odd),
        ];
        for k in 0..8 {
            o[k][j] = if rows { r[k] } else { r[k] as i16 as i32 };
        }
    }
    o
}

/// One 1-D pass of the decoder's integer IDCT (zune-jpeg `idct_int`, 12-bit constants) on
/// `d[0..8]`, lane-wise: `(butterfly + bias) >> shift` (kernels/jpeg.cuh `mfr_jpeg_idct_1d`).
#[inline(always)]
fn idct8(d: [&Lane; 8], bias: i32, shift: u32) -> [Lane; 8] {
    let mut o = [[0i32; LANES]; 8];
    for j in 0..LANES {
        let (p2, p3) = (d[2][j], d[6][j]);
        let p1 = (p2 + p3) * 2217;
        let t2 = p1 + p3 * -7567;
        let t3 = p1 + p2 * 3135;
        let (p2, p3) = (d[0][j], d[4][j]);
        let t0 = (p2 + p3) * 4096;
        let t1 = (p2 - p3) * 4096;
        let (x0, x3) = (t0 + t3 + bias, t0 - t3 + bias);
        let (x1, x2) = (t1 + t2 + bias, t1 - t2 + bias);
        let (u0, u1, u2, u3) = (d[7][j], d[5][j], d[3][j], d[1][j]);
        let (q3, q4, q1, q2) = (u0 + u2, u1 + u3, u0 + u3, u1 + u2);
        let p5 = (q3 + q4) * 4816;
        let q1 = p5 + q1 * -3685;
        let q2 = p5 + q2 * -10497;
        let q3 = q3 * -8034;
        let q4 = q4 * -1597;
        let u3 = u3 * 6149 + q1 + q4;
        let u2 = u2 * 12586 + q2 + q3;
        let u1 = u1 * 8410 + q2 + q4;
        let u0 = u0 * 1223 + q1 + q3;
        let r = [
            x0 + u3,
            x1 + u2,
            x2 + u1,
            x3 + u0,
            x3 - u0,
            x2 - u1,
            x1 - u2,
            x0 - u3,
        ];
        for k in 0..8 {
            o[k][j] = r[k] >> shift;
        }
    }
    o
}

multiversion! {
    /// The forward DCT of one block row: `rows` holds its 8 sample rows (`bw * 8` each), `coef`
    /// receives its groups' coefficients.
    fn fdct_block_row(coef: &mut [i16], rows: &[u8], bw: usize) {
        let pw = bw * 8;
        for (g, out) in coef.chunks_exact_mut(64 * LANES).enumerate() {
            let mut blk = [[0i32; LANES]; 64];
            for j in 0..LANES.min(bw - g * LANES) {
                let x0 = (g * LANES + j) * 8;
                for y in 0..8 {
                    for x in 0..8 {
                        blk[y * 8 + x][j] = i32::from(rows[y * pw + x0 + x]) - 128;
                    }
                }
            }
            let mut tmp = [[0i32; LANES]; 64];
            for y in 0..8 {
                let r = fdct8(line(&blk, y * 8, 1), true);
                tmp[y * 8..y * 8 + 8].copy_from_slice(&r);
            }
            for x in 0..8 {
                let r = fdct8(line(&tmp, x, 8), false);
                for k in 0..8 {
                    blk[k * 8 + x] = r[k];
                }
            }
            for (e, lane) in blk.iter().enumerate() {
                for (o, v) in out[e * LANES..][..LANES].iter_mut().zip(lane) {
                    *o = *v as i16;
                }
            }
        }
    }
}

multiversion! {
    /// One block row's round trip at one table: quantise and dequantise its groups'
    /// coefficients (jpeg-encoder `quantize`, zune-jpeg's `symbol * qt_table`), the inverse
    /// transform (columns: bias 512, shift 10; rows: rounding plus the +128 level shift, shift
    /// 17, clamped to 0..255), written into `rows` (8 rows of `bw * 8`).
    fn idct_block_row(rows: &mut [u8], coef: &[i16], table: &Table, bw: usize) {
        const ROW_BIAS: i32 = 512 + 65536 + (128 << 17);
        let pw = bw * 8;
        for (g, c) in coef.chunks_exact(64 * LANES).enumerate() {
            let mut blk = [[0i32; LANES]; 64];
            for e in 0..64 {
                let (value, recip, corr) = (table.value[e], table.recip[e], table.corr[e]);
                for (b, &v) in blk[e].iter_mut().zip(&c[e * LANES..][..LANES]) {
                    let v = i32::from(v);
                    let p = ((v.abs() + corr) * recip) >> 15;
                    let quantised = (if v < 0 { -p } else { p }) as i16 as i32;
                    *b = quantised * value;
                }
            }
            for x in 0..8 {
                let r = idct8(line(&blk, x, 8), 512, 10);
                for k in 0..8 {
                    blk[k * 8 + x] = r[k];
                }
            }
            let lanes = LANES.min(bw - g * LANES);
            for y in 0..8 {
                let r = idct8(line(&blk, y * 8, 1), ROW_BIAS, 17);
                // sample k of lane j goes to byte k of block j's 8 bytes: built as one u64 per
                // lane (shifts and ors across the lanes, no gather)
                let mut packed = [0u64; LANES];
                for (k, rk) in r.iter().enumerate() {
                    for (p, &v) in packed.iter_mut().zip(rk) {
                        *p |= (v.clamp(0, 255) as u64) << (8 * k);
                    }
                }
                let row = &mut rows[y * pw + g * LANES * 8..][..lanes * 8];
                for (px, v) in row.chunks_exact_mut(8).zip(packed) {
                    px.copy_from_slice(&v.to_le_bytes());
                }
            }
        }
    }
}

multiversion! {
    /// One output row of an RGB image: luma `y`; the chroma rows `[nearest, other]` of Cb and
    /// Cr (padded width); zune-jpeg's `upsample_hv` (vertical tap (3 near + other + 2) >> 2,
    /// then the horizontal one on column x / 2 and its neighbour x / 2 -+ 1, clamped into the
    /// padded row) and `ycbcr_to_rgb` (14-bit fixed point, clamped), into `out` = [R, G, B].
    fn rgb_row(y: &[u8], cb: [&[u8]; 2], cr: [&[u8]; 2], s: &mut Scratch, out: [&mut [u8]; 3]) {
        let w = y.len();
        upsample(cb, &mut s.v, &mut s.ub);
        upsample(cr, &mut s.v, &mut s.ur);
        let [r, g, b] = out;
        for x in 0..w {
            let (cbc, crc) = (i32::from(s.ub[x]) - 128, i32::from(s.ur[x]) - 128);
            let y0 = i32::from(y[x]) * 16384 + 8191;
            r[x] = ((y0 + crc * 22970) >> 14).clamp(0, 255) as u8;
            g[x] = ((y0 + crc * -11700 + cbc * -5638) >> 14).clamp(0, 255) as u8;
            b[x] = ((y0 + cbc * 29032) >> 14).clamp(0, 255) as u8;
        }
    }
}

/// Row buffers of the RGB output pass, reused across the rows of one task.
struct Scratch {
    /// The vertical tap of one component, with a repeated sample at each end (`wc + 2`).
    v: Vec<i16>,
    /// The upsampled Cb and Cr rows (`w` rounded up to even).
    ub: Vec<i16>,
    ur: Vec<i16>,
}

impl Scratch {
    fn new(wc: usize, w: usize) -> Scratch {
        let n = 2 * w.div_ceil(2);
        Scratch {
            v: vec![0; wc + 2],
            ub: vec![0; n],
            ur: vec![0; n],
        }
    }
}

/// One chroma component's upsampled row `u` from its rows `[nearest, other]`: the vertical tap
/// into `v`, then the horizontal one with the row's first and last sample repeated at each end
/// (so column x / 2 -+ 1 is clamped into the padded row). Every value is at most 1022 (i16).
#[inline(always)]
fn upsample(c: [&[u8]; 2], v: &mut [i16], u: &mut [i16]) {
    let wc = c[0].len();
    for ((v, &a), &b) in v[1..=wc].iter_mut().zip(c[0]).zip(c[1]) {
        *v = (3 * i16::from(a) + i16::from(b) + 2) >> 2;
    }
    v[0] = v[1];
    v[wc + 1] = v[wc];
    for (i, pair) in u.chunks_exact_mut(2).enumerate() {
        pair[0] = (3 * v[i + 1] + v[i] + 2) >> 2;
        pair[1] = (3 * v[i + 1] + v[i + 2] + 2) >> 2;
    }
}
