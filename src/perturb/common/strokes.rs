//! Anti-aliased strokes along cubic Bezier curves (hairs, fibres), rasterised once as sprites.
//!
//! The curve is flattened into `SEGMENTS` line pieces; a pixel's coverage is
//! `clamp(half_width + 0.5 - d, 0, 1)` with `d` its distance to the polyline (the usual
//! one-pixel box-filter approximation of anti-aliasing), so strokes thinner than a pixel still
//! draw with partial coverage.

use super::objects::Sprite;

const SEGMENTS: usize = 32;

/// Point of the cubic Bezier with control points `p` at parameter `t` in [0, 1].
#[inline]
pub fn bezier_point(p: &[(f32, f32); 4], t: f32) -> (f32, f32) {
    let u = 1.0 - t;
    let (a, b, c, d) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
    (
        a * p[0].0 + b * p[1].0 + c * p[2].0 + d * p[3].0,
        a * p[0].1 + b * p[1].1 + c * p[2].1 + d * p[3].1,
    )
}

/// Distance from (x, y) to the segment a-b.
#[inline]
fn dist_to_segment(x: f32, y: f32, a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((x - a.0) * dx + (y - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (px, py) = (a.0 + t * dx - x, a.1 + t * dy - y);
    (px * px + py * py).sqrt()
}

/// Coverage sprite of a stroke of `half_width` px along the Bezier `p`, clipped to the image.
/// `None` if the stroke misses the image.
pub fn bezier_stroke(
    img_w: usize,
    img_h: usize,
    p: &[(f32, f32); 4],
    half_width: f32,
) -> Option<Sprite> {
    let pts: Vec<(f32, f32)> = (0..=SEGMENTS)
        .map(|i| bezier_point(p, i as f32 / SEGMENTS as f32))
        .collect();
    let pad = half_width + 1.0;
    let (mut xmin, mut ymin, mut xmax, mut ymax) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for &(x, y) in &pts {
        xmin = xmin.min(x);
        ymin = ymin.min(y);
        xmax = xmax.max(x);
        ymax = ymax.max(y);
    }
    // distance field over the stroke's box, filled segment by segment (each segment only visits
    // its own padded box), then turned into coverage
    let mut sprite = Sprite::from_fn(
        img_w,
        img_h,
        (xmin - pad, ymin - pad, xmax + pad, ymax + pad),
        |_, _| 0.0,
    )?;
    let mut dist = vec![f32::MAX; sprite.w * sprite.h];
    for seg in pts.windows(2) {
        let (a, b) = (seg[0], seg[1]);
        let x0 = (a.0.min(b.0) - pad).floor().max(sprite.x0 as f32) as usize;
        let y0 = (a.1.min(b.1) - pad).floor().max(sprite.y0 as f32) as usize;
        let x1 =
            ((a.0.max(b.0) + pad).ceil() + 1.0).clamp(0.0, (sprite.x0 + sprite.w) as f32) as usize;
        let y1 =
            ((a.1.max(b.1) + pad).ceil() + 1.0).clamp(0.0, (sprite.y0 + sprite.h) as f32) as usize;
        for y in y0..y1 {
            for x in x0..x1 {
                let k = (y - sprite.y0) * sprite.w + (x - sprite.x0);
                dist[k] = dist[k].min(dist_to_segment(x as f32, y as f32, a, b));
            }
        }
    }
    for (a, d) in sprite.alpha.iter_mut().zip(&dist) {
        *a = (half_width + 0.5 - d).clamp(0.0, 1.0);
    }
    Some(sprite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_boxes_equal_the_full_scan() {
        // the segment-box fill gives the same coverage as scanning every pixel against every segment
        let p = [(3.0, 30.0), (20.0, -5.0), (45.0, 50.0), (60.0, 12.0)];
        let s = bezier_stroke(64, 48, &p, 1.3).unwrap();
        let pts: Vec<(f32, f32)> = (0..=SEGMENTS)
            .map(|i| bezier_point(&p, i as f32 / SEGMENTS as f32))
            .collect();
        for yy in 0..s.h {
            for xx in 0..s.w {
                let (x, y) = ((s.x0 + xx) as f32, (s.y0 + yy) as f32);
                let d = pts
                    .windows(2)
                    .map(|g| dist_to_segment(x, y, g[0], g[1]))
                    .fold(f32::MAX, f32::min);
                assert_eq!(s.alpha[yy * s.w + xx], (1.3 + 0.5 - d).clamp(0.0, 1.0));
            }
        }
    }

    #[test]
    fn straight_stroke_covers_its_line() {
        // a straight horizontal "curve" at y = 5 from x = 2 to x = 17, half width 1
        let p = [(2.0, 5.0), (7.0, 5.0), (12.0, 5.0), (17.0, 5.0)];
        let s = bezier_stroke(20, 10, &p, 1.0).unwrap();
        let at = |x: usize, y: usize| s.alpha[(y - s.y0) * s.w + (x - s.x0)];
        assert_eq!(at(10, 5), 1.0);
        assert_eq!(at(10, 6), 0.5); // distance 1 = half width: coverage 0.5
        assert_eq!(at(10, 7), 0.0);
    }
}
