//! Resampling used by the model presets, each matching one reference implementation exactly.
//!
//! - [`resample`]: Pillow's `Image.resize` on mode "F" (float32) planes: separable convolution
//!   with the filter support widened by the scale factor when downscaling (antialiasing), pixel
//!   centres at +0.5, weights normalised per output pixel, edge pixels handled by truncating
//!   the kernel (Pillow's `ImagingResample`). Filters: box (= area averaging when downscaling,
//!   as OpenCV's INTER_AREA), triangle (bilinear) and Keys cubic with a = -0.5 (bicubic).
//! - [`bilinear_logits`]: PyTorch `F.interpolate(mode="bilinear", align_corners=False,
//!   antialias=False)`: source coordinate (d + 0.5) * in/out - 0.5 clamped at 0, linear between the
//!   two nearest samples, last index clamped. This is how SAM, MedSAM and SAM-Med2D upsample logits.
//!
//! Tolerance against the Python references (tests/seg_parity.rs): 1e-4 absolute on [0, 255] data.

/// Pillow resampling filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    Box,
    Bilinear,
    Bicubic,
}

impl Filter {
    fn support(self) -> f64 {
        match self {
            Filter::Box => 0.5,
            Filter::Bilinear => 1.0,
            Filter::Bicubic => 2.0,
        }
    }

    fn weight(self, x: f64) -> f64 {
        match self {
            Filter::Box => {
                // Pillow: 1 on (-0.5, 0.5].
                if x > -0.5 && x <= 0.5 {
                    1.0
                } else {
                    0.0
                }
            }
            Filter::Bilinear => {
                let x = x.abs();
                if x < 1.0 {
                    1.0 - x
                } else {
                    0.0
                }
            }
            Filter::Bicubic => {
                const A: f64 = -0.5;
                let x = x.abs();
                if x < 1.0 {
                    ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
                } else if x < 2.0 {
                    (((x - 5.0) * x + 8.0) * x - 4.0) * A
                } else {
                    0.0
                }
            }
        }
    }
}

/// Per output index: first source index and normalised weights (Pillow's `precompute_coeffs`).
fn coeffs(in_size: usize, out_size: usize, filter: Filter) -> Vec<(usize, Vec<f64>)> {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filter.support() * filterscale;
    (0..out_size)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filterscale;
            // Pillow: xmin = (int)(center - support + 0.5) clamped at 0; xmax likewise at in_size.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = (((center + support + 0.5) as i64).min(in_size as i64) as usize).max(xmin);
            let mut w: Vec<f64> = (xmin..xmax)
                .map(|x| filter.weight((x as f64 - center + 0.5) * ss))
                .collect();
            let total: f64 = w.iter().sum();
            if total != 0.0 {
                for v in &mut w {
                    *v /= total;
                }
            }
            (xmin, w)
        })
        .collect()
}

/// Resize one plane (row-major `in_w x in_h`) to `out_w x out_h` as Pillow does on mode "F":
/// horizontal pass first, then vertical, each accumulated in f64 and stored as f32.
pub fn resample(
    plane: &[f32],
    in_w: usize,
    in_h: usize,
    out_w: usize,
    out_h: usize,
    filter: Filter,
) -> Vec<f32> {
    debug_assert_eq!(plane.len(), in_w * in_h);
    // Pillow skips a pass whose size does not change.
    let tmp: Vec<f32> = if out_w == in_w {
        plane.to_vec()
    } else {
        let cx = coeffs(in_w, out_w, filter);
        let mut t = vec![0.0f32; out_w * in_h];
        for y in 0..in_h {
            let row = &plane[y * in_w..(y + 1) * in_w];
            for (x, (x0, w)) in cx.iter().enumerate() {
                let s: f64 = w.iter().zip(&row[*x0..]).map(|(w, v)| w * *v as f64).sum();
                t[y * out_w + x] = s as f32;
            }
        }
        t
    };
    if out_h == in_h {
        return tmp;
    }
    let cy = coeffs(in_h, out_h, filter);
    let mut out = vec![0.0f32; out_w * out_h];
    for (y, (y0, w)) in cy.iter().enumerate() {
        for x in 0..out_w {
            let s: f64 = w
                .iter()
                .enumerate()
                .map(|(k, w)| w * tmp[(y0 + k) * out_w + x] as f64)
                .sum();
            out[y * out_w + x] = s as f32;
        }
    }
    out
}

/// One axis of PyTorch's bilinear (align_corners=False): (low index, high index, high weight).
fn linear_axis(in_size: usize, out_size: usize) -> Vec<(usize, usize, f32)> {
    let scale = in_size as f32 / out_size as f32;
    (0..out_size)
        .map(|d| {
            let src = ((d as f32 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (src as usize).min(in_size - 1);
            let i1 = (i0 + 1).min(in_size - 1);
            (i0, i1, src - i0 as f32)
        })
        .collect()
}

/// Bilinear resize of a logit map, as PyTorch `F.interpolate(..., mode="bilinear",
/// align_corners=False)` (no antialiasing).
pub fn bilinear_logits(
    plane: &[f32],
    in_w: usize,
    in_h: usize,
    out_w: usize,
    out_h: usize,
) -> Vec<f32> {
    debug_assert_eq!(plane.len(), in_w * in_h);
    let ax = linear_axis(in_w, out_w);
    let ay = linear_axis(in_h, out_h);
    let mut out = vec![0.0f32; out_w * out_h];
    for (y, &(y0, y1, fy)) in ay.iter().enumerate() {
        let (r0, r1) = (
            &plane[y0 * in_w..(y0 + 1) * in_w],
            &plane[y1 * in_w..(y1 + 1) * in_w],
        );
        for (x, &(x0, x1, fx)) in ax.iter().enumerate() {
            let top = r0[x0] * (1.0 - fx) + r0[x1] * fx;
            let bot = r1[x0] * (1.0 - fx) + r1[x1] * fx;
            out[y * out_w + x] = top * (1.0 - fy) + bot * fy;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_sizes_are_exact() {
        let p: Vec<f32> = (0..12).map(|v| v as f32).collect();
        assert_eq!(resample(&p, 4, 3, 4, 3, Filter::Bicubic), p);
        assert_eq!(bilinear_logits(&p, 4, 3, 4, 3), p);
    }

    #[test]
    fn box_downscale_by_two_is_the_block_mean() {
        let p = [1.0, 3.0, 5.0, 7.0, 1.0, 3.0, 5.0, 7.0];
        assert_eq!(resample(&p, 4, 2, 2, 1, Filter::Box), vec![2.0, 6.0]);
    }

    #[test]
    fn constants_stay_constant() {
        let p = vec![0.25f32; 7 * 5];
        for f in [Filter::Box, Filter::Bilinear, Filter::Bicubic] {
            for v in resample(&p, 7, 5, 16, 3, f) {
                assert!((v - 0.25).abs() < 1e-6);
            }
        }
        for v in bilinear_logits(&p, 7, 5, 3, 11) {
            assert!((v - 0.25).abs() < 1e-6);
        }
    }
}
