//! Smooth random fields: a coarse grid of uniforms from the keyed RNG, upsampled with
//! Catmull-Rom bicubic interpolation. Used for haze, stain variation, blob placement and similar
//! low-frequency patterns. Deterministic: a pure function of (rng, stream, size, cells).

use crate::rng::Rng;

/// A field of `w x h` values in [0, 1] (min-max normalised over the field), varying on the
/// scale of `w / cells` pixels. `cells >= 1`.
pub fn smooth_field(rng: &Rng, stream: u32, w: usize, h: usize, cells: usize) -> Vec<f32> {
    let cells = cells.max(1);
    let gw = cells + 3;
    let gh = cells + 3;
    let grid: Vec<f32> = (0..gw * gh)
        .map(|i| rng.uniform(stream, i as u32))
        .collect();
    let mut out = vec![0.0f32; w * h];
    for y in 0..h {
        // grid coordinate: pixel centre mapped onto [1, cells + 1]
        let gy = 1.0 + (y as f32 + 0.5) / h as f32 * cells as f32;
        let iy = gy.floor() as usize;
        let ty = gy - iy as f32;
        let wy = catmull_rom(ty);
        for x in 0..w {
            let gx = 1.0 + (x as f32 + 0.5) / w as f32 * cells as f32;
            let ix = gx.floor() as usize;
            let tx = gx - ix as f32;
            let wx = catmull_rom(tx);
            let mut acc = 0.0;
            for (j, wyj) in wy.iter().enumerate() {
                let row = (iy + j - 1).min(gh - 1) * gw;
                for (i, wxi) in wx.iter().enumerate() {
                    acc += wyj * wxi * grid[row + (ix + i - 1).min(gw - 1)];
                }
            }
            out[y * w + x] = acc;
        }
    }
    normalise(&mut out);
    out
}

fn catmull_rom(t: f32) -> [f32; 4] {
    let t2 = t * t;
    let t3 = t2 * t;
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

/// Min-max normalise in place to [0, 1]; a constant field becomes 0.5.
pub fn normalise(v: &mut [f32]) {
    let (lo, hi) = v
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let span = hi - lo;
    for x in v.iter_mut() {
        *x = if span > 0.0 { (*x - lo) / span } else { 0.5 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_is_deterministic_and_normalised() {
        let r = Rng::new(1, 2, 3);
        let a = smooth_field(&r, 5, 40, 30, 4);
        let b = smooth_field(&r, 5, 40, 30, 4);
        assert_eq!(a, b);
        let (lo, hi) = a
            .iter()
            .fold((1.0f32, 0.0f32), |(l, h), &x| (l.min(x), h.max(x)));
        assert_eq!((lo, hi), (0.0, 1.0));
        // smooth: neighbouring pixels differ little
        let max_step = a
            .chunks(40)
            .flat_map(|row| row.windows(2).map(|w| (w[1] - w[0]).abs()))
            .fold(0.0, f32::max);
        assert!(max_step < 0.2, "{max_step}");
    }
}
