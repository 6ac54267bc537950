//! Affine warps: bilinear sampling for images, nearest neighbour for masks, one geometry.
//!
//! Contract:
//! - An [`Affine`] is the INVERSE map (as OpenCV's `warpAffine` with `WARP_INVERSE_MAP` and
//!   scipy's `affine_transform`): output pixel (x, y) samples the source at
//!   `(m[0]*x + m[1]*y + m[2], m[3]*x + m[4]*y + m[5])`, pixel centres at integer coordinates.
//! - Images: bilinear interpolation of the four neighbouring samples; an out-of-range tap is
//!   taken from the [`Border`] extension of the plane. [`Border::Reflect`] is half-sample symmetric
//!   (`f e d c b a | a b c d e f`), i.e. OpenCV `BORDER_REFLECT` = scipy `mode='reflect'`, applied
//!   to the integer tap indices; [`Border::Zero`] reads 0 outside.
//! - Masks: the same map, nearest neighbour (`floor(coord + 0.5)`), the same border rule, so a
//!   mask follows the anatomy of the warped image (rule 5 of the catalogue).
//! - Deterministic: every output sample is a pure function of its coordinates; rows run in
//!   parallel with no reduction across threads.

use super::filter::reflect_index;
use super::quant::{clip01, quantise, round_code};
use super::simd;
use crate::image::{BitDepth, Image, Mask};
use rayon::prelude::*;

mod packed;
pub use packed::{warp_packed_u8, PackedCodes};

/// What a tap outside the image reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Border {
    /// Half-sample symmetric reflection (OpenCV BORDER_REFLECT, scipy 'reflect').
    Reflect,
    /// Zero outside the image (zero padding).
    Zero,
}

/// Inverse affine map from output pixel coordinates to source coordinates (see module doc).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    pub m: [f64; 6],
}

impl Affine {
    pub fn identity() -> Self {
        Affine {
            m: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        }
    }

    /// The geometric centre of a `w x h` image in pixel-centre coordinates.
    pub fn centre(w: usize, h: usize) -> (f64, f64) {
        ((w as f64 - 1.0) * 0.5, (h as f64 - 1.0) * 0.5)
    }

    /// Rotation of the content by `degrees` about the image centre; positive angles turn the
    /// content counter-clockwise on screen (y axis pointing down), as OpenCV's
    /// `getRotationMatrix2D`. Source = R(-angle) (p - c) + c.
    pub fn rotation(w: usize, h: usize, degrees: f64) -> Self {
        let (cx, cy) = Self::centre(w, h);
        let t = degrees.to_radians();
        let (sn, cs) = t.sin_cos();
        // forward: dst = [cs sn; -sn cs](src - c) + c; inverse: src = [cs -sn; sn cs](dst - c) + c
        Affine {
            m: [
                cs,
                -sn,
                cx - cs * cx + sn * cy,
                sn,
                cs,
                cy - sn * cx - cs * cy,
            ],
        }
    }

    /// Zoom by `factor` (> 0; < 1 shrinks the content) about the image centre:
    /// source = (p - c) / factor + c.
    pub fn zoom(w: usize, h: usize, factor: f64) -> Self {
        let (cx, cy) = Self::centre(w, h);
        let k = 1.0 / factor;
        Affine {
            m: [k, 0.0, cx - k * cx, 0.0, k, cy - k * cy],
        }
    }

    /// Shift of the content by (dx, dy) pixels: source = p - d.
    pub fn translation(dx: f64, dy: f64) -> Self {
        Affine {
            m: [1.0, 0.0, -dx, 0.0, 1.0, -dy],
        }
    }

    /// Source coordinates of output pixel (x, y).
    #[inline(always)]
    pub fn map(&self, x: f64, y: f64) -> (f64, f64) {
        let m = &self.m;
        (m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5])
    }
}

#[inline(always)]
fn tap(plane: &[f32], w: usize, h: usize, x: isize, y: isize, border: Border) -> f32 {
    if x >= 0 && y >= 0 && (x as usize) < w && (y as usize) < h {
        return plane[y as usize * w + x as usize];
    }
    match border {
        Border::Reflect => plane[reflect_index(y, h) * w + reflect_index(x, w)],
        Border::Zero => 0.0,
    }
}

