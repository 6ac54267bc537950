//! SSIM (Wang et al. 2004) in the three variants of spec/ssim-calibration.md, numerically equal
//! to scikit-image 0.26 `structural_similarity` (max |ours - skimage| <= 1e-6 on the fixtures
//! written by tools/gen_ssim_fixtures.py; tests/ssim_reference.rs checks it).
//!
//! Contract:
//! - inputs are [`Image`]s on the fixed [0, 1] scale, data range 1 (`compat` first min-max
//!   normalises each image over all its values, as the reference code's `compute_ssim` does);
//! - filters: Gaussian sigma 1.5 truncated at 3.5 sigma (11 taps) or uniform 7, applied with
//!   scipy's `reflect` border; the SSIM map is cropped by (win - 1) / 2 on every side and averaged
//!   in f64 (so the border rule never reaches an averaged pixel, see [`kernel`]);
//! - colour: SSIM per channel, then the plain mean over channels;
//! - variances are clamped at 0; an image smaller than the window is [`Error::TooSmall`], never a
//!   NaN; the result is bit-identical for any rayon thread count.
//!
//! Speed: [`SsimReference`] filters the clean image once (mean and variance per channel), so each
//! comparison filters only y, y^2 and x*y; the one-off [`ssim`] streams all five maps without
//! storing any full-size map. Rows are streamed in bands through a ring of
//! horizontally filtered rows (no full-size intermediate maps), bands run in parallel with rayon.

mod kernel;

use crate::error::{Error, Result};
use crate::image::Image;
use kernel::{Affine, Consts, Isa, Scratch};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, Hash)]
#[serde(rename_all = "lowercase")]
pub enum SsimVariant {
    /// Gaussian window sigma 1.5 (11 taps), population covariance, fixed data range 1.
    #[default]
    Wang,
    /// Uniform 7x7 window, sample covariance (49/48), fixed data range 1 (skimage defaults).
    Skimage,
    /// As `skimage`, after min-max normalising each image over all its values (reference code).
    Compat,
}

impl SsimVariant {
    pub fn as_str(self) -> &'static str {
        match self {
            SsimVariant::Wang => "wang",
            SsimVariant::Skimage => "skimage",
            SsimVariant::Compat => "compat",
        }
    }

    /// Side of the square window: 11 for `wang`, 7 otherwise. Images need at least this many
    /// pixels per side.
    pub fn window_size(self) -> usize {
        match self {
            SsimVariant::Wang => 2 * WANG_RADIUS + 1,
            SsimVariant::Skimage | SsimVariant::Compat => UNIFORM_SIZE,
        }
    }
}

const K1: f64 = 0.01;
const K2: f64 = 0.03;
/// Data range: images are on the fixed [0, 1] scale (compat: after min-max normalisation).
const DATA_RANGE: f64 = 1.0;
const WANG_SIGMA: f64 = 1.5;
const WANG_TRUNCATE: f64 = 3.5;
/// scipy's radius rule `int(truncate * sigma + 0.5)` for sigma 1.5, truncate 3.5.
const WANG_RADIUS: usize = 5;
const UNIFORM_SIZE: usize = 7;
/// The reference code's threshold below which max - min counts as a constant image (zeros).
const COMPAT_FLAT_RANGE: f64 = 1e-8;
/// Output rows per parallel task; does not affect the result (row sums are reduced in order).
const BAND_ROWS: usize = 48;

/// The 1-D window and the covariance normalisation of a variant.
#[derive(Clone, Debug)]
struct Window {
    taps: Vec<f64>,
    cov_norm: f64,
}

