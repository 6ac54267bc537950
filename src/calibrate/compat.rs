//! The authors' calibration (`medfm-robust-compat` profile; reference-protocol.md,
//! notes/perturbations-research.md section 1.3, docs/compat.md names every quirk).
//!
//! `find_adaptive_param`, as published: bisection on the perturbation parameter over its search
//! range, at most [`MAX_ITER`] probes, each probe the midpoint of the current interval; it stops
//! as soon as the SSIM lands within [lo - [`TOLERANCE`], hi + [`TOLERANCE`]] of the band; a probe
//! whose SSIM is above the band midpoint moves toward the stronger side (for inverse-direction
//! parameters, JPEG quality, pixelate factor and scale factor, that is the lower side); a probe that
//! fails moves toward the weaker side. When no probe is accepted, the probe whose SSIM was closest to
//! the midpoint is returned silently: we return it too but record `in_band` (strict band) and
//! `accepted` (within the tolerance) so the report can show it.
//!
//! The parameter is searched on the FIRST image of a dataset only and reused for every later image
//! (the caller caches it, see [`crate::calibrate::dataset::StrengthCache`]); only levels 1, 3, 5 are
//! generated; images are squashed to 256x256 ([`squash`], bicubic; masks nearest) first.

use super::Band;
use crate::error::Result;
use crate::image::{Image, Mask};
use crate::perturb::Info;

/// Probes per band.
pub const MAX_ITER: u32 = 20;
/// Acceptance margin around the band.
pub const TOLERANCE: f64 = 0.02;
/// Levels the reference generates for segmentation.
pub const LEVELS: [u8; 3] = [1, 3, 5];
/// Side of the squashed images.
pub const SIDE: usize = 256;

/// The parameter the reference searches for a perturbation, and how it maps to our strength.
#[derive(Clone, Copy, Debug)]
pub struct CompatParam {
    /// Search interval of the reference's parameter.
    pub range: (f64, f64),
    /// Larger parameter = weaker perturbation (JPEG quality, pixelate and scale factors).
    pub inverse: bool,
    /// Our strength for a reference parameter value.
    pub to_strength: fn(f64) -> f32,
}

fn identity(p: f64) -> f32 {
    p as f32
}
fn jpeg_quality(q: f64) -> f32 {
    // Ours: quality = 100 - 99 s (quality 100 at s = 0, 1 at s = 1).
    ((100.0 - q) / 99.0) as f32
}
fn pixelate_factor(f: f64) -> f32 {
    // Ours: block size - 1; the reference downsamples by factor f, i.e. blocks of 1/f pixels.
    (1.0 / f - 1.0) as f32
}
fn scale_factor(f: f64) -> f32 {
    // Ours: 1 - zoom factor.
    (1.0 - f) as f32
}

/// The reference's parameter for `info`: the three inverse-direction parameters with the
/// reference's ranges; every other perturbation is searched over our own strength range (the
/// reference's ranges are in its own units, see docs/compat.md).
pub fn compat_param(info: &Info) -> CompatParam {
    match info.id {
        "jpeg" | "compression_artifacts" => CompatParam {
            range: (5.0, 95.0),
            inverse: true,
            to_strength: jpeg_quality,
        },
        "pixelate" => CompatParam {
            range: (0.1, 0.95),
            inverse: true,
            to_strength: pixelate_factor,
        },
        "scaling" | "scale" => CompatParam {
            range: (0.5, 0.98),
            inverse: true,
            to_strength: scale_factor,
        },
        _ => CompatParam {
            range: (info.strength_range.0 as f64, info.strength_range.1 as f64),
            inverse: false,
            to_strength: identity,
        },
    }
}

/// Result of one band's search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CompatOutcome {
    /// The reference parameter chosen.
    pub param: f64,
    pub ssim: f64,
    /// Within [lo - TOLERANCE, hi + TOLERANCE]: the reference stopped on it.
    pub accepted: bool,
    /// Within the strict band [lo, hi].
    pub in_band: bool,
    pub probes: u32,
}

