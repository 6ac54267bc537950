//! `#[repr(C)]` mirrors of the parameter structs in kernels/common.cuh. Field order, types and
//! padding must match the C side exactly: the tests below pin sizes and offsets here, and
//! tests/cuda_host_math.rs compares them with `sizeof`/`offsetof` from the host C++ compiler.
//! Compiled with or without the `cuda` feature (the host-math tests use them over FFI).

use crate::ssim::SsimVariant;

/// One image of a packed batch (C: `MfrImageDesc`). Images are planar, back to back in one
/// buffer; `offset` is the index of the image's first sample.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageDesc {
    pub offset: u64,
    pub width: u32,
    pub height: u32,
    pub channels: u32,
    /// RNG counter word 2: the image id of [`crate::rng::Rng`].
    pub image_id: u32,
}

/// Run-wide RNG key and perturbation id (C: `MfrRngKey`); the twin of [`crate::rng::Rng`]
/// without the image id (which comes per image from [`ImageDesc`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RngKey {
    pub key_lo: u32,
    pub key_hi: u32,
    pub perturbation_id: u32,
    pub pad0: u32,
}

impl RngKey {
    pub fn new(seed: u64, perturbation_id: u32) -> Self {
        RngKey {
            key_lo: seed as u32,
            key_hi: (seed >> 32) as u32,
            perturbation_id,
            pad0: 0,
        }
    }
}

/// Largest SSIM window radius the kernel supports (C: `MFR_SSIM_MAX_RADIUS`).
pub const SSIM_MAX_RADIUS: usize = 5;

/// Fused-SSIM window and constants (C: `MfrSsimParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SsimParams {
    /// First `2 * radius + 1` used: the separable window taps, symmetric, summing to 1.
    pub taps: [f64; 2 * SSIM_MAX_RADIUS + 1],
    pub c1: f64,
    pub c2: f64,
    /// 1 (population covariance) or n / (n - 1) (sample covariance, n = window size squared).
    pub cov_norm: f64,
    /// Window half-width; the SSIM map is cropped by it on every side before averaging.
    pub radius: u32,
    pub n_images: u32,
}

impl SsimParams {
    /// The window of each variant (spec/ssim-calibration.md), data range 1 (images on [0, 1];
    /// `compat` min-max normalises first, which the kernel does on load).
    pub fn for_variant(variant: SsimVariant, n_images: u32) -> Self {
        const K1: f64 = 0.01;
        const K2: f64 = 0.03;
        let mut taps = [0.0f64; 2 * SSIM_MAX_RADIUS + 1];
        let (radius, cov_norm) = match variant {
            SsimVariant::Wang => {
                // scipy gaussian_filter(sigma=1.5, truncate=3.5): radius int(3.5*1.5 + 0.5) = 5,
                // phi(x) = exp(-0.5 / sigma^2 * x^2), normalised to sum 1, all in f64.
                let sigma2 = 1.5f64 * 1.5;
                let r = 5usize;
                for (i, t) in taps.iter_mut().enumerate().take(2 * r + 1) {
                    let x = i as f64 - r as f64;
                    *t = (-0.5 / sigma2 * (x * x)).exp();
                }
                let s: f64 = taps.iter().sum();
                taps.iter_mut().for_each(|t| *t /= s);
                (r as u32, 1.0)
            }
            SsimVariant::Skimage | SsimVariant::Compat => {
                // uniform 7x7 window, sample covariance 49/48.
                let r = 3usize;
                taps.iter_mut().take(2 * r + 1).for_each(|t| *t = 1.0 / 7.0);
                (r as u32, 49.0 / 48.0)
            }
        };
        SsimParams {
            taps,
            c1: (K1 * 1.0) * (K1 * 1.0),
            c2: (K2 * 1.0) * (K2 * 1.0),
            cov_norm,
            radius,
            n_images,
        }
    }

    /// Window side (2 * radius + 1): images smaller than this on either side have no SSIM.
    pub fn window(&self) -> usize {
        2 * self.radius as usize + 1
    }
}

/// Bands per search (C: `MFR_SEARCH_MAX_BANDS`).
pub const SEARCH_MAX_BANDS: usize = 5;
/// Evaluated points one search state can hold (C: `MFR_SEARCH_MAX_POINTS`).
pub const SEARCH_MAX_POINTS: usize = 168;

/// Band outcome codes of the on-GPU search (C: `MFR_BAND_*`, kernels/search.cuh).
pub mod band_status {
    pub const IN: u32 = 0;
    pub const UNREACHABLE_HIGH: u32 = 1;
    pub const UNREACHABLE_LOW: u32 = 2;
    pub const SKIPPED: u32 = 3;
    pub const NOT_FOUND: u32 = 4;
}

/// One SSIM band (C: `MfrBandSpec`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BandSpec {
    pub lo: f64,
    pub hi: f64,
}

