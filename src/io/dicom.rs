//! DICOM in and out (dicom-rs): single files, multi-frame files, series folders (one file per
//! slice).
//!
//! Reading: the file is parsed with dicom-object and its pixel data decoded by dicom-pixeldata
//! (native little/big endian, implicit VR, deflate, RLE, JPEG baseline/extended/lossless, JPEG 2000
//! through openjp2; JPEG-LS through CharLS with the `jpeg-ls` feature). Each stored sample is
//! turned into its physical value by the Modality LUT (`RescaleSlope`, `RescaleIntercept`: CT in
//! HU), then onto the crate's [0, 1] working scale by a FIXED [`Scale`] (never the image's own
//! min/max): CT uses the HU window [`CT_HU_WINDOW`]; every other modality the range its stored
//! bits can hold, after rescale. `MONOCHROME1` (low values shown white) is inverted so 1.0 is
//! always the brightest; YBR_FULL and YBR_FULL_422 colour becomes RGB (pydicom's conversion).
//!
//! Writing ([`derive`]): the source's dataset with the perturbed frame as its pixel data in the
//! source's stored representation (BitsAllocated / BitsStored / PixelRepresentation, the same
//! rescale), uncompressed explicit VR little endian, one frame per file, a new SOPInstanceUID and
//! SeriesInstanceUID (deterministic, `2.25.` UUID-derived from the source's UIDs, its path and what was
//! done), ImageType DERIVED\SECONDARY and a DerivationDescription naming the perturbation, level,
//! strength and SSIM.

use crate::error::{Error, Result};
use crate::image::{BitDepth, Image};
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};
use std::path::Path;

/// The HU range that maps to [0, 1] for CT: -1024 HU (air, the usual lowest stored value) to
/// 3071 HU (the top of the 12-bit range: dense bone and most metal). CT perturbations act on this
/// scale, so a strength in "fractions of the range" is that fraction of 4095 HU. Values outside it
/// (padding below -1024 outside the field of view, metal above 3071) are clipped when perturbed.
pub const CT_HU_WINDOW: (f64, f64) = (-1024.0, 3071.0);

/// Physical value <-> working scale: `v = (p - lo) / (hi - lo)`, or `1 - that` when `invert`
/// (MONOCHROME1).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Scale {
    pub lo: f64,
    pub hi: f64,
    pub invert: bool,
}

impl Scale {
    #[inline]
    pub fn to_unit(&self, p: f64) -> f32 {
        let v = (p - self.lo) / (self.hi - self.lo);
        (if self.invert { 1.0 - v } else { v }) as f32
    }
    #[inline]
    pub fn to_physical(&self, v: f32) -> f64 {
        let v = if v.is_nan() {
            0.0
        } else {
            v.clamp(0.0, 1.0) as f64
        };
        let v = if self.invert { 1.0 - v } else { v };
        self.lo + v * (self.hi - self.lo)
    }
}

/// What a DICOM source is, for reading its frames and writing derived files.
#[derive(Clone, Debug)]
pub struct DicomSource {
    /// The whole parsed file (pixel data included; replaced when writing).
    pub object: DefaultDicomObject,
    pub rows: usize,
    pub columns: usize,
    pub frames: u32,
    /// Samples per pixel as stored (1 or 3).
    pub samples: u16,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub slope: f64,
    pub intercept: f64,
    pub photometric: String,
    /// DICOM Modality (CT, MR, US, CR, ...), when present.
    pub modality: Option<String>,
    pub scale: Scale,
}

fn named(path: &Path, what: &str, fix: &str) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        reason: format!("not a readable DICOM image: {what}; {fix}"),
    }
}

/// An error and its causes, `a: b: c` (dicom-rs errors say little at the top level).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

/// Whether `bytes` look like a DICOM file (the "DICM" magic after the 128-byte preamble).
pub fn is_dicom(bytes: &[u8]) -> bool {
    bytes.get(128..132) == Some(b"DICM")
}

fn text(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().trim_end_matches('\0').to_string())
        .filter(|s| !s.is_empty())
}

fn number(obj: &DefaultDicomObject, tag: Tag) -> Option<f64> {
    text(obj, tag).and_then(|s| s.split('\\').next()?.trim().parse().ok())
}

fn int(obj: &DefaultDicomObject, tag: Tag) -> Option<u32> {
    obj.element_opt(tag)
        .ok()
        .flatten()
        .and_then(|e| e.to_int::<u32>().ok())
}

