//! Where the object is: the support of the imaged body (CT body, ultrasound scan cone) and its
//! centre, for perturbations whose model is defined relative to the anatomy (beam-hardening
//! cupping about the body centre, ultrasound artefacts confined to the cone).
//!
//! Contract: the body is the set of pixels whose luminance (mean over channels) exceeds
//! [`BODY_THRESHOLD`] on the fixed [0, 1] scale. Its centre is the centroid of those pixels,
//! `r_max` the largest distance from the centre to a body pixel centre. An image with no body
//! pixel uses the image centre and half the diagonal, so the model stays defined.

/// Luminance above which a pixel counts as body / inside the cone (air and the area outside an
/// ultrasound sector are black, 0, on the phantoms and on typical scans).
pub const BODY_THRESHOLD: f32 = 0.05;

/// Mean over channels of a planar image's pixels.
pub fn mean_plane(data: &[f32], w: usize, h: usize, channels: usize) -> Vec<f32> {
    let n = w * h;
    let mut out = vec![0.0f32; n];
    for c in 0..channels {
        for (o, v) in out.iter_mut().zip(&data[c * n..(c + 1) * n]) {
            *o += v;
        }
    }
    let k = 1.0 / channels.max(1) as f32;
    out.iter_mut().for_each(|v| *v *= k);
    out
}

/// Centre and radius of the body in pixel coordinates (pixel (x, y) has centre (x, y)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BodyGeometry {
    pub cx: f64,
    pub cy: f64,
    pub r_max: f64,
}

impl BodyGeometry {
    /// Centroid of pixels with `lum > BODY_THRESHOLD` and the max distance of those pixels.
    pub fn of(lum: &[f32], w: usize, h: usize) -> BodyGeometry {
        let (mut sx, mut sy, mut n) = (0.0f64, 0.0f64, 0usize);
        for y in 0..h {
            for x in 0..w {
                if lum[y * w + x] > BODY_THRESHOLD {
                    sx += x as f64;
                    sy += y as f64;
                    n += 1;
                }
            }
        }
        if n == 0 {
            let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
            return BodyGeometry {
                cx,
                cy,
                r_max: (cx * cx + cy * cy).sqrt().max(1.0),
            };
        }
        let (cx, cy) = (sx / n as f64, sy / n as f64);
        let mut r2 = 0.0f64;
        for y in 0..h {
            for x in 0..w {
                if lum[y * w + x] > BODY_THRESHOLD {
                    r2 = r2.max((x as f64 - cx).powi(2) + (y as f64 - cy).powi(2));
                }
            }
        }
        BodyGeometry {
            cx,
            cy,
            r_max: r2.sqrt().max(1.0),
        }
    }
}

/// Binary support (1 inside the body / cone, 0 outside), as f32 for blending.
pub fn support(lum: &[f32]) -> Vec<f32> {
    lum.iter()
        .map(|&v| if v > BODY_THRESHOLD { 1.0 } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centroid_and_radius_of_a_square() {
        let (w, h) = (10, 8);
        let mut lum = vec![0.0; w * h];
        for y in 2..5 {
            for x in 3..6 {
                lum[y * w + x] = 0.5;
            }
        }
        let g = BodyGeometry::of(&lum, w, h);
        assert_eq!((g.cx, g.cy), (4.0, 3.0));
        assert!((g.r_max - 2f64.sqrt()).abs() < 1e-12);
        let empty = BodyGeometry::of(&vec![0.0; w * h], w, h);
        assert_eq!((empty.cx, empty.cy), (4.5, 3.5));
    }
}
