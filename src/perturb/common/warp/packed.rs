//! The general (non-separable) warp of an 8-bit image, read from its codes packed one pixel per
//! u32: the rotation's 8-bit path.
//!
//! Every output sample is the one [`super::warp_image_u8`] writes, bit for bit: the same f64
//! coordinates (`(m0 x + m1 y) + m2`, the products from the plan's per-column tables), f64 floor,
//! f32 weights, the same tap tables (border rule), the same f32 lerps and the same code. What
//! differs is only where the samples come from: a tap reads one u32 holding the pixel's codes
//! (channel k in byte k) instead of one f32 per channel, and turns each code into its sample
//! `code / 255` by the same f32 division the 8-bit reader performs, so the source is one quarter
//! of the bytes (1 MiB for 512 x 512 RGB, cache-resident) and 4 loads per pixel replace 12. The
//! coordinate and lerp loops run over tiles of [`TILE`] columns, compiled per ISA.

use super::{Affine, Border, Plan};
use crate::image::Image;
use crate::perturb::common::codes::{code8, source_codes};
use crate::perturb::common::simd::multiversion;
use rayon::prelude::*;

/// Output columns per tile.
const TILE: usize = 16;

/// An 8-bit image's codes, one u32 per pixel, channel k in byte k (1 to 4 channels).
pub struct PackedCodes {
    width: usize,
    height: usize,
    channels: usize,
    px: Vec<u32>,
}

impl PackedCodes {
    /// None unless every sample of `img` is exactly `code / 255` (an 8-bit source) and it has 1
    /// to 4 channels.
    pub fn new(img: &Image) -> Option<PackedCodes> {
        let (n, c) = (img.plane_len(), img.channels);
        if !(1..=4).contains(&c) || n == 0 {
            return None;
        }
        let codes = source_codes(img)?;
        let mut px = vec![0u32; n];
        px.par_chunks_mut(4096).enumerate().for_each(|(b, chunk)| {
            for (i, p) in chunk.iter_mut().enumerate() {
                let at = b * 4096 + i;
                *p = (0..c).fold(0, |v, k| v | u32::from(codes[k * n + at]) << (8 * k));
            }
        });
        Some(PackedCodes {
            width: img.width,
            height: img.height,
            channels: c,
            px,
        })
    }
}

/// `warp_image_u8` of the image `src` was packed from, if the map is one this path takes (a
/// non-separable map within the plan's reach): true when `out` was written.
pub fn warp_packed_u8(src: &PackedCodes, map: &Affine, border: Border, out: &mut [u8]) -> bool {
    let (w, h, c) = (src.width, src.height, src.channels);
    assert_eq!(out.len(), w * h * c, "warp output length");
    let Some(plan) = Plan::new(w, h, map, border) else {
        return false;
    };
    if plan.separable {
        return false;
    }
    let band_rows = (16384 / w).clamp(1, 64);
    let mut bands: Vec<(usize, Vec<&mut [u8]>)> = (0..h.div_ceil(band_rows))
        .map(|b| (b * band_rows, Vec::with_capacity(c)))
        .collect();
    for plane in out.chunks_mut(w * h) {
        for (b, rows) in plane.chunks_mut(band_rows * w).enumerate() {
            bands[b].1.push(rows);
        }
    }
    // the per-column products, padded to whole tiles (the padding columns are computed and
    // never written)
    let pad = |v: &[f64]| -> Vec<f64> {
        let mut p = v.to_vec();
        p.resize(w.next_multiple_of(TILE), v[w - 1]);
        p
    };
    let cols = Cols {
        ax: pad(&plan.ax),
        cx: pad(&plan.cx),
    };
    bands.into_par_iter().for_each(|(y0, mut rows)| {
        let nrows = rows[0].len() / w;
        for x0 in (0..w).step_by(TILE) {
            for r in 0..nrows {
                tile_row(&plan, &cols, &src.px, x0, y0 + r, r * w, &mut rows);
            }
        }
    });
    true
}

/// The plan's per-column products `m0 x`, `m3 x`, padded to whole tiles.
struct Cols {
    ax: Vec<f64>,
    cx: Vec<f64>,
}