/// Bilinear sample of one plane at source coordinates (sx, sy).
#[inline(always)]
pub fn sample_bilinear(plane: &[f32], w: usize, h: usize, sx: f64, sy: f64, border: Border) -> f32 {
    let x0 = sx.floor();
    let y0 = sy.floor();
    let fx = (sx - x0) as f32;
    let fy = (sy - y0) as f32;
    let (x0, y0) = (x0 as isize, y0 as isize);
    let v00 = tap(plane, w, h, x0, y0, border);
    let v10 = tap(plane, w, h, x0 + 1, y0, border);
    let v01 = tap(plane, w, h, x0, y0 + 1, border);
    let v11 = tap(plane, w, h, x0 + 1, y0 + 1, border);
    let top = v00 + fx * (v10 - v00);
    let bottom = v01 + fx * (v11 - v01);
    top + fy * (bottom - top)
}

/// Warp one `w x h` plane with bilinear sampling.
pub fn warp_plane(plane: &[f32], w: usize, h: usize, map: &Affine, border: Border) -> Vec<f32> {
    let img = Image {
        width: w,
        height: h,
        channels: 1,
        data: plane.to_vec(),
    };
    warp_image_with(&img, map, border, |v| v).data
}

/// Warp every plane of an image (bilinear), output clipped to [0, 1].
pub fn warp_image(img: &Image, map: &Affine, border: Border) -> Image {
    warp_image_with(img, map, border, clip01)
}

/// [`warp_image`] quantised to `depth` in the same pass: bit-identical to
/// `warp_image(img, map, border).quantised(depth)`.
pub fn warp_image_quantised(img: &Image, map: &Affine, border: Border, depth: BitDepth) -> Image {
    let m = depth.max_value();
    if depth == BitDepth::U8 {
        // code / 255 from a table instead of a division per sample (the same quotients; the
        // sign of a -0.0 code carried over as the division would)
        let tab: Vec<f32> = (0..256).map(|k| k as f32 / 255.0).collect();
        return warp_image_with(img, map, border, move |v| {
            let c = round_code(clip01(v) * 255.0);
            tab[c as usize].copysign(c)
        });
    }
    warp_image_with(img, map, border, move |v| quantise(v, m))
}

/// Warp every plane with `post` applied to each bilinear sample, in one pass over the output.
///
/// Every output sample is computed exactly as [`sample_bilinear`] computes it (the same f64 map
/// `(m0 x + m1 y) + m2`, f64 floor, f32 weights, the same lerp order), so the result is bit for
/// bit the per-pixel definition; what changes is only where the work goes:
/// - the products `m0 x`, `m3 x` are computed once per column and `m1 y`, `m4 y` once per row
///   (the same products the per-pixel expression forms, so the same sums);
/// - the border rule becomes two index tables (columns and rows, reflected or marked outside)
///   spanning the map's source range, found at the four corners (each coordinate is monotone in
///   x and in y, floating-point addition and scaling being monotone): no division per tap;
/// - the coordinates are computed once per pixel for all channels, and rows whose maps have
///   `m1 = m3 = 0` (scaling, translation) take them from per-column and per-row tables;
/// - the loops run in an AVX2 build of the same code where the CPU has it (runtime dispatch).
pub fn warp_image_with(
    img: &Image,
    map: &Affine,
    border: Border,
    post: impl Fn(f32) -> f32 + Sync,
) -> Image {
    let mut out = Image::new(img.width, img.height, img.channels);
    warp_into(img, map, border, post, &mut out.data);
    out
}

/// [`warp_image`] as 8-bit codes into `out` (planar, one byte per sample): the codes of
/// `warp_image_quantised(img, map, border, U8)`, bit for bit.
pub fn warp_image_u8(img: &Image, map: &Affine, border: Border, out: &mut [u8]) {
    warp_into(img, map, border, super::codes::code8, out)
}

