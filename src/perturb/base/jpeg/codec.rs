//! The real codec round trip, the reference [`super::direct`] is checked against: encoded with
//! `jpeg-encoder` at quality q (baseline, standard IJG tables scaled by q; RGB as YCbCr with 4:2:0
//! chroma subsampling, grey as a single luma component), decoded with `zune-jpeg` configured
//! exactly as the `image` crate configures it (non-strict, output RGB for the 3-component YCbCr
//! file, Luma for the grey one; `image`'s own decoder is this one plus two buffer copies).
//!
//! Which code paths run (checked in the crates' sources; kernels/jpeg.cuh has the details):
//! jpeg-encoder's `simd` feature is off in this build (Cargo.toml asks for the default features
//! only), so its scalar paths run; zune-jpeg's AVX2 paths are lane-wise transcriptions of its
//! scalar ones. A codec upgrade or feature change that alters the arithmetic fails the tests of
//! `super`, which compare this with the direct round trip byte for byte.

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// The decoded bytes (interleaved HWC) of the round trip of `interleaved` (`w` x `h` x `c`
/// bytes, c = 1 or 3) at quality `q`.
pub fn round_trip(
    interleaved: &[u8],
    w: usize,
    h: usize,
    c: usize,
    q: u8,
) -> Result<Vec<u8>, String> {
    use zune_core::colorspace::ColorSpace;
    let mut buf = Vec::with_capacity(interleaved.len() / 4);
    let mut enc = Encoder::new(&mut buf, q);
    let (colour, out_space) = if c == 3 {
        enc.set_sampling_factor(SamplingFactor::R_4_2_0);
        (ColorType::Rgb, ColorSpace::RGB)
    } else {
        (ColorType::Luma, ColorSpace::Luma)
    };
    let (w16, h16) = (
        u16::try_from(w).map_err(|e| e.to_string())?,
        u16::try_from(h).map_err(|e| e.to_string())?,
    );
    enc.encode(interleaved, w16, h16, colour)
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
    if bytes.len() != interleaved.len() {
        return Err(format!(
            "decoded {} bytes, expected {}",
            bytes.len(),
            interleaved.len()
        ));
    }
    Ok(bytes)
}