/// Parse a DICOM file's bytes (everything, pixel data included) and read what describes its
/// pixels. A file without pixel data, with an unknown or undecodable transfer syntax, or cut
/// short is a named error.
pub fn open(bytes: &[u8], path: &Path) -> Result<DicomSource> {
    let body = if is_dicom(bytes) {
        &bytes[128..]
    } else {
        return Err(named(
            path,
            "no DICM magic at byte 128 (not a DICOM Part 10 file)",
            "give a DICOM file with its 128-byte preamble and file meta group",
        ));
    };
    let object = OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Never)
        .from_reader(std::io::Cursor::new(body))
        .map_err(|e| {
            named(
                path,
                &format!("cannot be parsed ({})", chain(&e)),
                "the file is damaged or cut short; export it again",
            )
        })?;
    let ts_uid = object
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    if object
        .element_opt(tags::PIXEL_DATA)
        .ok()
        .flatten()
        .is_none()
    {
        return Err(named(
            path,
            "no pixel data (7FE0,0010) in this object (a report, a structure set or a presentation state?)",
            "give image objects only, or remove this file from the input",
        ));
    }
    match dicom_transfer_syntax_registry::TransferSyntaxRegistry.get(&ts_uid) {
        Some(ts) if ts.can_decode_all() => {}
        Some(ts) => {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: format!("DICOM transfer syntax {} ({ts_uid})", ts.name()),
                fix: unsupported_fix(&ts_uid),
            })
        }
        None => {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: format!("DICOM transfer syntax {ts_uid} (unknown)"),
                fix: "convert the file to explicit VR little endian (e.g. `dcmconv +te` or `gdcmconv --raw`)".into(),
            })
        }
    }
    let rows = int(&object, tags::ROWS).unwrap_or(0) as usize;
    let columns = int(&object, tags::COLUMNS).unwrap_or(0) as usize;
    if rows == 0 || columns == 0 {
        return Err(named(
            path,
            "Rows or Columns missing or zero",
            "the file is damaged; export it again",
        ));
    }
    let frames = number(&object, tags::NUMBER_OF_FRAMES)
        .map(|f| f as u32)
        .unwrap_or(1)
        .max(1);
    let samples = int(&object, tags::SAMPLES_PER_PIXEL).unwrap_or(1) as u16;
    let bits_allocated = int(&object, tags::BITS_ALLOCATED).unwrap_or(16) as u16;
    let bits_stored = int(&object, tags::BITS_STORED).unwrap_or(bits_allocated as u32) as u16;
    let signed = int(&object, tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let slope = number(&object, tags::RESCALE_SLOPE).unwrap_or(1.0);
    let intercept = number(&object, tags::RESCALE_INTERCEPT).unwrap_or(0.0);
    let photometric =
        text(&object, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_else(|| "MONOCHROME2".into());
    let modality = text(&object, tags::MODALITY);
    if !matches!(samples, 1 | 3) {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            what: format!("DICOM with {samples} samples per pixel"),
            fix: "give grey (1 sample) or colour (3 samples) images".into(),
        });
    }
    if !matches!(bits_allocated, 8 | 16 | 32) || bits_stored == 0 || bits_stored > bits_allocated {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            what: format!("DICOM BitsAllocated {bits_allocated} / BitsStored {bits_stored}"),
            fix: "give 8-, 16- or 32-bit integer pixel data".into(),
        });
    }
    if photometric == "PALETTE COLOR" {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            what: "DICOM PALETTE COLOR".into(),
            fix: "convert it to RGB (e.g. `dcmconv` or pydicom's apply_color_lut)".into(),
        });
    }
    let scale = if samples == 3 {
        Scale {
            lo: 0.0,
            hi: ((1u64 << bits_stored) - 1) as f64,
            invert: false,
        }
    } else if modality.as_deref() == Some("CT") {
        Scale {
            lo: CT_HU_WINDOW.0,
            hi: CT_HU_WINDOW.1,
            invert: photometric == "MONOCHROME1",
        }
    } else {
        let (a, b) = stored_range(bits_stored, signed);
        let (p, q) = (a as f64 * slope + intercept, b as f64 * slope + intercept);
        Scale {
            lo: p.min(q),
            hi: p.max(q),
            invert: photometric == "MONOCHROME1",
        }
    };
    Ok(DicomSource {
        object,
        rows,
        columns,
        frames,
        samples,
        bits_allocated,
        bits_stored,
        signed,
        slope,
        intercept,
        photometric,
        modality,
        scale,
    })
}