/// The reference search for one band. `ssim_at(param)` applies the perturbation with the
/// reference parameter and measures SSIM (compat variant); an `Err` counts as a failed probe.
pub fn find_adaptive_param(
    mut ssim_at: impl FnMut(f64) -> Result<f64>,
    range: (f64, f64),
    inverse: bool,
    band: &Band,
) -> Result<CompatOutcome> {
    let target = band.target();
    let (mut lo, mut hi) = range;
    let mut best: Option<(f64, f64)> = None;
    let mut probes = 0;
    for _ in 0..MAX_ITER {
        let mid = (lo + hi) / 2.0;
        probes += 1;
        let s = match ssim_at(mid) {
            Ok(s) => s,
            Err(_) => {
                // Failed probe: toward the weaker side.
                if inverse {
                    lo = mid;
                } else {
                    hi = mid;
                }
                continue;
            }
        };
        let closer = match best {
            None => true,
            Some((_, b)) => (s - target).abs() < (b - target).abs(),
        };
        if closer {
            best = Some((mid, s));
        }
        if s >= band.lo - TOLERANCE && s <= band.hi + TOLERANCE {
            return Ok(CompatOutcome {
                param: mid,
                ssim: s,
                accepted: true,
                in_band: band.contains(s),
                probes,
            });
        }
        let too_weak = s > target;
        if too_weak != inverse {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let (param, ssim) =
        best.ok_or_else(|| crate::error::Error::other("compat search", "every probe failed"))?;
    Ok(CompatOutcome {
        param,
        ssim,
        accepted: false,
        in_band: band.contains(ssim),
        probes,
    })
}

/// Squash to `w x h` ignoring aspect ratio: separable bicubic (a = -0.5, Pillow's BICUBIC), the
/// kernel support widened by the scale factor when shrinking (Pillow's antialiased resample),
/// edge pixels clamped. Float arithmetic: within about one 8-bit grey level of Pillow's
/// fixed-point result. Output clipped to [0, 1].
pub fn squash(img: &Image, w: usize, h: usize) -> Image {
    let wx = weights(img.width, w);
    let wy = weights(img.height, h);
    let mut out = Image::new(w, h, img.channels);
    for c in 0..img.channels {
        let src = img.plane(c);
        let mut tmp = vec![0f32; w * img.height];
        for y in 0..img.height {
            for (x, (start, ws)) in wx.iter().enumerate() {
                let row = &src[y * img.width..];
                tmp[y * w + x] = ws
                    .iter()
                    .enumerate()
                    .map(|(k, &kw)| kw * row[start + k] as f64)
                    .sum::<f64>() as f32;
            }
        }
        let dst = out.plane_mut(c);
        for (y, (start, ws)) in wy.iter().enumerate() {
            for x in 0..w {
                let v: f64 = ws
                    .iter()
                    .enumerate()
                    .map(|(k, &kw)| kw * tmp[(start + k) * w + x] as f64)
                    .sum();
                dst[y * w + x] = (v as f32).clamp(0.0, 1.0);
            }
        }
    }
    out
}

fn cubic(x: f64) -> f64 {
    let a = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * a
    } else {
        0.0
    }
}

/// Per output index: first input index and normalised weights (Pillow's precompute_coeffs).
fn weights(n_in: usize, n_out: usize) -> Vec<(usize, Vec<f64>)> {
    let scale = n_in as f64 / n_out as f64;
    let fscale = scale.max(1.0);
    let support = 2.0 * fscale;
    (0..n_out)
        .map(|i| {
            let center = (i as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5).floor().max(0.0)) as usize;
            let xmax = ((center + support + 0.5).floor() as usize).min(n_in);
            let mut ws: Vec<f64> = (xmin..xmax)
                .map(|x| cubic((x as f64 - center + 0.5) / fscale))
                .collect();
            let total: f64 = ws.iter().sum();
            if total != 0.0 {
                ws.iter_mut().for_each(|w| *w /= total);
            }
            (xmin, ws)
        })
        .collect()
}