/// The one warp loop of [`warp_image_with`] and [`warp_image_u8`]: `post` of every bilinear
/// sample written into `out` (planar, the image's layout), whatever the output sample type.
/// Output tiles of [`TILE_COLS`] columns keep the source rows a tile reads in cache (a rotated
/// row crosses hundreds of source rows); each sample is computed the same way in any order.
pub fn warp_into<T: Copy + Send + Sync>(
    img: &Image,
    map: &Affine,
    border: Border,
    post: impl Fn(f32) -> T + Sync,
    out: &mut [T],
) {
    let (w, h, c) = (img.width, img.height, img.channels);
    assert_eq!(out.len(), img.data.len(), "warp output length");
    if w == 0 || h == 0 || c == 0 {
        return;
    }
    let Some(plan) = Plan::new(w, h, map, border) else {
        // coordinates outside the tables' reach (or not finite): the per-pixel definition
        for (src, dst) in img.planes().zip(out.chunks_mut(w * h)) {
            dst.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
                for (x, o) in row.iter_mut().enumerate() {
                    let (sx, sy) = map.map(x as f64, y as f64);
                    *o = post(sample_bilinear(src, w, h, sx, sy, border));
                }
            });
        }
        return;
    };
    let srcs: Vec<&[f32]> = img.planes().collect();
    // bands of rows, each band holding its rows of every plane
    let band_rows = (16384 / w).clamp(1, 64);
    let mut bands: Vec<(usize, Vec<&mut [T]>)> = (0..h.div_ceil(band_rows))
        .map(|b| (b * band_rows, Vec::with_capacity(c)))
        .collect();
    for plane in out.chunks_mut(w * h) {
        for (b, rows) in plane.chunks_mut(band_rows * w).enumerate() {
            bands[b].1.push(rows);
        }
    }
    bands
        .into_par_iter()
        .for_each(|(y0, mut rows)| plan.run_band(&srcs, y0, &mut rows, &post));
}

/// The longest run of columns whose taps are `(x + d, x + d + 1)` for one d, both inside the
/// row (not OUTSIDE, not reflected): `(x0, x1, d)`, empty `(0, 0, 0)` if none.
fn longest_run(cols: &[(usize, usize, f32)], w: usize) -> (usize, usize, isize) {
    let ok = |x: usize| {
        let (a, b, _) = cols[x];
        a < w && b == a + 1
    };
    let (mut best, mut x) = ((0, 0, 0), 0);
    while x < cols.len() {
        if !ok(x) {
            x += 1;
            continue;
        }
        let d = cols[x].0 as isize - x as isize;
        let start = x;
        while x < cols.len() && ok(x) && cols[x].0 as isize - x as isize == d {
            x += 1;
        }
        if x - start > best.1 - best.0 {
            best = (start, x, d);
        }
    }
    best
}

/// Output columns per tile of [`warp_into`]'s bands.
const TILE_COLS: usize = 16;

/// Index of a tap outside the image under [`Border::Zero`]: past any plane, so `get` gives None.
const OUTSIDE: usize = usize::MAX / 4;

/// Source coordinates beyond this magnitude take the per-pixel path (tables would be too long).
const TABLE_REACH: f64 = 1.0e6;

/// The per-call tables of [`warp_image_with`].
struct Plan {
    w: usize,
    m: [f64; 6],
    /// `m0 x` and `m3 x` per output column.
    ax: Vec<f64>,
    cx: Vec<f64>,
    /// Column tap x -> source column (or OUTSIDE), for x in xlo..; row tap y -> y * w (or OUTSIDE).
    xlo: i64,
    xtab: Vec<usize>,
    ylo: i64,
    ytab: Vec<usize>,
    /// Separable maps (m1 = m3 = 0): per column (tap a, tap b, fx), filled only then.
    cols: Vec<(usize, usize, f32)>,
    /// Separable maps: the longest run of columns `x0..x1` whose taps are the neighbouring
    /// source columns `x + d` and `x + d + 1`, both inside (a translation's interior), as
    /// `(x0, x1, d)`: there the row lerp reads two slices instead of gathering.
    run: (usize, usize, isize),
    /// Separable maps: the columns `c0..c1` outside which both taps are OUTSIDE (a zoomed-out
    /// image's zero margin): there every sample is `0 + f (0 - 0) = +0` whatever the row.
    span: (usize, usize),
    /// Separable maps on an AVX-512 CPU, when the run is short: the span's columns in blocks of
    /// 16 or 8 whose taps are `(a, a + 1)` inside the row and within 32 samples of the block's
    /// first tap, which [`simd::lerp16_avx512`] interpolates with two permutes instead of a
    /// gather per tap (a zoom's interior); columns between blocks are gathered.
    blocks: Vec<PairBlock>,
    separable: bool,
}