multiversion! {
    /// Output row `y`, columns `x0..x0 + TILE` (clipped to the row), at offset `at` of every
    /// plane's band `rows`.
    fn tile_row(
        plan: &Plan,
        cols: &Cols,
        px: &[u32],
        x0: usize,
        y: usize,
        at: usize,
        rows: &mut [&mut [u8]],
    ) {
        let m = &plan.m;
        let (w, n) = (plan.w, (plan.w - x0).min(TILE));
        let (by, dy) = (m[1] * y as f64, m[4] * y as f64);
        let (ax, cx) = (&cols.ax[x0..x0 + TILE], &cols.cx[x0..x0 + TILE]);
        let (mut ii, mut jj) = ([0i32; TILE], [0i32; TILE]);
        let (mut fx, mut fy) = ([0.0f32; TILE], [0.0f32; TILE]);
        for k in 0..TILE {
            let sx = (ax[k] + by) + m[2];
            let sy = (cx[k] + dy) + m[5];
            let (xf, yf) = (sx.floor(), sy.floor());
            fx[k] = (sx - xf) as f32;
            fy[k] = (sy - yf) as f32;
            // |coordinates| <= TABLE_REACH: the i32 conversion is exact (and vectorises)
            ii[k] = xf as i32;
            jj[k] = yf as i32;
        }
        // the four taps' pixels (scalar loads)
        let mut t = [[0u32; TILE]; 4];
        let (xmin, xmax) = (ii[..n].iter().min(), ii[..n].iter().max());
        let (ymin, ymax) = (jj[..n].iter().min(), jj[..n].iter().max());
        let inside = |lo: Option<&i32>, hi: Option<&i32>, len: usize| {
            lo.is_some_and(|&l| l >= 0) && hi.is_some_and(|&h| (h as i64) + 1 < len as i64)
        };
        let interior = inside(xmin, xmax, w) && inside(ymin, ymax, px.len() / w);
        if interior {
            // every tap inside the image: the table of an in-range index is the index itself
            for k in 0..n {
                let a = jj[k] as usize * w + ii[k] as usize;
                t[0][k] = px[a];
                t[1][k] = px[a + 1];
                t[2][k] = px[a + w];
                t[3][k] = px[a + w + 1];
            }
        } else {
            // the border rule's tables; an OUTSIDE tap reads 0, as the f32 path
            for k in 0..n {
                let i = (ii[k] as i64 - plan.xlo) as usize;
                let j = (jj[k] as i64 - plan.ylo) as usize;
                let (xa, xb) = (plan.xtab[i], plan.xtab[i + 1]);
                let (ya, yb) = (plan.ytab[j], plan.ytab[j + 1]);
                t[0][k] = px.get(ya.wrapping_add(xa)).copied().unwrap_or(0);
                t[1][k] = px.get(ya.wrapping_add(xb)).copied().unwrap_or(0);
                t[2][k] = px.get(yb.wrapping_add(xa)).copied().unwrap_or(0);
                t[3][k] = px.get(yb.wrapping_add(xb)).copied().unwrap_or(0);
            }
        }
        for (ch, plane) in rows.iter_mut().enumerate() {
            let shift = 8 * ch as u32;
            let mut codes = [0u8; TILE];
            for k in 0..TILE {
                let (v00, v10) = (unit(t[0][k], shift), unit(t[1][k], shift));
                let (v01, v11) = (unit(t[2][k], shift), unit(t[3][k], shift));
                let top = v00 + fx[k] * (v10 - v00);
                let bottom = v01 + fx[k] * (v11 - v01);
                codes[k] = code8(top + fy[k] * (bottom - top));
            }
            plane[at + x0..at + x0 + n].copy_from_slice(&codes[..n]);
        }
    }
}

/// The sample of the code in byte `shift / 8` of a packed pixel: `code / 255` in f32, the
/// division the 8-bit reader performs (so the f32 source's very value).
#[inline(always)]
fn unit(p: u32, shift: u32) -> f32 {
    ((p >> shift) & 0xff) as f32 / 255.0
}

#[cfg(test)]
mod tests {
    use super::super::warp_image_u8;
    use super::*;
    use crate::perturb::common::codes::VALUE8;
    use proptest::prelude::*;

    fn image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let mut x = seed | 1;
        let data = (0..w * h * c)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                VALUE8[(x % 256) as usize]
            })
            .collect();
        Image::from_planes(w, h, c, data)
    }

    #[test]
    fn the_unit_sample_is_the_readers_division() {
        for k in 0..=255u32 {
            assert_eq!(unit(k << 16, 16).to_bits(), VALUE8[k as usize].to_bits());
        }
    }

    #[test]
    fn only_8_bit_sources_with_1_to_4_channels_are_packed() {
        assert!(PackedCodes::new(&image(5, 4, 3, 1)).is_some());
        assert!(PackedCodes::new(&image(5, 4, 5, 1)).is_none());
        let mut img = image(5, 4, 1, 1);
        img.data[3] = 0.5; // not a code / 255
        assert!(PackedCodes::new(&img).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Bit for bit the f32 path's codes, for rotations (and a shear: any non-separable map)
        /// about any point, both borders, 1 to 4 channels, partial tiles.
        #[test]
        fn packed_is_the_f32_warp_bit_for_bit(
            w in 1usize..70, h in 1usize..70, c in 1usize..=4, seed in any::<u64>(),
            deg in -180.0f64..180.0, shear in -0.3f64..0.3, zero in any::<bool>(),
        ) {
            let img = image(w, h, c, seed);
            let packed = PackedCodes::new(&img).unwrap();
            let mut map = Affine::rotation(w, h, deg);
            map.m[1] += shear;
            let border = if zero { Border::Zero } else { Border::Reflect };
            let (mut want, mut got) = (vec![0u8; img.data.len()], vec![0u8; img.data.len()]);
            warp_image_u8(&img, &map, border, &mut want);
            if warp_packed_u8(&packed, &map, border, &mut got) {
                prop_assert_eq!(got, want);
            } else {
                // only a separable map (or one beyond the tables' reach) is declined
                prop_assert!(map.m[1] == 0.0 && map.m[3] == 0.0);
            }
        }
    }
}