impl Window {
    fn of(variant: SsimVariant) -> Window {
        match variant {
            SsimVariant::Wang => {
                // scipy.ndimage._gaussian_kernel1d: exp(-0.5 / sigma^2 * x^2), normalised to sum 1.
                debug_assert_eq!((WANG_TRUNCATE * WANG_SIGMA + 0.5) as usize, WANG_RADIUS);
                let r = WANG_RADIUS as i64;
                let s2 = WANG_SIGMA * WANG_SIGMA;
                let phi: Vec<f64> = (-r..=r)
                    .map(|x| (-0.5 / s2 * (x * x) as f64).exp())
                    .collect();
                let sum: f64 = phi.iter().sum();
                Window {
                    taps: phi.iter().map(|p| p / sum).collect(),
                    cov_norm: 1.0,
                }
            }
            SsimVariant::Skimage | SsimVariant::Compat => {
                let np = (UNIFORM_SIZE * UNIFORM_SIZE) as f64;
                Window {
                    taps: vec![1.0 / UNIFORM_SIZE as f64; UNIFORM_SIZE],
                    cov_norm: np / (np - 1.0),
                }
            }
        }
    }

    fn consts(&self) -> Consts<'_> {
        Consts {
            taps: &self.taps,
            cov_norm: self.cov_norm,
            c1: (K1 * DATA_RANGE) * (K1 * DATA_RANGE),
            c2: (K2 * DATA_RANGE) * (K2 * DATA_RANGE),
        }
    }
}

/// SSIM of two same-shaped images (mean over channels of the per-channel mean SSIM).
/// Same bits as `SsimReference::new(a, variant)?.ssim(b)`, without storing moment maps.
pub fn ssim(a: &Image, b: &Image, variant: SsimVariant) -> Result<f64> {
    Ok(mean(&ssim_per_channel(a, b, variant)?))
}

/// Per-channel mean SSIM of two same-shaped images.
pub fn ssim_per_channel(a: &Image, b: &Image, variant: SsimVariant) -> Result<Vec<f64>> {
    check_image(a, variant, "SSIM reference image")?;
    check_pair(a, b, variant)?;
    let window = Window::of(variant);
    per_channel(
        a,
        affine_for(a, variant),
        b,
        affine_for(b, variant),
        variant,
        &window,
        None,
    )
}

fn mean(per: &[f64]) -> f64 {
    per.iter().sum::<f64>() / per.len() as f64
}

/// Per-channel SSIM; reference moments from `stored` (mu, var) or formed on the fly (same bits).
fn per_channel(
    x: &Image,
    ax: Affine,
    y: &Image,
    ay: Affine,
    variant: SsimVariant,
    window: &Window,
    stored: Option<(&[f64], &[f64])>,
) -> Result<Vec<f64>> {
    let (w, h, ch) = (x.width, x.height, x.channels);
    let r = window.taps.len() / 2;
    let (wo, ho) = (w - 2 * r, h - 2 * r);
    let consts = window.consts();
    let plane = w * h;
    let isa = Isa::detect();
    let mut row_sums = vec![0.0f64; ch * ho];
    row_sums
        .par_chunks_mut(ho)
        .enumerate()
        .for_each(|(c, sums_c)| {
            let xs = &x.data[c * plane..(c + 1) * plane];
            let ys = &y.data[c * plane..(c + 1) * plane];
            match stored {
                Some((mu, var)) => {
                    let mu_c = &mu[c * ho * wo..(c + 1) * ho * wo];
                    let var_c = &var[c * ho * wo..(c + 1) * ho * wo];
                    sums_c
                        .par_chunks_mut(BAND_ROWS)
                        .zip(mu_c.par_chunks(BAND_ROWS * wo))
                        .zip(var_c.par_chunks(BAND_ROWS * wo))
                        .enumerate()
                        .for_each_init(Scratch::default, |s, (band, ((sums_b, mu_b), var_b))| {
                            let o0 = band * BAND_ROWS;
                            let o1 = o0 + sums_b.len();
                            kernel::compare_band(
                                isa, xs, ax, ys, ay, w, &consts, o0, o1, mu_b, var_b, sums_b, s,
                            );
                        });
                }
                None => {
                    sums_c.par_chunks_mut(BAND_ROWS).enumerate().for_each_init(
                        Scratch::default,
                        |s, (band, sums_b)| {
                            let o0 = band * BAND_ROWS;
                            let o1 = o0 + sums_b.len();
                            kernel::fused_band(isa, xs, ax, ys, ay, w, &consts, o0, o1, sums_b, s);
                        },
                    );
                }
            }
        });
    // Reduce the row sums in row order: independent of how rows were split over threads.
    let n = (ho * wo) as f64;
    let per: Vec<f64> = row_sums
        .chunks(ho)
        .map(|rows| rows.iter().sum::<f64>() / n)
        .collect();
    if per.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            format!("SSIM ({}) inputs", variant.as_str()),
            "an image contains NaN or infinite samples",
        ));
    }
    Ok(per)
}