/// Columns `x..x + n` of a separable map whose taps are `base + idx[k]` and the sample after it.
struct PairBlock {
    x: usize,
    n: usize,
    base: usize,
    idx: [u32; 16],
    fx: [f32; 16],
}

/// The [`PairBlock`]s of a separable map's span (see [`Plan::blocks`]).
fn pair_blocks(cols: &[(usize, usize, f32)], (c0, c1): (usize, usize), w: usize) -> Vec<PairBlock> {
    let fits = |x: usize, n: usize| {
        let base = cols[x].0;
        base + 32 <= w
            && cols[x..x + n]
                .iter()
                .all(|&(a, b, _)| a >= base && b == a + 1 && b - base <= 31)
    };
    let mut blocks = Vec::new();
    let mut x = c0;
    while x < c1 {
        let Some(n) = [16, 8].into_iter().find(|&n| x + n <= c1 && fits(x, n)) else {
            x += 1;
            continue;
        };
        let (mut idx, mut fx) = ([0u32; 16], [0.0f32; 16]);
        for (k, &(a, _, f)) in cols[x..x + n].iter().enumerate() {
            idx[k] = (a - cols[x].0) as u32;
            fx[k] = f;
        }
        blocks.push(PairBlock {
            x,
            n,
            base: cols[x].0,
            idx,
            fx,
        });
        x += n;
    }
    blocks
}

impl Plan {
    fn new(w: usize, h: usize, map: &Affine, border: Border) -> Option<Plan> {
        let m = map.m;
        let (xmax, ymax) = ((w - 1) as f64, (h - 1) as f64);
        let ax: Vec<f64> = (0..w).map(|x| m[0] * x as f64).collect();
        let cx: Vec<f64> = (0..w).map(|x| m[3] * x as f64).collect();
        let (mut sxlo, mut sxhi, mut sylo, mut syhi) = (
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
        );
        for (x, y) in [(0.0, 0.0), (xmax, 0.0), (0.0, ymax), (xmax, ymax)] {
            let (sx, sy) = map.map(x, y);
            if !(sx.abs() <= TABLE_REACH && sy.abs() <= TABLE_REACH) {
                return None;
            }
            sxlo = sxlo.min(sx);
            sxhi = sxhi.max(sx);
            sylo = sylo.min(sy);
            syhi = syhi.max(sy);
        }
        // one tap of margin either side beyond the corners' floor .. floor + 1
        let (xlo, xhi) = (sxlo.floor() as i64 - 1, sxhi.floor() as i64 + 2);
        let (ylo, yhi) = (sylo.floor() as i64 - 1, syhi.floor() as i64 + 2);
        let table = |lo: i64, hi: i64, n: usize, scale: usize| -> Vec<usize> {
            (lo..=hi)
                .map(|i| {
                    if i >= 0 && (i as usize) < n {
                        i as usize * scale
                    } else {
                        match border {
                            Border::Reflect => reflect_index(i as isize, n) * scale,
                            Border::Zero => OUTSIDE,
                        }
                    }
                })
                .collect()
        };
        let xtab = table(xlo, xhi, w, 1);
        let ytab = table(ylo, yhi, h, w);
        let separable = m[1] == 0.0 && m[3] == 0.0;
        let mut plan = Plan {
            w,
            m,
            ax,
            cx,
            xlo,
            xtab,
            ylo,
            ytab,
            cols: Vec::new(),
            run: (0, 0, 0),
            span: (0, w),
            blocks: Vec::new(),
            separable,
        };
        if separable {
            // m1 * y is the signed zero m1 * 0.0 for every row (y >= 0), so sx depends on x alone
            let by = m[1] * 0.0;
            plan.cols = (0..w)
                .map(|x| {
                    let sx = (plan.ax[x] + by) + m[2];
                    let x0 = sx.floor();
                    let i = (x0 as i64 - plan.xlo) as usize;
                    (plan.xtab[i], plan.xtab[i + 1], (sx - x0) as f32)
                })
                .collect();
        }
        if separable {
            plan.run = longest_run(&plan.cols, w);
            let inside = |&(a, b, _): &(usize, usize, f32)| a != OUTSIDE || b != OUTSIDE;
            let c0 = plan.cols.iter().position(inside).unwrap_or(0);
            let c1 = plan.cols.iter().rposition(inside).map_or(c0, |x| x + 1);
            plan.span = (c0, c1);
            // (a translation's run covers its interior; a zoom's runs are a column or two)
            if plan.run.1 - plan.run.0 < 32 && simd::level() == simd::Level::Avx512 {
                plan.blocks = pair_blocks(&plan.cols, plan.span, w);
            }
        }
        Some(plan)
    }