/// The search's parameters, shared by a batch (C: `MfrSearchConfig`): the bands in ascending
/// level order, the per-band evaluation budget, the strength kind and range.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SearchConfig {
    pub bands: [BandSpec; SEARCH_MAX_BANDS],
    pub n_bands: u32,
    pub max_evals: u32,
    /// 1 for `StrengthKind::Continuous` (no local scan).
    pub continuous: u32,
    pub s_min: f32,
    pub s_max: f32,
}

/// One image's search state (C: `MfrSearchState`), read back after the search for the outcomes.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchState {
    pub s: [f32; SEARCH_MAX_POINTS],
    pub f: [f64; SEARCH_MAX_POINTS],
    pub n_points: u32,
    pub count: u32,
    pub phase: u32,
    pub band: u32,
    pub band_start: u32,
    pub scan_i: u32,
    pub scan_a: f32,
    pub scan_b: f32,
    pub pending: f32,
    pub f_max: f64,
    pub f_min: f64,
    pub out_s: [f32; SEARCH_MAX_BANDS],
    pub out_f: [f64; SEARCH_MAX_BANDS],
    pub out_status: [u32; SEARCH_MAX_BANDS],
    pub out_n: [u32; SEARCH_MAX_BANDS],
    pub skip_a: [f32; SEARCH_MAX_BANDS],
    pub skip_b: [f32; SEARCH_MAX_BANDS],
    pub skip_fa: [f64; SEARCH_MAX_BANDS],
    pub skip_fb: [f64; SEARCH_MAX_BANDS],
    pub overflow: u32,
}

impl Default for SearchState {
    fn default() -> Self {
        SearchState {
            s: [0.0; SEARCH_MAX_POINTS],
            f: [0.0; SEARCH_MAX_POINTS],
            n_points: 0,
            count: 0,
            phase: 0,
            band: 0,
            band_start: 0,
            scan_i: 0,
            scan_a: 0.0,
            scan_b: 0.0,
            pending: 0.0,
            f_max: 0.0,
            f_min: 0.0,
            out_s: [0.0; SEARCH_MAX_BANDS],
            out_f: [0.0; SEARCH_MAX_BANDS],
            out_status: [0; SEARCH_MAX_BANDS],
            out_n: [0; SEARCH_MAX_BANDS],
            skip_a: [0.0; SEARCH_MAX_BANDS],
            skip_b: [0.0; SEARCH_MAX_BANDS],
            skip_fa: [0.0; SEARCH_MAX_BANDS],
            skip_fb: [0.0; SEARCH_MAX_BANDS],
            overflow: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    // The C layouts (x86-64 and nvcc agree: natural alignment, no packing pragmas).
    #[test]
    fn image_desc_layout() {
        assert_eq!(size_of::<ImageDesc>(), 24);
        assert_eq!(align_of::<ImageDesc>(), 8);
        assert_eq!(offset_of!(ImageDesc, offset), 0);
        assert_eq!(offset_of!(ImageDesc, width), 8);
        assert_eq!(offset_of!(ImageDesc, height), 12);
        assert_eq!(offset_of!(ImageDesc, channels), 16);
        assert_eq!(offset_of!(ImageDesc, image_id), 20);
    }

    #[test]
    fn rng_key_layout() {
        assert_eq!(size_of::<RngKey>(), 16);
        assert_eq!(offset_of!(RngKey, perturbation_id), 8);
        let k = RngKey::new(0x1234_5678_9abc_def0, 7);
        assert_eq!((k.key_lo, k.key_hi), (0x9abc_def0, 0x1234_5678));
        let r = crate::rng::Rng::new(0x1234_5678_9abc_def0, 0, 7);
        assert_eq!([k.key_lo, k.key_hi], r.key);
    }

    #[test]
    fn ssim_params_layout() {
        assert_eq!(size_of::<SsimParams>(), 11 * 8 + 3 * 8 + 8);
        assert_eq!(offset_of!(SsimParams, c1), 88);
        assert_eq!(offset_of!(SsimParams, cov_norm), 104);
        assert_eq!(offset_of!(SsimParams, radius), 112);
        assert_eq!(offset_of!(SsimParams, n_images), 116);
    }

    #[test]
    fn ssim_windows() {
        let w = SsimParams::for_variant(SsimVariant::Wang, 1);
        assert_eq!(w.window(), 11);
        assert!((w.taps.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        // Closed form: exp(-x^2/4.5) / sum; centre tap of the sigma-1.5 11-tap Gaussian.
        assert!(
            (w.taps[5] - 0.266_011_724_861_794_36).abs() < 1e-15,
            "{}",
            w.taps[5]
        );
        assert_eq!(w.taps[0], w.taps[10]);
        let s = SsimParams::for_variant(SsimVariant::Skimage, 1);
        assert_eq!(s.window(), 7);
        assert_eq!(s.taps[7], 0.0);
        assert_eq!(s.cov_norm, 49.0 / 48.0);
        assert_eq!(s.c1, 0.01 * 0.01);
        for v in [SsimVariant::Wang, SsimVariant::Skimage, SsimVariant::Compat] {
            assert_eq!(
                SsimParams::for_variant(v, 1).window(),
                v.window_size(),
                "{v:?}"
            );
        }
    }
}