/// The clean image and its filtered moments, computed once, for many comparisons (calibration).
/// `ssim(a, b, v)` gives exactly the bits of `SsimReference::new(a, v)?.ssim(b)`.
pub struct SsimReference {
    variant: SsimVariant,
    window: Window,
    image: Image,
    affine: Affine,
    /// Per channel, interior `(h - 2r) x (w - 2r)`: filtered mean of x.
    mu: Vec<f64>,
    /// Per channel, interior: `max(0, cov_norm * (E[x^2] - mu^2))`.
    var: Vec<f64>,
}

impl SsimReference {
    pub fn new(reference: &Image, variant: SsimVariant) -> Result<Self> {
        check_image(reference, variant, "SSIM reference image")?;
        let window = Window::of(variant);
        let affine = affine_for(reference, variant);
        let (w, h, ch) = (reference.width, reference.height, reference.channels);
        let r = window.taps.len() / 2;
        let (wo, ho) = (w - 2 * r, h - 2 * r);
        let mut mu = vec![0.0f64; ch * ho * wo];
        let mut var = vec![0.0f64; ch * ho * wo];
        let consts = window.consts();
        let plane = w * h;
        let isa = Isa::detect();
        mu.par_chunks_mut(ho * wo)
            .zip(var.par_chunks_mut(ho * wo))
            .enumerate()
            .for_each(|(c, (mu_c, var_c))| {
                let x = &reference.data[c * plane..(c + 1) * plane];
                mu_c.par_chunks_mut(BAND_ROWS * wo)
                    .zip(var_c.par_chunks_mut(BAND_ROWS * wo))
                    .enumerate()
                    .for_each_init(Scratch::default, |s, (band, (mu_b, var_b))| {
                        let o0 = band * BAND_ROWS;
                        let o1 = o0 + mu_b.len() / wo;
                        kernel::reference_band(isa, x, affine, w, &consts, o0, o1, mu_b, var_b, s);
                    });
            });
        Ok(SsimReference {
            variant,
            window,
            image: reference.clone(),
            affine,
            mu,
            var,
        })
    }

    pub fn variant(&self) -> SsimVariant {
        self.variant
    }

    /// The clean image this reference was built from.
    pub fn image(&self) -> &Image {
        &self.image
    }

    /// SSIM of the reference against `other` (same shape): mean of [`Self::ssim_per_channel`].
    pub fn ssim(&self, other: &Image) -> Result<f64> {
        Ok(mean(&self.ssim_per_channel(other)?))
    }

    /// Mean SSIM of each channel of the reference against the same channel of `other`.
    pub fn ssim_per_channel(&self, other: &Image) -> Result<Vec<f64>> {
        check_pair(&self.image, other, self.variant)?;
        let ay = affine_for(other, self.variant);
        let stored = Some((self.mu.as_slice(), self.var.as_slice()));
        per_channel(
            &self.image,
            self.affine,
            other,
            ay,
            self.variant,
            &self.window,
            stored,
        )
    }
}

/// `other` must have the reference's shape (and be a valid image itself).
fn check_pair(x: &Image, other: &Image, variant: SsimVariant) -> Result<()> {
    if !x.same_shape(other) {
        return Err(Error::Shape {
            what: format!("SSIM ({}) of two images", variant.as_str()),
            expected: x.shape_str(),
            found: other.shape_str(),
        });
    }
    check_image(other, variant, "SSIM compared image")
}

/// Shape sanity and the window-size rule (skimage raises for any side < win_size).
fn check_image(img: &Image, variant: SsimVariant, what: &str) -> Result<()> {
    if img.channels == 0 || img.data.len() != img.width * img.height * img.channels {
        return Err(Error::Shape {
            what: what.to_string(),
            expected: format!(
                "{} samples for {}",
                img.width * img.height * img.channels,
                img.shape_str()
            ),
            found: format!("{} samples", img.data.len()),
        });
    }
    let win = variant.window_size();
    if img.width < win || img.height < win {
        return Err(Error::TooSmall {
            what: format!("{what} ({} variant)", variant.as_str()),
            width: img.width,
            height: img.height,
            win,
        });
    }
    Ok(())
}

