//! Apply one grey-level model to every channel. CT, MRI, ultrasound and X-ray are grey by nature:
//! on an RGB copy of such an image the same field (noise, bias, shadow) is applied to each channel,
//! so a grey image repeated into RGB stays grey.
//!
//! Contract: `f(i, v)` gets the pixel index `i` within the plane (`y * w + x`) and the input value
//! `v`; the result is clipped to [0, 1] (NaN to 0). Rows are processed in parallel, each value
//! computed independently, so the output does not depend on the thread count.

use super::codes::{code8, codes_into};
use crate::image::Image;
use rayon::prelude::*;

/// `out[c][i] = clip(f(i, img[c][i]))` for every channel `c`.
pub fn map_pixels<F>(img: &Image, f: F) -> Image
where
    F: Fn(usize, f32) -> f32 + Sync,
{
    let n = img.plane_len();
    let w = img.width.max(1);
    let mut out = img.clone();
    out.data
        .par_chunks_mut(w)
        .enumerate()
        .for_each(|(row, chunk)| {
            let base = (row * w) % n.max(1);
            for (j, v) in chunk.iter_mut().enumerate() {
                let r = f(base + j, *v);
                *v = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
            }
        });
    out
}

/// The codes of [`map_pixels`]'s image (`code8` of every clipped sample, planar) written into
/// `out`, without the f32 image: the 8-bit path (`Prepared::apply_u8`) of the ops built on it.
/// Bit for bit `codes_into(&map_pixels(img, f), out)`: the same `f` on the same samples, and
/// `code8` clips exactly as `map_pixels` does (clipping twice is clipping once).
pub fn map_pixels_u8<F>(img: &Image, f: F, out: &mut [u8])
where
    F: Fn(usize, f32) -> f32 + Sync,
{
    assert_eq!(out.len(), img.data.len(), "8-bit output length");
    let n = img.plane_len();
    let w = img.width.max(1);
    out.par_chunks_mut(w)
        .zip(img.data.par_chunks(w))
        .enumerate()
        .for_each(|(row, (o, src))| {
            let base = (row * w) % n.max(1);
            for (j, (o, &v)) in o.iter_mut().zip(src).enumerate() {
                *o = code8(f(base + j, v));
            }
        });
}

/// A pointwise model's `apply`: the image itself at `s <= 0`, else [`map_pixels`] of `f`.
pub fn pointwise<F>(img: &Image, s: f32, f: F) -> Image
where
    F: Fn(usize, f32) -> f32 + Sync,
{
    if s <= 0.0 {
        return img.clone();
    }
    map_pixels(img, f)
}

/// [`pointwise`]'s 8-bit path (`Prepared::apply_u8`): its image's codes, no f32 image.
pub fn pointwise_u8<F>(img: &Image, s: f32, f: F, out: &mut [u8])
where
    F: Fn(usize, f32) -> f32 + Sync,
{
    if s <= 0.0 {
        return codes_into(img, out);
    }
    map_pixels_u8(img, f, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_field_on_every_channel_and_clipped() {
        let img = Image::from_planes(
            2,
            2,
            3,
            vec![0.1, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3, 0.4, 0.9, 0.9, 0.9, 0.9],
        );
        let out = map_pixels(&img, |i, v| v + i as f32 * 0.1);
        assert_eq!(out.plane(0), out.plane(1));
        let expect = [0.1, 0.3, 0.5, 0.7];
        for (a, b) in out.plane(0).iter().zip(expect) {
            assert!((a - b).abs() < 1e-6);
        }
        assert_eq!(out.plane(2), &[0.9, 1.0, 1.0, 1.0]);
    }
}
