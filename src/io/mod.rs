//! Reading and writing images (PNG, JPEG, TIFF; 8/16-bit; grey/RGB) and masks.
//!
//! Contract: reading maps samples to [0, 1] by the dtype's FIXED range (u8/255, u16/65535); alpha
//! is dropped with a warning; grey+alpha becomes grey. Writing keeps the source format and bit
//! depth and quantises by rounding ([`Image::to_u8`]). Writes are atomic (temporary file + rename)
//! so an interrupted run never leaves a truncated output behind.

pub mod dicom;
mod manifest;
pub mod nifti;
pub mod slices;

pub use manifest::{list_inputs, BadEntry, InputItem, Listing};

use crate::error::{Error, Result};
use crate::image::{BitDepth, Image, Mask};
use crate::rng::fnv1a32;
use std::path::{Path, PathBuf};

/// Stable image id: FNV-1a of the path relative to the input root, with '/' separators, so the
/// RNG stream of an image does not depend on directory order, batch, or the machine.
pub fn image_id(relative: &Path) -> u32 {
    fnv1a32(&rel_string(relative))
}

/// A relative path as a '/'-separated string (manifest fields, ids), reversibly: file names are
/// bytes on Unix, so a byte that is not part of valid UTF-8 is written `\xNN` (two hex digits)
/// and a backslash `\\`; every other character is itself. Two different paths never give the
/// same string, and [`rel_path`] gives the path back.
pub fn rel_string(relative: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let parts: Vec<String> = relative
        .components()
        .map(|c| escape_bytes(c.as_os_str().as_bytes()))
        .collect();
    parts.join("/")
}

fn escape_bytes(mut b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    loop {
        match std::str::from_utf8(b) {
            Ok(s) => {
                push_escaped(&mut out, s);
                return out;
            }
            Err(e) => {
                let (ok, rest) = b.split_at(e.valid_up_to());
                push_escaped(&mut out, std::str::from_utf8(ok).unwrap_or_default());
                let n = e.error_len().unwrap_or(rest.len()).max(1);
                for byte in &rest[..n] {
                    out.push_str(&format!("\\x{byte:02X}"));
                }
                b = &rest[n..];
            }
        }
    }
}

fn push_escaped(out: &mut String, s: &str) {
    for ch in s.chars() {
        if ch == '\\' {
            out.push_str("\\\\");
        } else {
            out.push(ch);
        }
    }
}

/// The path of a [`rel_string`] (its inverse); None when `s` has a malformed escape.
pub fn rel_path(s: &str) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b.get(i + 1)? {
                b'\\' => {
                    out.push(b'\\');
                    i += 2;
                }
                b'x' => {
                    let hex = std::str::from_utf8(b.get(i + 2..i + 4)?).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 4;
                }
                _ => return None,
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(PathBuf::from(std::ffi::OsString::from_vec(out)))
}

/// Container format, decided by the file extension when writing and by content when reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Png,
    Jpeg,
    Tiff,
    /// DICOM Part 10 (read: any supported transfer syntax; written: explicit VR little endian).
    Dicom,
    /// NIfTI-1 (.nii, .nii.gz), read slice by slice, written one slice per file.
    Nifti,
}

impl Format {
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "png" => Some(Format::Png),
            "jpg" | "jpeg" => Some(Format::Jpeg),
            "tif" | "tiff" => Some(Format::Tiff),
            "dcm" | "dicom" => Some(Format::Dicom),
            "nii" => Some(Format::Nifti),
            "gz" if nifti::is_nifti_name(path) => Some(Format::Nifti),
            _ => None,
        }
    }
}

/// Extensions recognised as images when scanning a folder.
pub const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "tif", "tiff", "dcm", "dicom"];

/// An image as read from disk.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub image: Image,
    pub depth: BitDepth,
    pub format: Format,
    /// Non-fatal notes (alpha dropped, ...), each naming the file.
    pub warnings: Vec<String>,
    /// A medical source (DICOM): what writing a derived file needs.
    pub medical: Option<Medical>,
}

