//! JPEG round trip in memory: the clean image quantised to u8 (rounding, `Image::to_u8`),
//! encoded with the `jpeg-encoder` crate at quality q = round(100 - 99*s) (baseline, standard
//! IJG tables scaled by q; RGB as YCbCr with 4:2:0 chroma subsampling at every quality, grey as a
//! single luma component), decoded with `zune-jpeg` configured exactly as the `image` crate
//! configures it (non-strict, output RGB for the 3-component YCbCr file, Luma for the grey one;
//! `image`'s own decoder is this one plus two buffer copies), back to [0,1]. The 8-bit path
//! (`apply_u8`) takes the decoded bytes as they are, de-interleaved, into the caller's buffer.
//!
//! s = 0 returns the clean image exactly (no codec: rule 3, identity wherever possible); any s > 0
//! is a real round trip, s in (0, 0.005) already at q = 100, which with 4:2:0 chroma is visibly
//! lossy on colour texture (mean error ~5 levels on the H&E phantom). The strength is
//! integer-valued in disguise (100 quality steps), and SSIM(q) is NOT monotone: on RGB up to
//! +0.023 (research notes section 9), and on grey images with flat black backgrounds (windowed CT)
//! up-steps reach +0.16 at q < 40, because DC quantisation error in near-black flat regions
//! dominates SSIM's luminance term there (C1 = 1e-4) and does not grow monotonically with the
//! quantiser step (reproduced with PIL/libjpeg on the same phantom). `monotone_tolerance` 0.2
//! (kind Integer): calibration scans the final bracket and keeps the in-band probe closest to the
//! target, and a band the curve jumps over is reported as skipped.
//!
//! GPU twin: kernels/jpeg.cuh emulates both codecs' integer arithmetic (encoder scalar paths:
//! jpeg-encoder's `simd` feature is off; decoder: zune-jpeg's scalar and AVX2 paths, which agree),
//! bit-identical to this round trip (tests/cuda_host_math_jpeg.rs, which would catch a codec
//! upgrade or feature change that alters the arithmetic).

use crate::error::{Error, Result};
use crate::image::{BitDepth, Image};
use crate::perturb::common::codes::{codes_into, VALUE8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{
    Category, Colour, Ctx, Info, IntegerSteps, Perturbation, Prepared, StrengthKind,
};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

pub struct Jpeg;

static JPEG: Info = Info {
    id: "jpeg",
    category: Category::Base,
    modality: None,
    model: "JPEG round trip at quality q = round(100 - 99*s), 4:2:0 chroma for RGB, in memory",
    strength_name: "compression (quality 100 at 0, 1 at 1)",
    strength_range: (0.0, 1.0),
    kind: StrengthKind::Integer,
    geometric: false,
    colour: Colour::Any,
    source: "libjpeg via PIL (behavioural); encoder jpeg-encoder, decoder image/zune-jpeg",
    monotone_tolerance: 0.2,
    device: Device::search(Family::Jpeg, "jpeg"),
};

/// The quality used at strength s: round(100 - 99 s), clamped to 1..=100.
pub fn quality(s: f32) -> u8 {
    (100.0 - 99.0 * s.clamp(0.0, 1.0)).round().clamp(1.0, 100.0) as u8
}

/// The strength of step k of [`Jpeg`]'s integer steps.
fn jpeg_step(k: u32) -> f32 {
    match k {
        0 => 0.0,
        1 => 0.25 / 99.0,
        _ => (k - 1) as f32 / 99.0,
    }
}

struct JpegPrepared {
    width: usize,
    height: usize,
    channels: usize,
    /// The clean image as interleaved u8 (rounded), the encoder's input.
    interleaved: Vec<u8>,
    /// The clean image quantised to u8, returned if a round trip ever fails (it cannot for the
    /// sizes `prepare` accepts; kept so `apply` has no panic path).
    quantised: Image,
    /// The clean image itself, returned at s = 0.
    clean: Image,
}

impl JpegPrepared {
    /// The decoded bytes (interleaved HWC) of the round trip at quality q.
    fn round_trip_bytes(&self, q: u8) -> std::result::Result<Vec<u8>, String> {
        use zune_core::colorspace::ColorSpace;
        let mut buf = Vec::with_capacity(self.interleaved.len() / 4);
        let mut enc = Encoder::new(&mut buf, q);
        let (colour, out_space) = if self.channels == 3 {
            enc.set_sampling_factor(SamplingFactor::R_4_2_0);
            (ColorType::Rgb, ColorSpace::RGB)
        } else {
            (ColorType::Luma, ColorSpace::Luma)
        };
        enc.encode(
            &self.interleaved,
            self.width as u16,
            self.height as u16,
            colour,
        )
        .map_err(|e| e.to_string())?;
        let options = zune_core::options::DecoderOptions::default()
            .jpeg_set_out_colorspace(out_space)
            .set_strict_mode(false)
            .set_max_width(usize::MAX)
            .set_max_height(usize::MAX);
        let mut dec = zune_jpeg::JpegDecoder::new_with_options(
            zune_core::bytestream::ZCursor::new(buf.as_slice()),
            options,
        );
        let bytes = dec.decode().map_err(|e| format!("{e:?}"))?;
        if bytes.len() != self.interleaved.len() {
            return Err(format!(
                "decoded {} bytes, expected {}",
                bytes.len(),
                self.interleaved.len()
            ));
        }
        Ok(bytes)
    }

    fn round_trip(&self, q: u8) -> std::result::Result<Image, String> {
        let bytes = self.round_trip_bytes(q)?;
        let (n, c) = (self.width * self.height, self.channels);
        let tab = &*VALUE8;
        let mut data = vec![0.0f32; bytes.len()];
        for (k, plane) in data.chunks_mut(n.max(1)).enumerate() {
            for (o, px) in plane.iter_mut().zip(bytes.chunks_exact(c)) {
                *o = tab[px[k] as usize];
            }
        }
        Ok(Image::from_planes(self.width, self.height, c, data))
    }
}

impl Prepared for JpegPrepared {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.clean.clone();
        }
        self.round_trip(quality(s))
            .unwrap_or_else(|_| self.quantised.clone())
    }

    /// The round trip's samples are 8-bit codes / 255 already: quantising them to 8 bits
    /// changes no bit (`round((b / 255) * 255) = b`), so only s = 0 (the clean image) and other
    /// depths need the pass.
    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        if s <= 0.0 || depth != BitDepth::U8 {
            return self.apply(s).quantised(depth);
        }
        self.apply(s)
    }

    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        let bytes = match self.round_trip_bytes(quality(s)) {
            Ok(b) if s > 0.0 => b,
            _ => return codes_into(&self.apply_quantised(s, BitDepth::U8), out),
        };
        let (n, c) = (self.width * self.height, self.channels);
        assert_eq!(out.len(), n * c, "8-bit output length");
        if c == 1 {
            return out.copy_from_slice(&bytes);
        }
        for (k, plane) in out.chunks_mut(n.max(1)).enumerate() {
            for (o, px) in plane.iter_mut().zip(bytes.chunks_exact(c)) {
                *o = px[k];
            }
        }
    }
}