/// Nearest-neighbour squash of a mask (Pillow NEAREST: source index floor((i + 0.5) * scale)).
pub fn squash_mask(m: &Mask, w: usize, h: usize) -> Mask {
    let mut out = Mask::new(w, h);
    for y in 0..h {
        let sy = (((y as f64 + 0.5) * m.height as f64 / h as f64) as usize).min(m.height - 1);
        for x in 0..w {
            let sx = (((x as f64 + 0.5) * m.width as f64 / w as f64) as usize).min(m.width - 1);
            out.data[y * w + x] = m.data[sy * m.width + sx];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::BANDS;

    #[test]
    fn bisection_follows_the_reference_steps() {
        // SSIM = 1 - p on [0, 1], L1 (target 0.94, accepted within [0.88, 1.00]): probes 0.5
        // (SSIM 0.5, too strong), 0.25 (0.75), 0.125 (0.875, just outside), 0.0625 (0.9375).
        let r = find_adaptive_param(|p| Ok(1.0 - p), (0.0, 1.0), false, &BANDS[0]).unwrap();
        assert_eq!((r.param, r.probes), (0.0625, 4));
        assert!(r.accepted && r.in_band);
        // Inverse (quality-like): SSIM = p; too strong moves up: 0.5, 0.75, 0.875, 0.9375.
        let r = find_adaptive_param(Ok, (0.0, 1.0), true, &BANDS[0]).unwrap();
        assert_eq!((r.param, r.probes), (0.9375, 4));
        // L2 (accept [0.78, 0.91]): SSIM = 0.995 - p/4 gives 0.87 at the first probe.
        let r = find_adaptive_param(|p| Ok(0.995 - p / 4.0), (0.0, 1.0), false, &BANDS[1]).unwrap();
        assert_eq!((r.param, r.probes), (0.5, 1));
        assert!(r.accepted && r.in_band);
        let r = find_adaptive_param(|p| Ok(0.6 - p / 4.0), (0.0, 1.0), false, &BANDS[4]).unwrap();
        // L5 [0.50, 0.59] accept [0.48, 0.61]: 0.5 -> 0.475 (too strong), 0.25 -> 0.5375.
        assert_eq!((r.param, r.probes), (0.25, 2));
        let r =
            find_adaptive_param(|p| Ok(0.995 - p / 100.0), (0.0, 1.0), false, &BANDS[0]).unwrap();
        // Every probe is within [0.88, 1.00]: the first (SSIM 0.99) is accepted above the band.
        assert!(r.accepted && !r.in_band && r.probes == 1);
    }

    #[test]
    fn unreachable_returns_the_closest_probe_silently() {
        let r = find_adaptive_param(|_| Ok(1.0), (0.0, 1.0), false, &BANDS[4]).unwrap();
        assert_eq!(r.probes, MAX_ITER);
        assert!(!r.accepted && !r.in_band);
        assert_eq!(
            r.param, 0.5,
            "first probe is the closest (ties keep the earlier)"
        );
    }

    #[test]
    fn squash_keeps_constants_and_shapes() {
        let mut img = Image::new(37, 23, 3);
        img.data.iter_mut().for_each(|v| *v = 0.4);
        let s = squash(&img, 16, 16);
        assert!(s.data.iter().all(|&v| (v - 0.4).abs() < 1e-6));
        let mut m = Mask::new(4, 4);
        m.data[5] = 1; // (1, 1)
        let sm = squash_mask(&m, 8, 8);
        assert_eq!(sm.count(), 4);
        assert_eq!(sm.data[2 * 8 + 2], 1);
    }
}