/// A medical source kept next to its image for writing derived files in its own format.
#[derive(Clone, Debug)]
pub enum Medical {
    /// The parsed DICOM file and the frame the image is.
    Dicom {
        source: std::sync::Arc<dicom::DicomSource>,
        frame: u32,
    },
    /// The parsed NIfTI volume and the slice the image is.
    Nifti {
        source: std::sync::Arc<nifti::NiftiSource>,
        /// None: the whole volume (an image whose channels are its slices).
        slice: Option<u32>,
        gz: bool,
    },
}

impl Medical {
    /// What a reader of the written file gets back on the working scale (the stored integers
    /// turned back through the source's scale): what SSIM is measured on.
    pub fn as_written(&self, img: &Image) -> Image {
        match self {
            Medical::Dicom { source, .. } => source.as_written(img),
            Medical::Nifti { source, .. } => source.as_written(img),
        }
    }
}

/// Read frame `frame` of a (multi-frame) image file: DICOM frames; other formats have frame 0
/// only. `None` reads frame 0 (with a warning naming the file when it has more).
pub fn read_frame(path: &Path, frame: Option<u32>) -> Result<Loaded> {
    let bytes = read_file(path)?;
    decode_frame(&bytes, path, frame)
}

/// A NIfTI volume as one image whose channels are its slices (src/perturb/volume.rs).
pub fn read_volume(path: &Path) -> Result<Loaded> {
    let bytes = read_file(path)?;
    let src = nifti::open(&bytes, path)?;
    let image = src.volume_image();
    Ok(nifti_loaded(src, image, None, &bytes, Vec::new()))
}

/// A NIfTI source's image (slice `slice`, or the volume) as read.
fn nifti_loaded(
    src: nifti::NiftiSource,
    image: Image,
    slice: Option<u32>,
    bytes: &[u8],
    warnings: Vec<String>,
) -> Loaded {
    Loaded {
        image,
        depth: src.depth(),
        format: Format::Nifti,
        warnings,
        medical: Some(Medical::Nifti {
            source: std::sync::Arc::new(src),
            slice,
            gz: bytes.starts_with(&[0x1f, 0x8b]),
        }),
    }
}

/// NIfTI by name (.nii, .nii.gz) or by an uncompressed NIfTI-1 header (sizeof_hdr 348 in either
/// byte order and the n+1 magic).
fn is_nifti(path: &Path, b: &[u8]) -> bool {
    nifti::is_nifti_name(path)
        || (b.len() >= 348
            && (b[..4] == 348i32.to_le_bytes() || b[..4] == 348i32.to_be_bytes())
            && &b[344..348] == b"n+1\0")
}

/// [`read_frame`] on bytes already read.
pub fn decode_frame(bytes: &[u8], path: &Path, frame: Option<u32>) -> Result<Loaded> {
    if dicom::is_dicom(bytes) {
        let src = dicom::open(bytes, path)?;
        let mut warnings = Vec::new();
        if frame.is_none() && src.frames > 1 {
            warnings.push(format!(
                "{}: {} frames; frame 0 is used (choose with --slices)",
                path.display(),
                src.frames
            ));
        }
        let f = frame.unwrap_or(0);
        let limit = max_pixels()?;
        let pixels = (src.rows * src.columns) as u64;
        if pixels > limit {
            return Err(Error::TooManyPixels {
                path: path.to_path_buf(),
                width: src.columns as u64,
                height: src.rows as u64,
                pixels,
                limit,
            });
        }
        let image = src.image(f, path)?;
        return Ok(Loaded {
            image,
            depth: src.depth(),
            format: Format::Dicom,
            warnings,
            medical: Some(Medical::Dicom {
                source: std::sync::Arc::new(src),
                frame: f,
            }),
        });
    }
    if is_nifti(path, bytes) {
        let src = nifti::open(bytes, path)?;
        let mut warnings = Vec::new();
        if frame.is_none() && src.slices() > 1 {
            warnings.push(format!(
                "{}: {} slices; slice 0 is used (choose with --slices)",
                path.display(),
                src.slices()
            ));
        }
        let k = frame.unwrap_or(0);
        let image = src.image(k, path)?;
        return Ok(nifti_loaded(src, image, Some(k), bytes, warnings));
    }
    match frame {
        Some(f) if f > 0 => Err(Error::invalid(
            path.display().to_string(),
            format!("frame {f} asked for, a PNG/JPEG/TIFF image has one (frame 0)"),
        )),
        _ => decode_image(bytes, path),
    }
}

