//! The 8-bit path: a perturbation's quantised output written straight as 8-bit codes (planar,
//! one byte per sample), and an 8-bit source read as its codes.
//!
//! `Prepared::apply_u8(s, out)` writes the codes `apply_quantised(s, U8)` holds (its samples are
//! `code / 255`); these helpers are the pieces its fast overrides share:
//! - [`code8`]: one sample's code, `round_code(clip01(v) * 255)`, the crate's one quantisation
//!   rule (`crate::perturb::common::quant`), vectorisable;
//! - [`source_codes`]: the codes of an image whose every sample is exactly `code / 255` (an
//!   8-bit file as read), so lookup-table ops index by the source byte;
//! - [`VALUE8`]: `code as f32 / 255.0`, the sample an 8-bit code is read as (`io` divides the
//!   same way), so a table built from it computes the op's f32 formula on the very sample;
//! - [`apply_lut`]: per-plane 256-entry tables over the source codes.

use super::quant::clip01;
use crate::image::Image;
use rayon::prelude::*;
use std::sync::LazyLock;

/// `k as f32 / 255.0` for every 8-bit code k: the sample an 8-bit code is read as.
pub static VALUE8: LazyLock<[f32; 256]> =
    LazyLock::new(|| std::array::from_fn(|k| k as f32 / 255.0));

/// The 8-bit code of one sample: clip to [0, 1] (NaN as 0), nearest of 255 codes, halves away
/// from zero; the code `Image::to_u8` writes and `quantised(U8)` holds as `code / 255`
/// (`round_code(clip01(v) * 255)`), in float and integer operations that vectorise (a float to
/// integer conversion does not, on baseline x86-64): for t in [0, 255], `(t + 2^23) - 2^23` is
/// t rounded to the nearest integer, ties to even; `t - r` is exact, so a tie shows as 0.5 and
/// moves up (away from zero); the integer r < 2^23 is the low mantissa bits of `r + 2^23`.
#[inline(always)]
pub fn code8(v: f32) -> u8 {
    const TWO23: f32 = 8_388_608.0;
    let t = clip01(v) * 255.0;
    let r = (t + TWO23) - TWO23;
    let c = if t - r == 0.5 { r + 1.0 } else { r };
    ((c + TWO23).to_bits() & 0xff) as u8
}

/// The codes of every sample (planar, as `data`), if each one is exactly `code / 255`; None
/// for an image that is not 8-bit valued (a 16-bit source, or computed samples).
pub fn source_codes(img: &Image) -> Option<Vec<u8>> {
    let tab = &*VALUE8;
    let mut out = vec![0u8; img.data.len()];
    let exact = out
        .par_chunks_mut(CHUNK)
        .zip(img.data.par_chunks(CHUNK))
        .all(|(o, s)| {
            let mut ok = true;
            for (o, &v) in o.iter_mut().zip(s) {
                let k = code8(v);
                *o = k;
                ok &= tab[k as usize].to_bits() == v.to_bits();
            }
            ok
        });
    exact.then_some(out)
}

/// An image's codes (`Image::to_u8`) into `out`, in parallel.
pub fn codes_into(img: &Image, out: &mut [u8]) {
    img.to_u8_into(out)
}

/// Samples per parallel task of the 8-bit loops (the base family's `map_chunks` chunk).
pub const CHUNK: usize = 16384;

/// Apply a per-plane 256-entry table to source codes: `out[i] = lut[c][src[i]]`.
pub fn apply_lut(src: &[u8], plane_len: usize, luts: &[[u8; 256]], out: &mut [u8]) {
    assert_eq!(out.len(), src.len(), "8-bit output length");
    let n = plane_len.max(1);
    for ((s, d), lut) in src
        .chunks(n)
        .zip(out.chunks_mut(n))
        .zip(luts.iter().cycle())
    {
        d.par_chunks_mut(CHUNK)
            .zip(s.par_chunks(CHUNK))
            .for_each(|(d, s)| {
                for (o, &k) in d.iter_mut().zip(s) {
                    *o = lut[k as usize];
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::BitDepth;
    use crate::perturb::common::quant::round_code;

    #[test]
    fn code8_is_round_code_near_every_half_and_whole_code() {
        for k in 0..=255u32 {
            for centre in [k as f32, k as f32 + 0.5] {
                let mut t = centre;
                for _ in 0..6 {
                    t = f32::from_bits(t.to_bits().saturating_sub(1));
                }
                for _ in 0..13 {
                    // the sample whose scaled value is t, and t's own neighbours as samples
                    for v in [t / 255.0, f32::from_bits((t / 255.0).to_bits() + 1)] {
                        let want = round_code(clip01(v) * 255.0) as u8;
                        assert_eq!(code8(v), want, "{v}");
                    }
                    t = f32::from_bits(t.to_bits() + 1);
                }
            }
        }
    }

    #[test]
    fn code8_is_the_written_code() {
        let vals: Vec<f32> = (0..=20000)
            .map(|i| i as f32 / 20000.0 * 1.2 - 0.1)
            .chain([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0])
            .collect();
        let img = Image::from_planes(vals.len(), 1, 1, vals.clone());
        let want = img.to_u8();
        let q = img.quantised(BitDepth::U8).to_u8();
        for ((v, w), q) in vals.iter().zip(&want).zip(&q) {
            assert_eq!(code8(*v), *w, "{v}");
            assert_eq!(code8(*v), *q, "{v}");
        }
    }

    #[test]
    fn source_codes_only_for_exact_8_bit_samples() {
        let img = Image::from_planes(256, 1, 1, VALUE8.to_vec());
        let codes = source_codes(&img).unwrap();
        assert!(codes.iter().enumerate().all(|(k, &c)| c as usize == k));
        let mut off = img.clone();
        off.data[17] = 17.4 / 255.0;
        assert!(source_codes(&off).is_none());
        let sixteen = Image::from_planes(1, 1, 1, vec![1.0 / 65535.0]);
        assert!(source_codes(&sixteen).is_none());
    }
}
