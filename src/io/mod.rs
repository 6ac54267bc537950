//! Reading and writing images (PNG, JPEG, TIFF; 8/16-bit; grey/RGB) and masks.
//!
//! Contract: reading maps samples to [0, 1] by the dtype's FIXED range (u8/255, u16/65535); alpha
//! is dropped with a warning; grey+alpha becomes grey. Writing keeps the source format and bit
//! depth and quantises by rounding ([`Image::to_u8`]). Writes are atomic (temporary file + rename)
//! so an interrupted run never leaves a truncated output behind.

mod manifest;

pub use manifest::{list_inputs, InputItem};

use crate::error::{Error, Result};
use crate::image::{BitDepth, Image, Mask};
use crate::rng::fnv1a32;
use std::path::{Path, PathBuf};

/// Stable image id: FNV-1a of the path relative to the input root, with '/' separators, so the
/// RNG stream of an image does not depend on directory order, batch, or the machine.
pub fn image_id(relative: &Path) -> u32 {
    fnv1a32(&rel_string(relative))
}

/// A relative path as a '/'-separated string (manifest fields, ids).
pub fn rel_string(relative: &Path) -> String {
    let s: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    s.join("/")
}

/// Container format, decided by the file extension when writing and by content when reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Png,
    Jpeg,
    Tiff,
}

impl Format {
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some(Format::Png),
            "jpg" | "jpeg" => Some(Format::Jpeg),
            "tif" | "tiff" => Some(Format::Tiff),
            _ => None,
        }
    }
}

/// Extensions recognised as images when scanning a folder.
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "tif", "tiff"];

/// An image as read from disk.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub image: Image,
    pub depth: BitDepth,
    pub format: Format,
    /// Non-fatal notes (alpha dropped, ...), each naming the file.
    pub warnings: Vec<String>,
}

/// Read an image file. Errors name the file and say what to do.
pub fn read_image(path: &Path) -> Result<Loaded> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    decode_image(&bytes, path)
}

/// Decode image bytes; `path` is only used for messages and the format hint.
pub fn decode_image(bytes: &[u8], path: &Path) -> Result<Loaded> {
    let decode_err = |reason: String| Error::Decode { path: path.to_path_buf(), reason };
    let guessed = image::guess_format(bytes).map_err(|e| decode_err(format!("unknown format: {e}")))?;
    let format = match guessed {
        image::ImageFormat::Png => Format::Png,
        image::ImageFormat::Jpeg => Format::Jpeg,
        image::ImageFormat::Tiff => Format::Tiff,
        other => return Err(decode_err(format!("unsupported format {other:?}"))),
    };
    let dynimg = image::load_from_memory_with_format(bytes, guessed).map_err(|e| decode_err(e.to_string()))?;
    let (w, h) = (dynimg.width() as usize, dynimg.height() as usize);
    if w == 0 || h == 0 {
        return Err(decode_err("empty image (0 pixels)".into()));
    }
    let mut warnings = Vec::new();
    let name = path.display();
    use image::DynamicImage as D;
    let (channels, depth, samples): (usize, BitDepth, Vec<f32>) = match dynimg {
        D::ImageLuma8(b) => (1, BitDepth::U8, b.into_raw().iter().map(|&v| v as f32 / 255.0).collect()),
        D::ImageLumaA8(_) => {
            warnings.push(format!("{name}: alpha channel dropped"));
            (1, BitDepth::U8, dynimg.to_luma8().into_raw().iter().map(|&v| v as f32 / 255.0).collect())
        }
        D::ImageRgb8(b) => (3, BitDepth::U8, b.into_raw().iter().map(|&v| v as f32 / 255.0).collect()),
        D::ImageRgba8(_) => {
            warnings.push(format!("{name}: alpha channel dropped"));
            (3, BitDepth::U8, dynimg.to_rgb8().into_raw().iter().map(|&v| v as f32 / 255.0).collect())
        }
        D::ImageLuma16(b) => (1, BitDepth::U16, b.into_raw().iter().map(|&v| v as f32 / 65535.0).collect()),
        D::ImageLumaA16(_) => {
            warnings.push(format!("{name}: alpha channel dropped"));
            (1, BitDepth::U16, dynimg.to_luma16().into_raw().iter().map(|&v| v as f32 / 65535.0).collect())
        }
        D::ImageRgb16(b) => (3, BitDepth::U16, b.into_raw().iter().map(|&v| v as f32 / 65535.0).collect()),
        D::ImageRgba16(_) => {
            warnings.push(format!("{name}: alpha channel dropped"));
            (3, BitDepth::U16, dynimg.to_rgb16().into_raw().iter().map(|&v| v as f32 / 65535.0).collect())
        }
        other => {
            return Err(decode_err(format!(
                "unsupported sample type {:?}; convert to 8- or 16-bit integer grey/RGB",
                other.color()
            )))
        }
    };
    if depth == BitDepth::U16 && format == Format::Jpeg {
        return Err(decode_err("16-bit JPEG is not supported".into()));
    }
    let image = Image::from_interleaved(w, h, channels, &samples);
    Ok(Loaded { image, depth, format, warnings })
}