/// Default of the decompression-bomb guard: at most 2^26 = 67,108,864 pixels (8192 x 8192) per
/// image, checked from the file header before any pixel is decoded. The largest single-frame
/// medical images (mammograms, about 4000 x 5000; 4k X-ray detectors) are a third of it; an image
/// at the limit takes about 0.8 GB as f32 RGB, which the pipeline holds a few copies of. Raise it
/// with the environment variable `MEDFM_MAX_PIXELS` (docs/reliability.md).
pub const DEFAULT_MAX_PIXELS: u64 = 1 << 26;

/// The pixel limit in force: `MEDFM_MAX_PIXELS` when set (a positive whole number), else
/// [`DEFAULT_MAX_PIXELS`].
pub fn max_pixels() -> Result<u64> {
    match std::env::var("MEDFM_MAX_PIXELS") {
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::invalid(
                "MEDFM_MAX_PIXELS",
                format!("'{v}' is not a positive whole number of pixels"),
            )),
        },
        Err(_) => Ok(DEFAULT_MAX_PIXELS),
    }
}

/// Read a whole input file, refusing what is not a regular file (a FIFO or device would block or
/// never end) and naming dangling links and link loops.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            let is_link = std::fs::symlink_metadata(path).is_ok_and(|l| l.file_type().is_symlink());
            if let (true, Ok(target)) = (is_link, std::fs::canonicalize(path)) {
                let parent = path.parent().and_then(|p| std::fs::canonicalize(p).ok());
                if parent.is_some_and(|p| p.starts_with(&target)) {
                    return Err(Error::BadEntry {
                        path: path.to_path_buf(),
                        reason: format!(
                            "symbolic link loop (it leads back to {}); fix or remove the link",
                            target.display()
                        ),
                    });
                }
            }
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: "input: it is a folder".into(),
                fix: "give an image file".into(),
            });
        }
        Ok(m) if !m.is_file() => {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: format!("input: it is {}", kind_of(&m.file_type())),
                fix: "give a regular image file".into(),
            })
        }
        Ok(_) => {}
        Err(e) => return Err(link_error(path).unwrap_or_else(|| Error::read(path, e))),
    }
    std::fs::read(path).map_err(|e| Error::read(path, e))
}

/// A dangling symlink or a link loop at `path`, named (None when `path` is no such link).
pub(crate) fn link_error(path: &Path) -> Option<Error> {
    let lm = std::fs::symlink_metadata(path).ok()?;
    if !lm.file_type().is_symlink() {
        return None;
    }
    let reason = match std::fs::metadata(path) {
        Err(e) if e.raw_os_error() == Some(40) => {
            "symbolic link loop; fix or remove the link".to_string()
        }
        Err(_) => {
            let target = std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into());
            format!("dangling symbolic link (its target {target} does not exist); restore the target or remove the link")
        }
        Ok(_) => return None,
    };
    Some(Error::BadEntry {
        path: path.to_path_buf(),
        reason,
    })
}

