//! In-memory images and masks.
//!
//! Contract: an [`Image`] holds `channels` planes of `height * width` f32 samples, planar
//! (`data[c * h * w + y * w + x]`), on the FIXED scale of the source dtype: u8 / 255, u16 / 65535,
//! so 0.0 and 1.0 are the dtype's limits, never a per-image min/max. Perturbations clip to [0, 1].
//! Quantisation back to integers happens only when writing, by rounding (see [`Image::to_u8`]).

use rayon::prelude::*;

/// Bit depth of the source file, kept so outputs are written in the same format and depth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BitDepth {
    #[default]
    U8,
    U16,
}

impl BitDepth {
    pub fn max_value(self) -> f32 {
        match self {
            BitDepth::U8 => 255.0,
            BitDepth::U16 => 65535.0,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    /// 1 (grey) or 3 (RGB). Alpha is dropped on read.
    pub channels: usize,
    pub data: Vec<f32>,
}

impl Image {
    pub fn new(width: usize, height: usize, channels: usize) -> Self {
        Image {
            width,
            height,
            channels,
            data: vec![0.0; width * height * channels],
        }
    }

    pub fn from_planes(width: usize, height: usize, channels: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), width * height * channels, "plane data length");
        Image {
            width,
            height,
            channels,
            data,
        }
    }

    /// Number of pixels in one plane.
    #[inline]
    pub fn plane_len(&self) -> usize {
        self.width * self.height
    }

    #[inline]
    pub fn plane(&self, c: usize) -> &[f32] {
        let n = self.plane_len();
        &self.data[c * n..(c + 1) * n]
    }

    #[inline]
    pub fn plane_mut(&mut self, c: usize) -> &mut [f32] {
        let n = self.plane_len();
        &mut self.data[c * n..(c + 1) * n]
    }

    pub fn planes(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(self.plane_len().max(1))
    }

    pub fn planes_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        let n = self.plane_len().max(1);
        self.data.chunks_exact_mut(n)
    }

    #[inline]
    pub fn get(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[c * self.plane_len() + y * self.width + x]
    }

    pub fn shape_str(&self) -> String {
        format!("{}x{}x{}", self.width, self.height, self.channels)
    }

    pub fn same_shape(&self, other: &Image) -> bool {
        self.width == other.width && self.height == other.height && self.channels == other.channels
    }

    /// Clip every sample to [0, 1] (rule 4 of the catalogue). NaN becomes 0.
    pub fn clip(&mut self) {
        for v in &mut self.data {
            *v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        }
    }

    /// Luminance (ITU-R BT.601, as PIL's "L" conversion) of an RGB image; a grey image is returned as is.
    pub fn luminance(&self) -> Vec<f32> {
        if self.channels == 1 {
            return self.data.clone();
        }
        let (r, g, b) = (self.plane(0), self.plane(1), self.plane(2));
        r.iter()
            .zip(g)
            .zip(b)
            .map(|((r, g), b)| 0.299 * r + 0.587 * g + 0.114 * b)
            .collect()
    }

    /// Quantise to u8 by rounding to nearest (after clipping): the one quantisation rule of the
    /// crate (`perturb::common::quant`; `codes::code8` is its 8-bit form). In parallel chunks.
    pub fn to_u8(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.data.len()];
        self.to_u8_into(&mut out);
        out
    }

    /// [`Image::to_u8`] into a caller's buffer (the 8-bit path reuses one across calls).
    pub fn to_u8_into(&self, out: &mut [u8]) {
        assert_eq!(out.len(), self.data.len(), "8-bit output length");
        par_map(&self.data, out, crate::perturb::common::codes::code8);
    }

    pub fn to_u16(&self) -> Vec<u16> {
        let mut out = vec![0u16; self.data.len()];
        par_map(&self.data, &mut out, |v| quantise(v, 65535.0) as u16);
        out
    }

    /// The image as it will be after writing at `depth` (round trip through the integer dtype).
    pub fn quantised(&self, depth: BitDepth) -> Image {
        self.clone().into_quantised(depth)
    }

    /// [`Image::quantised`] in place: the same samples, no second buffer.
    pub fn into_quantised(mut self, depth: BitDepth) -> Image {
        let m = depth.max_value();
        self.data
            .par_chunks_mut(PAR_CHUNK)
            .for_each(|c| c.iter_mut().for_each(|v| *v = quantise(*v, m) / m));
        self
    }

    /// Interleaved (HWC) copy, for encoders and ONNX tensors.
    pub fn to_interleaved(&self) -> Vec<f32> {
        let n = self.plane_len();
        let mut out = vec![0.0; self.data.len()];
        for c in 0..self.channels {
            for (i, v) in self.plane(c).iter().enumerate() {
                out[i * self.channels + c] = *v;
            }
        }
        debug_assert_eq!(out.len(), n * self.channels);
        out
    }

    pub fn from_interleaved(width: usize, height: usize, channels: usize, hwc: &[f32]) -> Self {
        let n = width * height;
        let mut data = vec![0.0; n * channels];
        for i in 0..n {
            for c in 0..channels {
                data[c * n + i] = hwc[i * channels + c];
            }
        }
        Image {
            width,
            height,
            channels,
            data,
        }
    }

    /// A grey image repeated into 3 channels (for colour-only perturbations and RGB models).
    pub fn to_rgb(&self) -> Image {
        if self.channels == 3 {
            return self.clone();
        }
        let mut data = Vec::with_capacity(self.plane_len() * 3);
        for _ in 0..3 {
            data.extend_from_slice(self.plane(0));
        }
        Image {
            data,
            channels: 3,
            ..*self
        }
    }
}

/// The nearest code of a sample at `max` codes (clip with NaN as 0, round half away from zero):
/// `perturb::common::quant`'s rule, which computes `f32::round` without a libm call.
#[inline(always)]
fn quantise(v: f32, max: f32) -> f32 {
    use crate::perturb::common::quant::{clip01, round_code};
    round_code(clip01(v) * max)
}

/// Samples per parallel task of the elementwise conversions.
const PAR_CHUNK: usize = 16384;

/// `out[i] = f(src[i])` in parallel chunks (elementwise: the same bytes for any thread count).
fn par_map<T: Send>(src: &[f32], out: &mut [T], f: impl Fn(f32) -> T + Sync) {
    out.par_chunks_mut(PAR_CHUNK)
        .zip(src.par_chunks(PAR_CHUNK))
        .for_each(|(o, s)| o.iter_mut().zip(s).for_each(|(o, &v)| *o = f(v)));
}

/// A binary mask (0 or 1 per pixel), same width and height as its image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

impl Mask {
    pub fn new(width: usize, height: usize) -> Self {
        Mask {
            width,
            height,
            data: vec![0; width * height],
        }
    }

    pub fn count(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Tight bounding box (x0, y0, x1, y1), inclusive, or None for an empty mask.
    pub fn bbox(&self) -> Option<(usize, usize, usize, usize)> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for y in 0..self.height {
            for x in 0..self.width {
                if self.data[y * self.width + x] != 0 {
                    x0 = x0.min(x);
                    y0 = y0.min(y);
                    x1 = x1.max(x);
                    y1 = y1.max(y);
                }
            }
        }
        (x0 != usize::MAX).then_some((x0, y0, x1, y1))
    }
}
