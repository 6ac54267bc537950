//! JPEG round trip: the clean image quantised to u8 (rounding, `Image::to_u8`), encoded at
//! quality q = round(100 - 99*s) (baseline, standard IJG tables scaled by q; RGB as YCbCr with
//! 4:2:0 chroma subsampling at every quality, grey as a single luma component) and decoded, back
//! to [0,1]. The codec is `jpeg-encoder` + `zune-jpeg` as the `image` crate configures it
//! ([`codec`]); what runs is [`direct`], the same integer arithmetic without the (lossless)
//! bitstream, with everything that does not depend on q computed in `prepare`, and checked
//! against the real codec byte for byte in the tests below. The 8-bit path (`apply_u8`) writes
//! the decoded codes into the caller's buffer.
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
//! GPU twin: kernels/jpeg.cuh, the same integer emulation of both codecs, one CUDA block per
//! 16 x 16 tile (tests/cuda_host_math_jpeg.rs: its host-compiled stages against this round trip,
//! bit for bit).

#[cfg(test)]
mod codec;
mod direct;

use crate::error::{Error, Result};
use crate::image::{BitDepth, Image};
use crate::perturb::common::codes::{codes_into, VALUE8};
use crate::perturb::device::{Device, Family};
use crate::perturb::{
    Category, Colour, Ctx, Info, IntegerSteps, Perturbation, Prepared, StrengthKind,
};
use direct::Direct;

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
    source: "libjpeg via PIL (behavioural); the jpeg-encoder + image/zune-jpeg round trip, computed without the bitstream",
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
    /// The clean image's blocks, transformed (everything of the round trip before quantisation).
    direct: Direct,
    /// The clean image itself, returned at s = 0.
    clean: Image,
}

impl Prepared for JpegPrepared {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.clean.clone();
        }
        let mut codes = vec![0u8; self.clean.data.len()];
        self.direct.decode(quality(s), &mut codes);
        let tab = &*VALUE8;
        let data = codes.iter().map(|&k| tab[k as usize]).collect();
        let c = &self.clean;
        Image::from_planes(c.width, c.height, c.channels, data)
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
        if s <= 0.0 {
            return codes_into(&self.clean, out);
        }
        self.direct.decode(quality(s), out);
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
        let direct = Direct::new(&img.to_u8(), img.width, img.height, img.channels);
        let p = JpegPrepared {
            direct,
            clean: img.clone(),
        };
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
    use super::codec::round_trip as codec_round_trip;
    use super::*;
    use proptest::prelude::*;

    /// A w x h x c image (planar codes) of one of four kinds: 0 noise, 1 smooth ramps with a
    /// little noise (DC-only and sparse blocks: the decoder's 1x1 / 4x4 IDCT shortcuts), 2 flat,
    /// 3 saturated colour edges.
    fn content(w: usize, h: usize, c: usize, kind: u8, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut out = vec![0u8; w * h * c];
        for ch in 0..c {
            for y in 0..h {
                for px in 0..w {
                    let n = next();
                    out[(ch * h + y) * w + px] = match kind {
                        0 => n as u8,
                        1 => ((px * (3 + ch) + y * 2) % 256) as u8 ^ (n as u8 & 3),
                        2 => (40 + 70 * ch) as u8,
                        _ => {
                            if (px / 5 + y / 3 + ch) % 2 == 0 {
                                255
                            } else {
                                0
                            }
                        }
                    };
                }
            }
        }
        out
    }

    /// The real codec's round trip of planar codes, as planar codes.
    fn via_codec(codes: &[u8], w: usize, h: usize, c: usize, q: u8) -> Vec<u8> {
        let n = w * h;
        let inter: Vec<u8> = (0..n * c).map(|i| codes[(i % c) * n + i / c]).collect();
        let out = codec_round_trip(&inter, w, h, c, q).expect("codec round trip");
        (0..n * c).map(|i| out[(i % n) * c + i / n]).collect()
    }

    fn via_direct(codes: &[u8], w: usize, h: usize, c: usize, q: u8) -> Vec<u8> {
        let mut out = vec![0u8; codes.len()];
        Direct::new(codes, w, h, c).decode(q, &mut out);
        out
    }

    fn assert_same(codes: &[u8], w: usize, h: usize, c: usize, q: u8, what: &str) {
        let (a, b) = (via_direct(codes, w, h, c, q), via_codec(codes, w, h, c, q));
        let diff = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert_eq!(
            diff, 0,
            "{what} {w}x{h}x{c} q {q}: {diff} bytes differ from the codec"
        );
    }

    #[test]
    fn direct_is_the_codec_at_every_quality() {
        for (w, h, c, kind) in [
            (53, 37, 3, 0),
            (53, 37, 3, 1),
            (40, 33, 1, 0),
            (17, 48, 3, 3),
        ] {
            let codes = content(w, h, c, kind, 7);
            for q in 1..=100 {
                assert_same(&codes, w, h, c, q, &format!("kind {kind}"));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn direct_is_the_codec_over_shapes(
            w in 1usize..70, h in 1usize..70, rgb in any::<bool>(), kind in 0u8..4,
            seed in any::<u64>(), q in 1u8..=100,
        ) {
            let c = if rgb { 3 } else { 1 };
            let codes = content(w, h, c, kind, seed);
            assert_same(&codes, w, h, c, q, &format!("kind {kind} seed {seed}"));
        }
    }

    #[test]
    fn apply_is_the_codec_round_trip_and_identity_at_zero() {
        let (w, h) = (45, 31);
        let codes = content(w, h, 3, 1, 3);
        let tab = &*VALUE8;
        let img = Image::from_planes(w, h, 3, codes.iter().map(|&k| tab[k as usize]).collect());
        let p = Jpeg.prepare(&img, &Ctx::new(0, 0)).unwrap();
        assert_eq!(p.apply(0.0).data, img.data);
        let s = 0.4;
        let want = via_codec(&codes, w, h, 3, quality(s));
        let got = p.apply(s);
        assert!(got
            .data
            .iter()
            .zip(&want)
            .all(|(v, &k)| v.to_bits() == tab[k as usize].to_bits()));
        let mut out = vec![0u8; codes.len()];
        p.apply_u8(s, &mut out);
        assert_eq!(out, want);
    }

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