fn unsupported_fix(ts_uid: &str) -> String {
    const JPEG_LS: [&str; 2] = ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"];
    if JPEG_LS.contains(&ts_uid) && !cfg!(feature = "jpeg-ls") {
        "this build has no JPEG-LS codec: build with `--features jpeg-ls` (make does), or convert the file to explicit VR little endian (`dcmconv +te`)".into()
    } else {
        "convert the file to explicit VR little endian (e.g. `dcmconv +te` or `gdcmconv --raw`)"
            .into()
    }
}

/// The stored integer range of `bits` bits (two's complement when `signed`).
pub fn stored_range(bits: u16, signed: bool) -> (i64, i64) {
    if signed {
        (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
    } else {
        (0, (1i64 << bits) - 1)
    }
}

impl DicomSource {
    /// The physical values of frame `frame` (after the Modality LUT; colour as RGB), interleaved
    /// (channel last), as pydicom's `apply_modality_lut(ds.pixel_array, ds)`.
    pub fn physical_frame(&self, frame: u32, path: &Path) -> Result<Vec<f64>> {
        if frame >= self.frames {
            return Err(Error::invalid(
                path.display().to_string(),
                format!(
                    "frame {frame} asked for, the file has {} (frames count from 0)",
                    self.frames
                ),
            ));
        }
        let decoded = self.object.decode_pixel_data().map_err(|e| {
            let why = chain(&e);
            if why.contains("SamplePrecision(12)") {
                return Error::Unsupported {
                    path: path.to_path_buf(),
                    what: "12-bit JPEG (DICOM JPEG extended, process 4): the pure-Rust JPEG decoder reads 8-bit JPEG only".into(),
                    fix: "decompress the file first (`dcmdjpeg in.dcm out.dcm` or `gdcmconv --raw`)".into(),
                };
            }
            named(
                path,
                &format!("pixel data cannot be decoded ({why})"),
                "the file is damaged or cut short; export it again",
            )
        })?;
        let n = self.rows * self.columns;
        let spp = self.samples as usize;
        let frame_len = n * spp * (self.bits_allocated as usize / 8);
        let have = decoded.data().len();
        // YBR_FULL_422 stored natively: two luma samples share one Cb and one Cr.
        let ybr422 = decoded.photometric_interpretation().as_str() == "YBR_FULL_422"
            && spp == 3
            && self.bits_allocated == 8;
        let need = if ybr422 {
            n * 2 * self.frames as usize
        } else {
            frame_len * self.frames as usize
        };
        if have < need {
            return Err(named(
                path,
                &format!(
                    "pixel data has {have} bytes, {need} expected for {} frame(s) of {}x{}x{} at {} bits (the file was cut short)",
                    self.frames, self.columns, self.rows, spp, self.bits_allocated
                ),
                "the file is damaged or cut short; export it again",
            ));
        }
        if ybr422 {
            let raw = &decoded.data()[frame as usize * n * 2..(frame as usize + 1) * n * 2];
            let mut ybr = Vec::with_capacity(n * 3);
            for pair in raw.chunks_exact(4) {
                let (y0, y1, cb, cr) = (pair[0], pair[1], pair[2], pair[3]);
                ybr.extend_from_slice(&[y0, cb, cr, y1, cb, cr]);
            }
            return Ok(ybr_full_to_rgb(&ybr));
        }
        let planar =
            decoded.planar_configuration() == dicom_pixeldata::PlanarConfiguration::PixelFirst;
        let raw: Vec<f64> = if spp == 3 && self.bits_allocated == 8 {
            let b = &decoded.data()[frame as usize * frame_len..(frame as usize + 1) * frame_len];
            if planar {
                (0..n * 3).map(|i| b[(i % 3) * n + i / 3] as f64).collect()
            } else {
                b.iter().map(|&v| v as f64).collect()
            }
        } else {
            decoded
                .to_vec_frame_with_options::<f64>(
                    frame,
                    &ConvertOptions::new().with_modality_lut(ModalityLutOption::None),
                )
                .map_err(|e| {
                    named(
                        path,
                        &format!("pixel values cannot be read ({})", chain(&e)),
                        "the file is damaged; export it again",
                    )
                })?
        };
        if spp == 3 {
            let is_ybr = decoded.photometric_interpretation().as_str() == "YBR_FULL";
            if is_ybr && self.bits_allocated == 8 {
                let b: Vec<u8> = raw.iter().map(|&v| v as u8).collect();
                return Ok(ybr_full_to_rgb(&b));
            }
            return Ok(raw);
        }
        Ok(raw
            .into_iter()
            .map(|v| v * self.slope + self.intercept)
            .collect())
    }

    /// Frame `frame` on the working scale, planar.
    pub fn image(&self, frame: u32, path: &Path) -> Result<Image> {
        let phys = self.physical_frame(frame, path)?;
        let data: Vec<f32> = phys.iter().map(|&p| self.scale.to_unit(p)).collect();
        Ok(Image::from_interleaved(
            self.columns,
            self.rows,
            self.samples as usize,
            &data,
        ))
    }

    /// The bit depth perturbations quantise to before SSIM ([`Image::quantised`]): 8-bit for
    /// 8-bit data, else 16-bit (the written file's own integer step is what the writer measures).
    pub fn depth(&self) -> BitDepth {
        if self.bits_stored <= 8 {
            BitDepth::U8
        } else {
            BitDepth::U16
        }
    }

    /// The stored integers an image on the working scale becomes (rescale inverted, rounded,
    /// clamped to the stored range), interleaved.
    pub fn stored_values(&self, img: &Image) -> Vec<i64> {
        let (lo, hi) = stored_range(self.bits_stored, self.signed && self.samples == 1);
        let grey = self.samples == 1;
        img.to_interleaved()
            .iter()
            .map(|&v| {
                let p = self.scale.to_physical(v);
                let s = if grey {
                    (p - self.intercept) / self.slope
                } else {
                    p
                };
                (s.round() as i64).clamp(lo, hi)
            })
            .collect()
    }

    /// The working-scale image a reader gets back from [`Self::stored_values`] (what is written).
    pub fn as_written(&self, img: &Image) -> Image {
        let grey = self.samples == 1;
        let data: Vec<f32> = self
            .stored_values(img)
            .iter()
            .map(|&s| {
                let p = if grey {
                    s as f64 * self.slope + self.intercept
                } else {
                    s as f64
                };
                self.scale.to_unit(p)
            })
            .collect();
        Image::from_interleaved(img.width, img.height, img.channels, &data)
    }
}

/// pydicom's YBR_FULL -> RGB (ITU-R BT.601 full range, float32, round half up, clip), on
/// interleaved 8-bit samples.
pub fn ybr_full_to_rgb(ybr: &[u8]) -> Vec<f64> {
    let g_cb = -0.114f32 * 1.772 / 0.587;
    let g_cr = -0.299f32 * 1.402 / 0.587;
    let mut out = Vec::with_capacity(ybr.len());
    for px in ybr.chunks_exact(3) {
        let y = px[0] as f32;
        let cb = px[1] as f32 - 128.0;
        let cr = px[2] as f32 - 128.0;
        let r = y + 0.0 * cb + 1.402 * cr;
        let g = y + g_cb * cb + g_cr * cr;
        let b = y + 1.772 * cb + 0.0 * cr;
        for c in [r, g, b] {
            out.push((c + 0.5).floor().clamp(0.0, 255.0) as f64);
        }
    }
    out
}

/// What a derived file records about how it was made.
pub struct Derivation<'a> {
    pub perturbation: &'a str,
    pub level: u8,
    pub strength: f32,
    pub ssim: f64,
    /// The source frame this file holds.
    pub frame: u32,
    /// The source's path relative to the input root: two files that share a SOPInstanceUID
    /// (copies, relabelled exports) still get different derived UIDs.
    pub source: &'a str,
}