impl Perturbation for Jpeg {
    fn info(&self) -> &Info {
        &JPEG
    }
    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        if img.channels != 1 && img.channels != 3 {
            return Err(Error::NotApplicable {
                id: JPEG.id.into(),
                reason: format!("{} channels (JPEG takes 1 or 3)", img.channels),
            });
        }
        if img.width == 0
            || img.height == 0
            || img.width > u16::MAX as usize
            || img.height > u16::MAX as usize
        {
            return Err(Error::NotApplicable {
                id: JPEG.id.into(),
                reason: format!(
                    "image {} outside JPEG's 1..65535 px per side",
                    img.shape_str()
                ),
            });
        }
        let quantised = img.quantised(crate::image::BitDepth::U8);
        let interleaved = quantised
            .to_interleaved()
            .iter()
            .map(|&v| (v * 255.0).round() as u8)
            .collect();
        let p = JpegPrepared {
            width: img.width,
            height: img.height,
            channels: img.channels,
            interleaved,
            quantised,
            clean: img.clone(),
        };
        // one trial round trip so an encoder/decoder failure surfaces here as an error, not later
        p.round_trip(100)
            .map_err(|e| Error::other(JPEG.id, format!("JPEG round trip failed: {e}")))?;
        Ok(Box::new(p))
    }
    /// Step 0 is s = 0, the identity (no codec); step 1 quality 100 (s = 0.25 / 99, inside
    /// (0, 0.005)); step k >= 2 quality 101 - k at s = (k - 1) / 99, so step 100 is quality 1 at s = 1.
    fn integer_steps(&self) -> Option<IntegerSteps> {
        Some(IntegerSteps {
            last: 100,
            strength: jpeg_step,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_mapping() {
        assert_eq!(quality(0.0), 100);
        assert_eq!(quality(1.0), 1);
        assert_eq!(quality(0.5), 51); // 50.5 rounds away from zero
    }

    #[test]
    fn integer_steps_are_the_qualities() {
        let st = Jpeg.integer_steps().unwrap();
        assert_eq!((st.strength)(0), 0.0);
        assert_eq!((st.strength)(st.last), 1.0);
        for k in 1..=st.last {
            assert_eq!(quality((st.strength)(k)) as u32, 101 - k, "step {k}");
            assert!((st.strength)(k) > (st.strength)(k - 1));
        }
    }
}