/// What a non-regular file is, in words.
pub(crate) fn kind_of(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a folder"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Read an image file (PNG, JPEG, TIFF, DICOM: its first frame). Errors name the file and say
/// what to do.
pub fn read_image(path: &Path) -> Result<Loaded> {
    read_frame(path, None)
}

/// A PNG must end with its IEND chunk and a JPEG with an EOI marker after its last scan; the
/// decoders accept files cut short and fill the missing rows, which would silently be measured.
fn check_complete(bytes: &[u8], format: Format) -> std::result::Result<(), String> {
    match format {
        Format::Png => {
            if bytes.windows(4).rev().any(|w| w == b"IEND") {
                Ok(())
            } else {
                Err("truncated PNG: no IEND chunk (the file was cut short)".into())
            }
        }
        Format::Jpeg => {
            let sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
            match sos {
                None => Err("truncated JPEG: no scan (SOS marker)".into()),
                Some(p) if !bytes[p..].windows(2).any(|w| w == [0xFF, 0xD9]) => {
                    Err("truncated JPEG: no end-of-image marker after the last scan (the file was cut short)".into())
                }
                Some(_) => Ok(()),
            }
        }
        Format::Tiff | Format::Dicom | Format::Nifti => Ok(()),
    }
}

/// Pages (IFDs) of a classic TIFF and the sample format of the first (1 unsigned, 2 signed,
/// 3 float); None when the structure cannot be followed (the decoder then reports it).
fn tiff_layout(b: &[u8]) -> Option<(usize, u16)> {
    let le = match b.get(..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let s: [u8; 2] = b.get(o..o + 2)?.try_into().ok()?;
        Some(if le {
            u16::from_le_bytes(s)
        } else {
            u16::from_be_bytes(s)
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let s: [u8; 4] = b.get(o..o + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(s)
        } else {
            u32::from_be_bytes(s)
        })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let mut off = u32_at(4)? as usize;
    let (mut pages, mut sample_format) = (0usize, 1u16);
    let mut seen = std::collections::HashSet::new();
    while off != 0 && pages < 100_000 && seen.insert(off) {
        let n = u16_at(off)? as usize;
        if pages == 0 {
            for i in 0..n {
                let e = off + 2 + 12 * i;
                if u16_at(e)? == 339 {
                    // SHORT values, one per sample: inline when they fit in 4 bytes, else at an offset.
                    let count = u32_at(e + 4)?;
                    sample_format = if count <= 2 {
                        u16_at(e + 8)?
                    } else {
                        u16_at(u32_at(e + 8)? as usize)?
                    };
                }
            }
        }
        pages += 1;
        off = u32_at(off + 2 + 12 * n)? as usize;
    }
    Some((pages, sample_format))
}

/// Decode image bytes; `path` is only used for messages and the format hint.
pub fn decode_image(bytes: &[u8], path: &Path) -> Result<Loaded> {
    let decode_err = |reason: String| Error::Decode {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.is_empty() {
        return Err(decode_err("empty file (0 bytes)".into()));
    }
    let guessed =
        image::guess_format(bytes).map_err(|e| decode_err(format!("unknown format: {e}")))?;
    let format = match guessed {
        image::ImageFormat::Png => Format::Png,
        image::ImageFormat::Jpeg => Format::Jpeg,
        image::ImageFormat::Tiff => Format::Tiff,
        other => return Err(decode_err(format!("unsupported format {other:?}"))),
    };
    check_complete(bytes, format).map_err(decode_err)?;
    let mut warnings = Vec::new();
    let name = path.display();
    if format == Format::Tiff {
        if let Some((pages, sample_format)) = tiff_layout(bytes) {
            match sample_format {
                3 => {
                    return Err(Error::Unsupported {
                        path: path.to_path_buf(),
                        what: "32-bit floating-point TIFF".into(),
                        fix: "convert it to 8- or 16-bit unsigned integer (e.g. scale [0, 1] to 0..65535)".into(),
                    })
                }
                2 => {
                    return Err(Error::Unsupported {
                        path: path.to_path_buf(),
                        what: "signed-integer TIFF".into(),
                        fix: "convert it to 8- or 16-bit unsigned integer".into(),
                    })
                }
                _ => {}
            }
            if pages > 1 {
                warnings.push(format!("{name}: multi-page TIFF ({pages} pages); page 1 is used, pages 2..{pages} are ignored"));
            }
        }
    }
    let limit = max_pixels()?;
    let reader = || image::ImageReader::with_format(std::io::Cursor::new(bytes), guessed);
    let (hw, hh) = reader()
        .into_dimensions()
        .map_err(|e| decode_err(e.to_string()))?;
    let pixels = hw as u64 * hh as u64;
    if pixels > limit {
        return Err(Error::TooManyPixels {
            path: path.to_path_buf(),
            width: hw as u64,
            height: hh as u64,
            pixels,
            limit,
        });
    }
    let mut r = reader();
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(limit.saturating_mul(8).max(512 << 20));
    r.limits(limits);
    let dynimg = r.decode().map_err(|e| decode_err(e.to_string()))?;
    let (w, h) = (dynimg.width() as usize, dynimg.height() as usize);
    if w == 0 || h == 0 {
        return Err(decode_err("empty image (0 pixels)".into()));
    }
    use image::DynamicImage as D;
    let (channels, depth, samples): (usize, BitDepth, Vec<f32>) =
        match dynimg {
            D::ImageLuma8(b) => (
                1,
                BitDepth::U8,
                b.into_raw().iter().map(|&v| v as f32 / 255.0).collect(),
            ),
            D::ImageLumaA8(_) => {
                warnings.push(format!("{name}: alpha channel dropped"));
                (
                    1,
                    BitDepth::U8,
                    dynimg
                        .to_luma8()
                        .into_raw()
                        .iter()
                        .map(|&v| v as f32 / 255.0)
                        .collect(),
                )
            }
            D::ImageRgb8(b) => (
                3,
                BitDepth::U8,
                b.into_raw().iter().map(|&v| v as f32 / 255.0).collect(),
            ),
            D::ImageRgba8(_) => {
                warnings.push(format!("{name}: alpha channel dropped"));
                (
                    3,
                    BitDepth::U8,
                    dynimg
                        .to_rgb8()
                        .into_raw()
                        .iter()
                        .map(|&v| v as f32 / 255.0)
                        .collect(),
                )
            }
            D::ImageLuma16(b) => (
                1,
                BitDepth::U16,
                b.into_raw().iter().map(|&v| v as f32 / 65535.0).collect(),
            ),
            D::ImageLumaA16(_) => {
                warnings.push(format!("{name}: alpha channel dropped"));
                (
                    1,
                    BitDepth::U16,
                    dynimg
                        .to_luma16()
                        .into_raw()
                        .iter()
                        .map(|&v| v as f32 / 65535.0)
                        .collect(),
                )
            }
            D::ImageRgb16(b) => (
                3,
                BitDepth::U16,
                b.into_raw().iter().map(|&v| v as f32 / 65535.0).collect(),
            ),
            D::ImageRgba16(_) => {
                warnings.push(format!("{name}: alpha channel dropped"));
                (
                    3,
                    BitDepth::U16,
                    dynimg
                        .to_rgb16()
                        .into_raw()
                        .iter()
                        .map(|&v| v as f32 / 65535.0)
                        .collect(),
                )
            }
            D::ImageRgb32F(_) | D::ImageRgba32F(_) => return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: "32-bit floating-point image".into(),
                fix: "convert it to 8- or 16-bit unsigned integer (e.g. scale [0, 1] to 0..65535)"
                    .into(),
            }),
            other => {
                return Err(Error::Unsupported {
                    path: path.to_path_buf(),
                    what: format!("sample type {:?}", other.color()),
                    fix: "convert it to 8- or 16-bit unsigned integer grey or RGB".into(),
                })
            }
        };
    if depth == BitDepth::U16 && format == Format::Jpeg {
        return Err(decode_err("16-bit JPEG is not supported".into()));
    }
    let image = Image::from_interleaved(w, h, channels, &samples);
    Ok(Loaded {
        image,
        depth,
        format,
        warnings,
        medical: None,
    })
}

/// Encode `img` at `depth` in `format` (JPEG: 8-bit only, quality 95, 4:4:4).
pub fn encode_image(
    img: &Image,
    depth: BitDepth,
    format: Format,
    path_for_messages: &Path,
) -> Result<Vec<u8>> {
    let enc_err = |reason: String| Error::Encode {
        path: path_for_messages.to_path_buf(),
        reason,
    };
    let (w, h) = (img.width as u32, img.height as u32);
    let mut out = Vec::new();
    let interleaved = img.to_interleaved();
    let q8 = || -> Vec<u8> {
        interleaved
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    };
    let q16 = || -> Vec<u16> {
        interleaved
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 65535.0).round() as u16)
            .collect()
    };
    use image::{DynamicImage as D, ImageBuffer};
    let dynimg = match (depth, img.channels) {
        (BitDepth::U8, 1) => D::ImageLuma8(
            ImageBuffer::from_raw(w, h, q8()).ok_or_else(|| enc_err("buffer size".into()))?,
        ),
        (BitDepth::U8, 3) => D::ImageRgb8(
            ImageBuffer::from_raw(w, h, q8()).ok_or_else(|| enc_err("buffer size".into()))?,
        ),
        (BitDepth::U16, 1) => D::ImageLuma16(
            ImageBuffer::from_raw(w, h, q16()).ok_or_else(|| enc_err("buffer size".into()))?,
        ),
        (BitDepth::U16, 3) => D::ImageRgb16(
            ImageBuffer::from_raw(w, h, q16()).ok_or_else(|| enc_err("buffer size".into()))?,
        ),
        (_, c) => return Err(enc_err(format!("cannot write {c} channels"))),
    };
    match format {
        Format::Png => dynimg
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(|e| enc_err(e.to_string()))?,
        Format::Tiff => dynimg
            .write_to(
                &mut std::io::Cursor::new(&mut out),
                image::ImageFormat::Tiff,
            )
            .map_err(|e| enc_err(e.to_string()))?,
        Format::Dicom | Format::Nifti => {
            return Err(enc_err(
                "a DICOM file is derived from its source (io::dicom::derive), not encoded from pixels alone".into(),
            ))
        }
        Format::Jpeg => {
            if depth != BitDepth::U8 {
                return Err(enc_err("JPEG output must be 8-bit".into()));
            }
            let ct = if img.channels == 1 {
                jpeg_encoder::ColorType::Luma
            } else {
                jpeg_encoder::ColorType::Rgb
            };
            let mut enc = jpeg_encoder::Encoder::new(&mut out, 95);
            enc.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_4_4);
            enc.encode(&q8(), w as u16, h as u16, ct)
                .map_err(|e| enc_err(e.to_string()))?;
        }
    }
    Ok(out)
}

