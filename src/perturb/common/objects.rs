//! Fixed nested object lists (spots, bubbles, blobs, hairs) rasterised once as alpha sprites.
//!
//! Rule 1 of the catalogue: an object list is drawn in `prepare` at its maximal length from
//! `rng.object(list, i, n)`; strength never redraws it. [`prefix_weight`] turns a list fraction
//! `t` into per-object weights that fade objects in one after another, so the visible set is a
//! nested prefix AND the image changes continuously with `t` (no SSIM jumps when an object
//! appears). Coordinates: pixel (x, y) has its centre at (x, y) in pixel units.

/// Weight in [0, 1] of object `i` of a nested list of `n` at list fraction `t` in [0, 1]:
/// `clamp(t * n - i, 0, 1)`. Object i is absent while t <= i/n, fully present from t >= (i+1)/n.
#[inline]
pub fn prefix_weight(t: f32, n: usize, i: usize) -> f32 {
    (t * n as f32 - i as f32).clamp(0.0, 1.0)
}

/// An alpha raster over the bounding box `[x0, x0 + w) x [y0, y0 + h)` of a `img_w x img_h` image.
#[derive(Clone, Debug)]
pub struct Sprite {
    pub x0: usize,
    pub y0: usize,
    pub w: usize,
    pub h: usize,
    /// Row-major, `w * h` values in [0, 1].
    pub alpha: Vec<f32>,
}

impl Sprite {
    /// Evaluate `f(x, y)` (pixel-centre coordinates of the image) over the box
    /// `[xmin, xmax] x [ymin, ymax]` clipped to the image. `None` if the box misses the image.
    pub fn from_fn(
        img_w: usize,
        img_h: usize,
        (xmin, ymin, xmax, ymax): (f32, f32, f32, f32),
        f: impl Fn(f32, f32) -> f32,
    ) -> Option<Sprite> {
        let x0 = xmin.floor().max(0.0) as usize;
        let y0 = ymin.floor().max(0.0) as usize;
        let x1 = (xmax.ceil() + 1.0).clamp(0.0, img_w as f32) as usize;
        let y1 = (ymax.ceil() + 1.0).clamp(0.0, img_h as f32) as usize;
        if x0 >= x1 || y0 >= y1 {
            return None;
        }
        let (w, h) = (x1 - x0, y1 - y0);
        let mut alpha = Vec::with_capacity(w * h);
        for y in y0..y1 {
            for x in x0..x1 {
                alpha.push(f(x as f32, y as f32).clamp(0.0, 1.0));
            }
        }
        Some(Sprite {
            x0,
            y0,
            w,
            h,
            alpha,
        })
    }

    /// Visit every (image index, alpha) of the sprite with alpha > 0.
    #[inline]
    pub fn for_each(&self, img_w: usize, mut f: impl FnMut(usize, f32)) {
        for yy in 0..self.h {
            let row = (self.y0 + yy) * img_w + self.x0;
            for xx in 0..self.w {
                let a = self.alpha[yy * self.w + xx];
                if a > 0.0 {
                    f(row + xx, a);
                }
            }
        }
    }
}

/// Anti-aliased disc coverage at distance `d` from the centre: 1 inside `r - soft/2`, 0 outside
/// `r + soft/2`, linear in between (`soft` > 0 px).
#[inline]
pub fn disc_coverage(d: f32, r: f32, soft: f32) -> f32 {
    ((r - d) / soft + 0.5).clamp(0.0, 1.0)
}

/// A ring profile: 1 at `d == r`, falling linearly to 0 at `|d - r| == half_width`.
#[inline]
pub fn ring_profile(d: f32, r: f32, half_width: f32) -> f32 {
    (1.0 - (d - r).abs() / half_width).clamp(0.0, 1.0)
}

/// Exact coverage of the unit pixel `[x - 0.5, x + 0.5]` by the interval `[lo, hi]`: 0 for an
/// empty interval, continuous and non-decreasing as the interval widens (1-px anti-aliased edges).
#[inline]
pub fn interval_coverage(x: f32, lo: f32, hi: f32) -> f32 {
    (hi.min(x + 0.5) - lo.max(x - 0.5)).clamp(0.0, 1.0)
}

/// Combine coverages of overlapping objects as independent occluders: `1 - prod(1 - a_i)`,
/// accumulated into `acc` (start from zeros).
#[inline]
pub fn union_alpha(acc: &mut f32, a: f32) {
    *acc = 1.0 - (1.0 - *acc) * (1.0 - a);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_weights_are_nested_and_continuous() {
        let n = 5;
        for i in 0..n {
            assert_eq!(prefix_weight(0.0, n, i), 0.0);
            assert_eq!(prefix_weight(1.0, n, i), 1.0);
        }
        // at t = 0.5: objects 0, 1 full, object 2 half, 3, 4 absent
        let w: Vec<f32> = (0..n).map(|i| prefix_weight(0.5, n, i)).collect();
        assert_eq!(w, vec![1.0, 1.0, 0.5, 0.0, 0.0]);
    }

    #[test]
    fn interval_coverage_values() {
        assert_eq!(interval_coverage(3.0, 3.0, 3.0), 0.0);
        assert_eq!(interval_coverage(3.0, 2.75, 3.25), 0.5);
        assert_eq!(interval_coverage(3.0, 0.0, 10.0), 1.0);
        assert_eq!(interval_coverage(3.0, 3.25, 10.0), 0.25);
    }

    #[test]
    fn sprite_clips_to_image() {
        let s = Sprite::from_fn(10, 8, (-3.0, -3.0, 2.0, 2.0), |x, y| {
            disc_coverage((x * x + y * y).sqrt(), 2.0, 1.0)
        })
        .unwrap();
        assert_eq!((s.x0, s.y0, s.w, s.h), (0, 0, 3, 3));
        assert_eq!(s.alpha[0], 1.0);
        assert!(Sprite::from_fn(10, 8, (20.0, 0.0, 30.0, 5.0), |_, _| 1.0).is_none());
    }
}
