//! RGB <-> HSV conversion on [0, 1] floats (hue in turns, [0, 1)), the standard hexcone model
//! (Smith 1978; same formulas as Python's `colorsys` and OpenCV's float path). Round trip is
//! exact to f32 rounding.

/// (r, g, b) in [0, 1] -> (h in [0, 1) turns, s in [0, 1], v in [0, 1]).
#[inline]
pub fn rgb_to_hsv(r: f32, g: f32, b: f32) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let v = max;
    let c = max - min;
    if c <= 0.0 || max <= 0.0 {
        return (0.0, 0.0, v);
    }
    let s = c / max;
    let h6 = if max == r {
        ((g - b) / c).rem_euclid(6.0)
    } else if max == g {
        (b - r) / c + 2.0
    } else {
        (r - g) / c + 4.0
    };
    ((h6 / 6.0).rem_euclid(1.0), s, v)
}

/// (h in turns (any real, wrapped), s, v) -> (r, g, b).
#[inline]
pub fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    if s <= 0.0 {
        return (v, v, v);
    }
    let h6 = h.rem_euclid(1.0) * 6.0;
    let i = (h6.floor() as i32).rem_euclid(6);
    let f = h6 - h6.floor();
    let p = v * (1.0 - s);
    let q = v * (1.0 - s * f);
    let t = v * (1.0 - s * (1.0 - f));
    match i {
        0 => (v, t, p),
        1 => (q, v, p),
        2 => (p, v, t),
        3 => (p, q, v),
        4 => (t, p, v),
        _ => (v, p, q),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // colorsys.rgb_to_hsv(1, 0, 0) == (0, 1, 1); (0, 1, 0) -> (1/3, 1, 1); (0.2, 0.4, 0.8) -> (0.6111.., 0.75, 0.8)
        assert_eq!(rgb_to_hsv(1.0, 0.0, 0.0), (0.0, 1.0, 1.0));
        let (h, s, v) = rgb_to_hsv(0.0, 1.0, 0.0);
        assert!((h - 1.0 / 3.0).abs() < 1e-6 && s == 1.0 && v == 1.0);
        let (h, s, v) = rgb_to_hsv(0.2, 0.4, 0.8);
        assert!(
            (h - 0.611_111_1).abs() < 1e-6 && (s - 0.75).abs() < 1e-6 && (v - 0.8).abs() < 1e-6
        );
    }

    #[test]
    fn round_trip() {
        for i in 0..1000 {
            let r = (i % 10) as f32 / 9.0;
            let g = ((i / 10) % 10) as f32 / 9.0;
            let b = (i / 100) as f32 / 9.0;
            let (h, s, v) = rgb_to_hsv(r, g, b);
            let (r2, g2, b2) = hsv_to_rgb(h, s, v);
            assert!(
                (r - r2).abs() < 1e-5 && (g - g2).abs() < 1e-5 && (b - b2).abs() < 1e-5,
                "{r} {g} {b}"
            );
        }
    }
}