/// Write atomically: encode, write to `path.tmp-<pid>`, rename. Parent folders are created.
pub fn write_image(path: &Path, img: &Image, depth: BitDepth, format: Format) -> Result<()> {
    let bytes = encode_image(img, depth, format, path)?;
    write_atomic(path, &bytes)
}

/// Content hash of a list of files: FNV-1a 64 over each file's length (u64 LE) and bytes, as 16
/// hex digits. Records carry it (`content`) so a resumed run redoes the work of files that
/// changed.
pub fn content_hash<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Result<String> {
    let mut bytes = Vec::new();
    for p in paths {
        let b = std::fs::read(p).map_err(|source| Error::Io {
            path: p.to_path_buf(),
            source,
        })?;
        bytes.extend_from_slice(&(b.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&b);
    }
    Ok(format!("{:016x}", crate::run::units::fnv1a64(&bytes)))
}

/// Atomic file write (temporary sibling `path.tmp-<pid>` + rename), for regular files only: an
/// existing `path` that is not a regular file (a device such as /dev/full, a FIFO, a symbolic
/// link, a folder) is refused and left alone. The temporary file is removed on any error.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_file() => {}
        Ok(m) => {
            return Err(Error::NotRegularFile {
                path: path.to_path_buf(),
                kind: kind_of(&m.file_type()).into(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::write(path, e)),
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = (|| -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.flush()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::write(path, e));
    }
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::write(path, e));
    }
    Ok(())
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
        .map(|i| {
            (0..img.channels)
                .map(|c| (img.data[c * img.plane_len() + i] * max).round() as u16)
                .max()
                .unwrap_or(0)
        })
        .collect();
    Ok(Mask {
        width: img.width,
        height: img.height,
        data: binarise(&codes, max as u16),
    })
}