    fn run_band<T: Copy>(
        &self,
        srcs: &[&[f32]],
        y0: usize,
        rows: &mut [&mut [T]],
        post: &(impl Fn(f32) -> T + Sync),
    ) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { self.run_band_avx2(srcs, y0, rows, post) };
        }
        self.run_band_body(srcs, y0, rows, post)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_band_avx2<T: Copy>(
        &self,
        srcs: &[&[f32]],
        y0: usize,
        rows: &mut [&mut [T]],
        post: &(impl Fn(f32) -> T + Sync),
    ) {
        self.run_band_body(srcs, y0, rows, post)
    }

    #[inline(always)]
    fn run_band_body<T: Copy>(
        &self,
        srcs: &[&[f32]],
        y0: usize,
        rows: &mut [&mut [T]],
        post: &(impl Fn(f32) -> T + Sync),
    ) {
        if self.separable {
            return self.run_band_separable(srcs, y0, rows, post);
        }
        let w = self.w;
        let m = &self.m;
        let nrows = rows[0].len() / w;
        // per-pixel taps and weights of one output row's tile, shared by the channels
        let mut taps = [[0usize; 4]; TILE_COLS];
        let mut fxs = [0.0f32; TILE_COLS];
        let mut fys = [0.0f32; TILE_COLS];
        let mut vals = [0.0f32; TILE_COLS];
        for x0 in (0..w).step_by(TILE_COLS) {
            let x1 = (x0 + TILE_COLS).min(w);
            for r in 0..nrows {
                let y = (y0 + r) as f64;
                let (by, dy) = (m[1] * y, m[4] * y);
                for (k, x) in (x0..x1).enumerate() {
                    let sx = (self.ax[x] + by) + m[2];
                    let sy = (self.cx[x] + dy) + m[5];
                    let (xf, yf) = (sx.floor(), sy.floor());
                    fxs[k] = (sx - xf) as f32;
                    fys[k] = (sy - yf) as f32;
                    // |coordinates| <= TABLE_REACH: the i32 conversion is exact (and vectorises)
                    let i = (xf as i32 as i64 - self.xlo) as usize;
                    let j = (yf as i32 as i64 - self.ylo) as usize;
                    let (xa, xb) = (self.xtab[i], self.xtab[i + 1]);
                    let (ya, yb) = (self.ytab[j], self.ytab[j + 1]);
                    taps[k] = [
                        ya.wrapping_add(xa),
                        ya.wrapping_add(xb),
                        yb.wrapping_add(xa),
                        yb.wrapping_add(xb),
                    ];
                }
                let n = x1 - x0;
                for (src, out) in srcs.iter().zip(rows.iter_mut()) {
                    // the gathers (scalar) first, then `post` over the tile (vectorised)
                    for (((v, t), &fx), &fy) in vals
                        .iter_mut()
                        .zip(&taps[..n])
                        .zip(&fxs[..n])
                        .zip(&fys[..n])
                    {
                        let v00 = src.get(t[0]).copied().unwrap_or(0.0);
                        let v10 = src.get(t[1]).copied().unwrap_or(0.0);
                        let v01 = src.get(t[2]).copied().unwrap_or(0.0);
                        let v11 = src.get(t[3]).copied().unwrap_or(0.0);
                        let top = v00 + fx * (v10 - v00);
                        let bottom = v01 + fx * (v11 - v01);
                        *v = top + fy * (bottom - top);
                    }
                    let out = &mut out[r * w + x0..r * w + x1];
                    for (o, &v) in out.iter_mut().zip(&vals[..n]) {
                        *o = post(v);
                    }
                }
            }
        }
    }

    /// The separable maps (scaling, translation): sy depends on the row alone and sx on the
    /// column alone, so `top = v00 + fx (v10 - v00)` is a function of (source row, x): each
    /// source row's lerp is computed once into a row buffer and reused by every output row
    /// that reads it (a translation's next row reads this row's bottom as its top), then
    /// `top + fy (bottom - top)` runs over whole rows. The same operations on the same values
    /// as the per-pixel definition.
    #[inline(always)]
    fn run_band_separable<T: Copy>(
        &self,
        srcs: &[&[f32]],
        y0: usize,
        rows: &mut [&mut [T]],
        post: &(impl Fn(f32) -> T + Sync),
    ) {
        let w = self.w;
        let m = &self.m;
        let nrows = rows[0].len() / w;
        // outside the span the buffers stay +0 (row_lerp writes the span only)
        let (mut top, mut bottom) = (vec![0.0f32; w], vec![0.0f32; w]);
        let (c0, c1) = self.span;
        // the output of two +0 rows, or of a column outside the span: 0 + fy (0 - 0) = +0
        let zero = post(0.0);
        for (src, out) in srcs.iter().zip(rows.iter_mut()) {
            // the source row offsets held in `top` and `bottom` (none yet)
            let (mut held_top, mut held_bottom) = (usize::MAX - 1, usize::MAX - 1);
            for r in 0..nrows {
                let dy = m[4] * (y0 + r) as f64;
                let sy = (self.cx[0] + dy) + m[5];
                let yf = sy.floor();
                let fy = (sy - yf) as f32;
                let i = (yf as i64 - self.ylo) as usize;
                let (ya, yb) = (self.ytab[i], self.ytab[i + 1]);
                let out = &mut out[r * w..(r + 1) * w];
                if ya >= src.len() && yb >= src.len() {
                    // both rows outside under the zero border (the buffers are left as held)
                    out.fill(zero);
                    continue;
                }
                if ya == held_bottom {
                    std::mem::swap(&mut top, &mut bottom);
                    std::mem::swap(&mut held_top, &mut held_bottom);
                }
                if ya != held_top {
                    self.row_lerp(src, ya, &mut top);
                    held_top = ya;
                }
                if yb != held_bottom {
                    if yb == held_top {
                        bottom.copy_from_slice(&top);
                    } else {
                        self.row_lerp(src, yb, &mut bottom);
                    }
                    held_bottom = yb;
                }
                out[..c0].fill(zero);
                out[c1..].fill(zero);
                for ((o, &t), &b) in out[c0..c1]
                    .iter_mut()
                    .zip(&top[c0..c1])
                    .zip(&bottom[c0..c1])
                {
                    *o = post(t + fy * (b - t));
                }
            }
        }
    }

    /// `v0 + fx (v1 - v0)` of source row offset `ya` (or OUTSIDE) at every output column.
    #[inline(always)]
    fn row_lerp(&self, src: &[f32], ya: usize, buf: &mut [f32]) {
        let gather = |buf: &mut [f32], cols: &[(usize, usize, f32)]| {
            for (o, &(xa, xb, fx)) in buf.iter_mut().zip(cols) {
                let v0 = src.get(ya.wrapping_add(xa)).copied().unwrap_or(0.0);
                let v1 = src.get(ya.wrapping_add(xb)).copied().unwrap_or(0.0);
                *o = v0 + fx * (v1 - v0);
            }
        };
        if ya >= src.len() {
            // a row outside the source under the zero border: every tap reads 0, and
            // 0 + fx (0 - 0) is +0 for every (finite, non-negative) fx
            return buf.fill(0.0);
        }
        // the columns outside the span are +0 already (see run_band_separable)
        let (c0, c1) = self.span;
        let (x0, x1, d) = self.run;
        #[cfg(target_arch = "x86_64")]
        if !self.blocks.is_empty() {
            // SAFETY: blocks are only made on an AVX-512F CPU (Plan::new).
            return unsafe { self.row_lerp_blocks(src, ya, buf) };
        }
        if x1 <= x0 {
            return gather(&mut buf[c0..c1], &self.cols[c0..c1]);
        }
        // a run's taps are inside, so c0 <= x0 <= x1 <= c1
        gather(&mut buf[c0..x0], &self.cols[c0..x0]);
        gather(&mut buf[x1..c1], &self.cols[x1..c1]);
        let a = (ya as isize + x0 as isize + d) as usize;
        let n = x1 - x0;
        let (s0, s1) = (&src[a..a + n], &src[a + 1..a + 1 + n]);
        for (((o, &v0), &v1), &(_, _, fx)) in buf[x0..x1]
            .iter_mut()
            .zip(s0)
            .zip(s1)
            .zip(&self.cols[x0..x1])
        {
            *o = v0 + fx * (v1 - v0);
        }
    }

    /// [`Self::row_lerp`] of a row inside the source through [`Self::blocks`]: the blocks by
    /// permutes, the columns between them gathered, the same `v0 + fx (v1 - v0)` everywhere.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn row_lerp_blocks(&self, src: &[f32], ya: usize, buf: &mut [f32]) {
        let row = &src[ya..ya + self.w];
        let gather = |buf: &mut [f32], cols: &[(usize, usize, f32)]| {
            for (o, &(xa, xb, fx)) in buf.iter_mut().zip(cols) {
                let v0 = row.get(xa).copied().unwrap_or(0.0);
                let v1 = row.get(xb).copied().unwrap_or(0.0);
                *o = v0 + fx * (v1 - v0);
            }
        };
        let (c0, c1) = self.span;
        let mut x = c0;
        for b in &self.blocks {
            gather(&mut buf[x..b.x], &self.cols[x..b.x]);
            let window: &[f32; 32] = row[b.base..b.base + 32].try_into().unwrap();
            let v = simd::lerp16_avx512(window, &b.idx, &b.fx);
            buf[b.x..b.x + b.n].copy_from_slice(&v[..b.n]);
            x = b.x + b.n;
        }
        gather(&mut buf[x..c1], &self.cols[x..c1]);
    }
}

