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
use crate::image::{Image, Mask};
use rayon::prelude::*;

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
        Affine { m: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0] }
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
        Affine { m: [cs, -sn, cx - cs * cx + sn * cy, sn, cs, cy - sn * cx - cs * cy] }
    }

    /// Zoom by `factor` (> 0; < 1 shrinks the content) about the image centre:
    /// source = (p - c) / factor + c.
    pub fn zoom(w: usize, h: usize, factor: f64) -> Self {
        let (cx, cy) = Self::centre(w, h);
        let k = 1.0 / factor;
        Affine { m: [k, 0.0, cx - k * cx, 0.0, k, cy - k * cy] }
    }

    /// Shift of the content by (dx, dy) pixels: source = p - d.
    pub fn translation(dx: f64, dy: f64) -> Self {
        Affine { m: [1.0, 0.0, -dx, 0.0, 1.0, -dy] }
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
    let mut out = vec![0.0f32; w * h];
    warp_plane_into(plane, w, h, map, border, &mut out);
    out
}

fn warp_plane_into(plane: &[f32], w: usize, h: usize, map: &Affine, border: Border, out: &mut [f32]) {
    out.par_chunks_mut(w.max(1)).enumerate().for_each(|(y, row)| {
        for (x, o) in row.iter_mut().enumerate() {
            let (sx, sy) = map.map(x as f64, y as f64);
            *o = sample_bilinear(plane, w, h, sx, sy, border);
        }
    });
}

/// Warp every plane of an image (bilinear), output clipped to [0, 1].
pub fn warp_image(img: &Image, map: &Affine, border: Border) -> Image {
    let (w, h) = (img.width, img.height);
    let mut out = Image::new(w, h, img.channels);
    for (src, dst) in img.planes().zip(out.planes_mut()) {
        warp_plane_into(src, w, h, map, border, dst);
    }
    out.clip();
    out
}

/// Warp a mask with the same map: nearest neighbour, same border rule (zero border reads 0).
pub fn warp_mask(mask: &Mask, map: &Affine, border: Border) -> Mask {
    let (w, h) = (mask.width, mask.height);
    let mut out = Mask::new(w, h);
    out.data.par_chunks_mut(w.max(1)).enumerate().for_each(|(y, row)| {
        for (x, o) in row.iter_mut().enumerate() {
            let (sx, sy) = map.map(x as f64, y as f64);
            let xi = (sx + 0.5).floor() as isize;
            let yi = (sy + 0.5).floor() as isize;
            *o = if xi >= 0 && yi >= 0 && (xi as usize) < w && (yi as usize) < h {
                mask.data[yi as usize * w + xi as usize]
            } else {
                match border {
                    Border::Reflect => mask.data[reflect_index(yi, h) * w + reflect_index(xi, w)],
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
        (0..w * h).map(|i| ((i % w) as f32 * 0.03 + (i / w) as f32 * 0.05).fract()).collect()
    }

    #[test]
    fn identity_and_integer_shift_are_exact() {
        let (w, h) = (9, 7);
        let p = ramp(w, h);
        assert_eq!(warp_plane(&p, w, h, &Affine::identity(), Border::Reflect), p);
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