/// The mask of slice `frame` of a volume's label file: a NIfTI label volume (a voxel is
/// foreground when its label is not 0: every labelled structure together), or any 2-D mask file
/// ([`read_mask`]; its frame must be 0 or None).
pub fn read_mask_frame(path: &Path, frame: Option<u32>) -> Result<Mask> {
    let bytes = read_file(path)?;
    if is_nifti(path, &bytes) {
        let src = nifti::open(&bytes, path)?;
        let k = frame.unwrap_or(0) as usize;
        if k >= src.dims[2] {
            return Err(Error::Shape {
                what: format!("label volume {}", path.display()),
                expected: format!("a slice {k} (the image's)"),
                found: format!("{} slices", src.dims[2]),
            });
        }
        let n = src.dims[0] * src.dims[1];
        let data = src.values[k * n..(k + 1) * n]
            .iter()
            .map(|&v| u8::from(v != 0.0))
            .collect();
        return Ok(Mask {
            width: src.dims[0],
            height: src.dims[1],
            data,
        });
    }
    read_mask(path, None)
}

/// The mask of a DICOM image from a NIfTI label volume in the same patient space
/// ([`nifti::label_on_dicom`]); a DICOM image without position, orientation and spacing (or a
/// multi-frame one) cannot be placed in it: a named error.
pub fn label_for_dicom(label: &Path, src: &dicom::DicomSource, image: &Image) -> Result<Mask> {
    let geometry = src.geometry().ok_or_else(|| {
        Error::invalid(
            label.display().to_string(),
            "a NIfTI label needs its DICOM image's ImagePositionPatient, ImageOrientationPatient and PixelSpacing (single-frame files); give a PNG mask per image instead",
        )
    })?;
    let vol = nifti::open(&read_file(label)?, label)?;
    nifti::label_on_dicom(&vol, &geometry, image.width, image.height)
        .map_err(|e| Error::invalid(label.display().to_string(), e.to_string()))
}

