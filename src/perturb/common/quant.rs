//! Quantisation of one sample to a bit depth's codes, as `Image::quantised` does it (clip to
//! [0, 1] with NaN as 0, `(v * max).round() / max`), written so it vectorises on baseline x86-64:
//! `f32::round` there is a libm call per sample; this is a truncating conversion, a compare and
//! an add, exact for the `[0, 65535]` range the clipped, scaled sample lives in.

/// `Image::clip` of one sample: NaN becomes 0, then clamp to [0, 1].
#[inline(always)]
pub fn clip01(v: f32) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(0.0, 1.0)
    }
}

/// `(v * max).round()` for v in [0, 1] and max <= 65535 (round half away from zero): truncation
/// is exact there (< 2^23), `v - t` is exact (Sterbenz), so `t + (v - t >= 0.5)` is the rounding
/// (with `round`'s sign: -0.0 stays -0.0).
#[inline(always)]
pub fn round_code(v: f32) -> f32 {
    // copysign keeps round's -0.0 for v = -0.0 (clamp passes -0.0 through)
    let t = ((v as i32) as f32).copysign(v);
    if v - t >= 0.5 {
        t + 1.0
    } else {
        t
    }
}

/// One sample as written at a depth of `max` codes and read back: `clip01`, nearest code, / max.
#[inline(always)]
pub fn quantise(v: f32, max: f32) -> f32 {
    round_code(clip01(v) * max) / max
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{BitDepth, Image};

    #[test]
    fn round_code_is_f32_round_on_the_code_range() {
        // every half-integer neighbourhood of both depths' code ranges, a few ulps either side
        for k in 0..=65535u32 {
            let h = k as f32 + 0.5;
            let mut v = h;
            for _ in 0..4 {
                v = f32::from_bits(v.to_bits() - 1);
            }
            for _ in 0..9 {
                if v <= 65535.0 {
                    assert_eq!(round_code(v).to_bits(), v.round().to_bits(), "{v}");
                }
                v = f32::from_bits(v.to_bits() + 1);
            }
            assert_eq!(round_code(k as f32).to_bits(), (k as f32).round().to_bits());
        }
        // and a dense sweep of [0, 1] scaled by both maxima
        for i in 0..=2_000_000u32 {
            let v = i as f32 / 2_000_000.0;
            for m in [255.0f32, 65535.0] {
                assert_eq!(
                    round_code(v * m).to_bits(),
                    (v * m).round().to_bits(),
                    "{v} * {m}"
                );
            }
        }
    }

    #[test]
    fn quantise_is_image_quantised() {
        let vals = [
            f32::NAN,
            -1.0,
            -0.0,
            0.0,
            1e-9,
            0.5 / 255.0,
            0.3,
            0.5,
            0.99999,
            1.0,
            1.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let img = Image::from_planes(vals.len(), 1, 1, vals.to_vec());
        for d in [BitDepth::U8, BitDepth::U16] {
            let want = img.quantised(d);
            for (v, w) in vals.iter().zip(&want.data) {
                assert_eq!(
                    quantise(*v, d.max_value()).to_bits(),
                    w.to_bits(),
                    "{v} {d:?}"
                );
            }
        }
    }
}