/// Warp a mask with the same map: nearest neighbour, same border rule (zero border reads 0).
pub fn warp_mask(mask: &Mask, map: &Affine, border: Border) -> Mask {
    let (w, h) = (mask.width, mask.height);
    let mut out = Mask::new(w, h);
    out.data
        .par_chunks_mut(w.max(1))
        .enumerate()
        .for_each(|(y, row)| {
            for (x, o) in row.iter_mut().enumerate() {
                let (sx, sy) = map.map(x as f64, y as f64);
                let xi = (sx + 0.5).floor() as isize;
                let yi = (sy + 0.5).floor() as isize;
                *o = if xi >= 0 && yi >= 0 && (xi as usize) < w && (yi as usize) < h {
                    mask.data[yi as usize * w + xi as usize]
                } else {
                    match border {
                        Border::Reflect => {
                            mask.data[reflect_index(yi, h) * w + reflect_index(xi, w)]
                        }
                        Border::Zero => 0,
                    }
                };
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(w: usize, h: usize) -> Vec<f32> {
        (0..w * h)
            .map(|i| ((i % w) as f32 * 0.03 + (i / w) as f32 * 0.05).fract())
            .collect()
    }

    #[test]
    fn identity_and_integer_shift_are_exact() {
        let (w, h) = (9, 7);
        let p = ramp(w, h);
        assert_eq!(
            warp_plane(&p, w, h, &Affine::identity(), Border::Reflect),
            p
        );
        let s = warp_plane(&p, w, h, &Affine::translation(2.0, -1.0), Border::Reflect);
        // output (x, y) = source (x - 2, y + 1)
        assert_eq!(s[3 * w + 5], p[4 * w + 3]);
        // reflected border: output x = 0 reads source x = -2 -> 1 (half-sample symmetric)
        assert_eq!(s[3 * w], p[4 * w + 1]);
        let z = warp_plane(&p, w, h, &Affine::translation(2.0, 0.0), Border::Zero);
        assert_eq!(z[0], 0.0);
    }

    #[test]
    fn quarter_turn_of_a_square_is_a_permutation() {
        let n = 6;
        let p = ramp(n, n);
        let r = warp_plane(&p, n, n, &Affine::rotation(n, n, 90.0), Border::Reflect);
        // content turns counter-clockwise on screen: output (x, y) = source (n-1-y, x)
        for y in 0..n {
            for x in 0..n {
                assert!((r[y * n + x] - p[x * n + (n - 1 - y)]).abs() < 1e-6);
            }
        }
    }

    /// The per-pixel definition, one plane at a time: what the table path must reproduce bit
    /// for bit.
    fn reference(img: &Image, map: &Affine, border: Border) -> Image {
        let (w, h) = (img.width, img.height);
        let mut out = img.clone();
        for (src, dst) in img.planes().zip(out.planes_mut()) {
            for y in 0..h {
                for x in 0..w {
                    let (sx, sy) = map.map(x as f64, y as f64);
                    dst[y * w + x] = sample_bilinear(src, w, h, sx, sy, border);
                }
            }
        }
        out.clip();
        out
    }

    #[test]
    fn table_path_is_the_per_pixel_definition_bit_for_bit() {
        let maps = |w: usize, h: usize| {
            let mut v = vec![
                Affine::identity(),
                Affine::translation(0.37, -2.6),
                Affine::translation(-40.2, 13.01),
                Affine::zoom(w, h, 0.43),
                Affine::zoom(w, h, 0.6),
                Affine::zoom(w, h, 0.01),
                Affine::zoom(w, h, 1.7),
            ];
            for deg in [-90.0, -33.3, 0.7, 45.0, 89.9, 180.0, 271.0] {
                v.push(Affine::rotation(w, h, deg));
            }
            v.push(Affine {
                m: [0.9, 0.31, -3.2, -0.27, 1.13, 5.5],
            });
            v.push(Affine {
                m: [1.0, -0.0, -1e-17, 0.0, 1.0, 2.0 - 1e-16],
            });
            v
        };
        for (w, h, c) in [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (1, 7, 1),
            (8, 1, 3),
            (64, 9, 1),
            // more than one output tile (TILE_COLS) per row, long translation runs, and zooms
            // whose interior takes the pair blocks on AVX-512
            (150, 6, 3),
            (160, 5, 1),
        ] {
            let mut img = Image::new(w, h, c);
            for (i, v) in img.data.iter_mut().enumerate() {
                *v = ((i as f32 * 0.618).fract() * 1.1 - 0.05).clamp(0.0, 1.0);
            }
            for map in maps(w, h) {
                for border in [Border::Reflect, Border::Zero] {
                    let want = reference(&img, &map, border);
                    let got = warp_image(&img, &map, border);
                    let same = want
                        .data
                        .iter()
                        .zip(&got.data)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same, "{w}x{h}x{c} {map:?} {border:?}");
                    let q = warp_image_quantised(&img, &map, border, BitDepth::U8);
                    assert_eq!(
                        q,
                        want.quantised(BitDepth::U8),
                        "{w}x{h}x{c} {map:?} {border:?} quantised"
                    );
                    let mut codes = vec![0u8; img.data.len()];
                    warp_image_u8(&img, &map, border, &mut codes);
                    assert_eq!(codes, q.to_u8(), "{w}x{h}x{c} {map:?} {border:?} u8");
                }
            }
        }
    }

    #[test]
    fn a_zoom_interior_forms_pair_blocks() {
        // the layout the AVX-512 row lerp reads (built on such CPUs; the layout itself is
        // CPU-independent): zoom 0.6 of a 160-wide row under the zero border
        let (w, h) = (160, 4);
        let plan = Plan::new(w, h, &Affine::zoom(w, h, 0.6), Border::Zero).unwrap();
        let blocks = pair_blocks(&plan.cols, plan.span, w);
        let covered: usize = blocks.iter().map(|b| b.n).sum();
        let (c0, c1) = plan.span;
        assert!(covered * 10 >= (c1 - c0) * 8, "{covered} of {}", c1 - c0);
        for b in &blocks {
            assert!(b.base + 32 <= w && c0 <= b.x && b.x + b.n <= c1);
            for k in 0..b.n {
                let (a, bb, fx) = plan.cols[b.x + k];
                assert_eq!((b.base + b.idx[k] as usize, a + 1, b.fx[k]), (a, bb, fx));
            }
        }
        assert_eq!(
            simd::level() == simd::Level::Avx512,
            !plan.blocks.is_empty(),
            "the plan uses them exactly where the CPU has AVX-512F"
        );
    }

    #[test]
    fn mask_follows_the_same_geometry() {
        let (w, h) = (10, 8);
        let mut m = Mask::new(w, h);
        m.data[2 * w + 3] = 1;
        let moved = warp_mask(&m, &Affine::translation(4.0, 1.0), Border::Zero);
        assert_eq!(moved.count(), 1);
        assert_eq!(moved.data[3 * w + 7], 1);
    }
}