/// The binarisation rule of [`read_mask`] on integer codes of a dtype whose maximum is `max`.
pub fn binarise(values: &[u16], max: u16) -> Vec<u8> {
    let peak = values.iter().copied().max().unwrap_or(0);
    let t = if peak <= 1 { 0 } else { max / 2 };
    values.iter().map(|&v| u8::from(v > t)).collect()
}

/// Write a mask as an 8-bit PNG (0 / 255).
pub fn write_mask(path: &Path, mask: &Mask) -> Result<()> {
    let img = Image::from_planes(
        mask.width,
        mask.height,
        1,
        mask.data
            .iter()
            .map(|&v| if v != 0 { 1.0 } else { 0.0 })
            .collect(),
    );
    write_image(path, &img, BitDepth::U8, Format::Png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_8_and_16_bit() {
        let dir = tempfile::tempdir().unwrap();
        for (depth, ch) in [
            (BitDepth::U8, 1),
            (BitDepth::U8, 3),
            (BitDepth::U16, 1),
            (BitDepth::U16, 3),
        ] {
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
    fn rel_string_is_reversible_and_injective() {
        use std::os::unix::ffi::OsStrExt;
        let names: [&[u8]; 6] = [
            b"a/b.png",
            b"a\xff.png",
            b"a\xfe.png",
            b"a\\xFF.png",
            b"a\\\\.png",
            "\u{e9}t\u{e9}.png".as_bytes(),
        ];
        let mut seen = std::collections::HashSet::new();
        for n in names {
            let p = Path::new(std::ffi::OsStr::from_bytes(n));
            let s = rel_string(p);
            assert!(seen.insert(s.clone()), "collision on {s}");
            assert_eq!(rel_path(&s).as_deref(), Some(p), "{s}");
        }
        assert_eq!(rel_string(Path::new("a/b.png")), "a/b.png");
        assert_eq!(
            rel_string(Path::new(std::ffi::OsStr::from_bytes(b"x\xff.png"))),
            "x\\xFF.png"
        );
    }

    #[test]
    fn image_id_is_separator_independent() {
        assert_eq!(image_id(Path::new("a/b.png")), fnv1a32("a/b.png"));
    }
}