/// Encode `img` at `depth` in `format` (JPEG: 8-bit only, quality 95, 4:4:4).
pub fn encode_image(img: &Image, depth: BitDepth, format: Format, path_for_messages: &Path) -> Result<Vec<u8>> {
    let enc_err = |reason: String| Error::Encode { path: path_for_messages.to_path_buf(), reason };
    let (w, h) = (img.width as u32, img.height as u32);
    let mut out = Vec::new();
    let interleaved = img.to_interleaved();
    let q8 = || -> Vec<u8> { interleaved.iter().map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect() };
    let q16 = || -> Vec<u16> { interleaved.iter().map(|&v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16).collect() };
    use image::{DynamicImage as D, ImageBuffer};
    let dynimg = match (depth, img.channels) {
        (BitDepth::U8, 1) => D::ImageLuma8(ImageBuffer::from_raw(w, h, q8()).ok_or_else(|| enc_err("buffer size".into()))?),
        (BitDepth::U8, 3) => D::ImageRgb8(ImageBuffer::from_raw(w, h, q8()).ok_or_else(|| enc_err("buffer size".into()))?),
        (BitDepth::U16, 1) => D::ImageLuma16(ImageBuffer::from_raw(w, h, q16()).ok_or_else(|| enc_err("buffer size".into()))?),
        (BitDepth::U16, 3) => D::ImageRgb16(ImageBuffer::from_raw(w, h, q16()).ok_or_else(|| enc_err("buffer size".into()))?),
        (_, c) => return Err(enc_err(format!("cannot write {c} channels"))),
    };
    match format {
        Format::Png => dynimg
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(|e| enc_err(e.to_string()))?,
        Format::Tiff => dynimg
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Tiff)
            .map_err(|e| enc_err(e.to_string()))?,
        Format::Jpeg => {
            if depth != BitDepth::U8 {
                return Err(enc_err("JPEG output must be 8-bit".into()));
            }
            let ct = if img.channels == 1 { jpeg_encoder::ColorType::Luma } else { jpeg_encoder::ColorType::Rgb };
            let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
            enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
            enc.encode(&q8(), w as u16, h as u16, ct).map_err(|e| enc_err(e.to_string()))?;
        }
    }
    Ok(out)
}

/// Write atomically: encode, write to `path.tmp-<pid>`, rename. Parent folders are created.
pub fn write_image(path: &Path, img: &Image, depth: BitDepth, format: Format) -> Result<()> {
    let bytes = encode_image(img, depth, format, path)?;
    write_atomic(path, &bytes)
}

/// Atomic file write (temporary sibling + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |source| Error::Io { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_err)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(io_err)?;
    std::fs::rename(&tmp, path).map_err(io_err)
}

/// Read a mask (any image format and depth) and binarise it, the one mask rule of the crate:
/// a pixel's value is the maximum over its channels (so a red-on-black mask is not darkened by a
/// luminance conversion); it is foreground when it exceeds half the dtype range (> 127 for 8-bit,
/// the convention of ISIC, Kvasir-SEG and the reference code; JPEG ringing stays background), except
/// for label masks whose largest value is 1 (0/1 masks), where any non-zero value is foreground.
/// `expected` (width, height) must match, else an error naming the file and both sizes.
pub fn read_mask(path: &Path, expected: Option<(usize, usize)>) -> Result<Mask> {
    let loaded = read_image(path)?;
    let img = loaded.image;
    if let Some((w, h)) = expected {
        if (img.width, img.height) != (w, h) {
            return Err(Error::Shape {
                what: format!("mask {}", path.display()),
                expected: format!("{w}x{h} (the image's size)"),
                found: format!("{}x{}", img.width, img.height),
            });
        }
    }
    let max = loaded.depth.max_value();
    let codes: Vec<u16> = (0..img.plane_len())
        .map(|i| (0..img.channels).map(|c| (img.data[c * img.plane_len() + i] * max).round() as u16).max().unwrap_or(0))
        .collect();
    Ok(Mask { width: img.width, height: img.height, data: binarise(&codes, max as u16) })
}

/// The binarisation rule of [`read_mask`] on integer codes of a dtype whose maximum is `max`.
pub fn binarise(values: &[u16], max: u16) -> Vec<u8> {
    let peak = values.iter().copied().max().unwrap_or(0);
    let t = if peak <= 1 { 0 } else { max / 2 };
    values.iter().map(|&v| u8::from(v > t)).collect()
}

/// Write a mask as an 8-bit PNG (0 / 255).
pub fn write_mask(path: &Path, mask: &Mask) -> Result<()> {
    let img = Image::from_planes(mask.width, mask.height, 1, mask.data.iter().map(|&v| if v != 0 { 1.0 } else { 0.0 }).collect());
    write_image(path, &img, BitDepth::U8, Format::Png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_8_and_16_bit() {
        let dir = tempfile::tempdir().unwrap();
        for (depth, ch) in [(BitDepth::U8, 1), (BitDepth::U8, 3), (BitDepth::U16, 1), (BitDepth::U16, 3)] {
            let mut img = Image::new(5, 3, ch);
            for (i, v) in img.data.iter_mut().enumerate() {
                *v = (i as f32 * 0.37).fract();
            }
            let q = img.quantised(depth);
            let p = dir.path().join(format!("x{ch}{depth:?}.png"));
            write_image(&p, &img, depth, Format::Png).unwrap();
            let back = read_image(&p).unwrap();
            assert_eq!(back.depth, depth);
            assert_eq!(back.image, q, "{depth:?} {ch}");
        }
    }

    #[test]
    fn truncated_file_is_a_named_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        write_image(&p, &Image::new(16, 16, 1), BitDepth::U8, Format::Png).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let e = read_image(&p).unwrap_err().to_string();
        assert!(e.contains("a.png"), "{e}");
    }

    #[test]
    fn image_id_is_separator_independent() {
        assert_eq!(image_id(Path::new("a/b.png")), fnv1a32("a/b.png"));
    }
}