/// A UID under the `2.25.` root (ITU-T X.667: a UUID as one decimal integer), from a SHA-256 of
/// `parts`: the same parts always give the same UID, different parts different ones.
pub fn derived_uid(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    // A version-8 (custom) UUID with the RFC 9562 variant bits.
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    format!("2.25.{}", u128::from_be_bytes(b))
}

/// The derived DICOM file of `img` (one frame of `src`): see the module documentation.
pub fn derive(src: &DicomSource, img: &Image, how: &Derivation<'_>) -> Result<Vec<u8>> {
    let mut obj = src.object.clone();
    let stored = src.stored_values(img);
    let bytes: Vec<u8> = match src.bits_allocated {
        8 => stored.iter().map(|&v| v as u8).collect(),
        16 => stored
            .iter()
            .flat_map(|&v| (v as u16).to_le_bytes())
            .collect(),
        _ => stored
            .iter()
            .flat_map(|&v| (v as u32).to_le_bytes())
            .collect(),
    };
    let vr = if src.bits_allocated == 8 {
        VR::OB
    } else {
        VR::OW
    };
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        vr,
        PrimitiveValue::from(bytes),
    ));
    let old_sop = text(&obj, tags::SOP_INSTANCE_UID).unwrap_or_default();
    let old_series = text(&obj, tags::SERIES_INSTANCE_UID).unwrap_or_default();
    let level = format!("L{}", how.level);
    let frame = how.frame.to_string();
    let sop = derived_uid(&[&old_sop, how.source, &frame, how.perturbation, &level]);
    let series = derived_uid(&[&old_series, how.perturbation, &level]);
    let put = |obj: &mut DefaultDicomObject, tag: Tag, vr: VR, v: &str| {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    };
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, &sop);
    put(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, &series);
    let mut image_type: Vec<String> = text(&obj, tags::IMAGE_TYPE)
        .map(|s| s.split('\\').map(str::to_string).collect())
        .unwrap_or_default();
    image_type.resize(image_type.len().max(2), String::new());
    image_type[0] = "DERIVED".into();
    image_type[1] = "SECONDARY".into();
    obj.put(DataElement::new(
        tags::IMAGE_TYPE,
        VR::CS,
        PrimitiveValue::Strs(image_type.into()),
    ));
    let desc = format!(
        "medfm-robust {} {} strength {} SSIM {:.4} (frame {})",
        how.perturbation, level, how.strength, how.ssim, how.frame
    );
    put(&mut obj, tags::DERIVATION_DESCRIPTION, VR::ST, &desc);
    if src.samples == 3 {
        put(&mut obj, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB");
        obj.put(DataElement::new(
            tags::PLANAR_CONFIGURATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ));
    }
    if src.frames > 1
        || obj
            .element_opt(tags::NUMBER_OF_FRAMES)
            .ok()
            .flatten()
            .is_some()
    {
        put(&mut obj, tags::NUMBER_OF_FRAMES, VR::IS, "1");
    }
    // One frame per file: a per-frame functional group other than this frame's would describe
    // frames that are not there.
    obj.remove_element(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    obj.update_meta(|m| {
        m.media_storage_sop_instance_uid = sop.clone();
        m.transfer_syntax = "1.2.840.10008.1.2.1\0".into();
    });
    let mut out = Vec::new();
    obj.write_all(&mut out).map_err(|e| Error::Encode {
        path: std::path::PathBuf::from(how.perturbation),
        reason: format!("DICOM: {e}"),
    })?;
    Ok(out)
}

/// Where a single-frame DICOM image lies in the patient (LPS) space: ImagePositionPatient (the
/// centre of the first pixel), ImageOrientationPatient (row and column direction cosines) and
/// PixelSpacing (between rows, between columns).
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub position: [f64; 3],
    /// Direction of increasing column index.
    pub row_dir: [f64; 3],
    /// Direction of increasing row index.
    pub col_dir: [f64; 3],
    /// (between rows, between columns), mm.
    pub spacing: [f64; 2],
}