/// The value mapping of a variant: identity, or the reference code's `_normalize_for_metrics`
/// (`(x - min) / (max - min)` over all values of the image, zeros if max - min <= 1e-8).
fn affine_for(img: &Image, variant: SsimVariant) -> Affine {
    match variant {
        SsimVariant::Wang | SsimVariant::Skimage => Affine::Identity,
        SsimVariant::Compat => {
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for &v in &img.data {
                lo = lo.min(v);
                hi = hi.max(v);
            }
            let range = hi as f64 - lo as f64;
            if range > COMPAT_FLAT_RANGE {
                Affine::MinMax {
                    min: lo as f64,
                    range,
                }
            } else {
                Affine::Zero
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spec's test vectors: a = ((7i + 3j) mod 17) / 16, b = 0.5 a + 0.5 ((5i + 11j) mod 13) / 12.
    fn vectors(h: usize, w: usize) -> (Vec<f64>, Vec<f64>) {
        let mut a = Vec::with_capacity(h * w);
        let mut b = Vec::with_capacity(h * w);
        for i in 0..h {
            for j in 0..w {
                let av = ((7 * i + 3 * j) % 17) as f64 / 16.0;
                a.push(av);
                b.push(0.5 * av + 0.5 * ((5 * i + 11 * j) % 13) as f64 / 12.0);
            }
        }
        (a, b)
    }

    fn grey(h: usize, w: usize, v: &[f64]) -> Image {
        Image::from_planes(w, h, 1, v.iter().map(|&x| x as f32).collect())
    }

    #[test]
    fn known_values_grey() {
        // skimage 0.26, float64 inputs; ours sees f32 inputs (b is not exact in f32): 1e-6.
        for (h, w, sk, wang) in [
            (16, 16, 0.660658563447, 0.640767970884),
            (20, 24, 0.657896501477, 0.650133426496),
        ] {
            let (a, b) = vectors(h, w);
            let (a, b) = (grey(h, w, &a), grey(h, w, &b));
            let got_sk = ssim(&a, &b, SsimVariant::Skimage).unwrap();
            let got_wang = ssim(&a, &b, SsimVariant::Wang).unwrap();
            assert!(
                (got_sk - sk).abs() < 1e-6,
                "{h}x{w} skimage {got_sk} vs {sk}"
            );
            assert!(
                (got_wang - wang).abs() < 1e-6,
                "{h}x{w} wang {got_wang} vs {wang}"
            );
        }
    }

    #[test]
    fn identical_is_one_and_constant_compat_is_finite() {
        let (a, _) = vectors(20, 24);
        let a = grey(20, 24, &a);
        for v in [SsimVariant::Wang, SsimVariant::Skimage, SsimVariant::Compat] {
            assert!((ssim(&a, &a, v).unwrap() - 1.0).abs() < 1e-12);
        }
        let flat = Image::from_planes(24, 20, 1, vec![0.5; 480]);
        // Both flat: the reference maps both to zeros, SSIM 1.
        assert_eq!(ssim(&flat, &flat, SsimVariant::Compat).unwrap(), 1.0);
        assert!(ssim(&flat, &a, SsimVariant::Compat).unwrap().is_finite());
    }

    #[test]
    fn errors_for_small_and_mismatched() {
        let small = Image::new(10, 20, 1);
        assert!(matches!(
            ssim(&small, &small, SsimVariant::Wang),
            Err(Error::TooSmall { win: 11, .. })
        ));
        assert!(ssim(&small, &small, SsimVariant::Skimage).is_ok());
        let a = Image::new(16, 16, 1);
        let b = Image::new(16, 16, 3);
        let e = ssim(&a, &b, SsimVariant::Wang).unwrap_err().to_string();
        assert!(e.contains("16x16x1") && e.contains("16x16x3"), "{e}");
    }
}