impl Geometry {
    /// LPS position (mm) of pixel (row `r`, column `c`).
    pub fn lps(&self, r: f64, c: f64) -> [f64; 3] {
        let mut p = self.position;
        for (k, v) in p.iter_mut().enumerate() {
            *v += self.row_dir[k] * c * self.spacing[1] + self.col_dir[k] * r * self.spacing[0];
        }
        p
    }
}

impl DicomSource {
    /// The image's geometry, None when a tag is missing or the file is multi-frame (per-frame
    /// geometry lives in functional groups, not read here).
    pub fn geometry(&self) -> Option<Geometry> {
        if self.frames > 1 {
            return None;
        }
        let nums = |tag| -> Option<Vec<f64>> {
            text(&self.object, tag).map(|s| {
                s.split('\\')
                    .filter_map(|v| v.trim().parse().ok())
                    .collect()
            })
        };
        let p = nums(tags::IMAGE_POSITION_PATIENT).filter(|v| v.len() == 3)?;
        let o = nums(tags::IMAGE_ORIENTATION_PATIENT).filter(|v| v.len() == 6)?;
        let s = nums(tags::PIXEL_SPACING).filter(|v| v.len() == 2)?;
        Some(Geometry {
            position: [p[0], p[1], p[2]],
            row_dir: [o[0], o[1], o[2]],
            col_dir: [o[3], o[4], o[5]],
            spacing: [s[0], s[1]],
        })
    }
}
