//! NIfTI-1 in and out (.nii and .nii.gz, little or big endian): a small reader over the 348-byte
//! header and the raw voxels (the nifti crate pins an older ndarray; what is needed here is the
//! header, scaling and the affine).
//!
//! Reading: 3-D volumes, and 4-D (and up) series whose first volume is used. Voxels are turned
//! into physical values by `scl_slope` / `scl_inter` (when the slope is non-zero and finite), then
//! onto the [0, 1] working scale by a FIXED per-volume [`Scale`]: `cal_min..cal_max` when the
//! header sets them (cal_max > cal_min), else the volume's own physical minimum and maximum (one
//! range for all of its slices, so every slice and every perturbation share it). Slice `k` is the
//! plane of the third axis at index k; image x is the first axis (i), image y the second (j).
//!
//! Writing ([`write_slice`]): slice k as a NIfTI file of shape (nx, ny, 1) in the source's
//! datatype, scaling and header, the affine's origin moved to slice k (sform and qform alike), so
//! the written slice sits where it was in the scanner's space.

use super::dicom::Scale;
use crate::error::{Error, Result};
use crate::image::{BitDepth, Image};
use std::io::Read as _;
use std::path::Path;

/// A parsed NIfTI-1 file: its header bytes (native order), the voxels as physical values and the
/// working scale.
#[derive(Clone, Debug)]
pub struct NiftiSource {
    /// The 348 header bytes, converted to little endian.
    pub header: Vec<u8>,
    pub dims: [usize; 3],
    pub datatype: i16,
    pub slope: f64,
    pub inter: f64,
    /// Physical values of the first volume, x fastest, then y, then z.
    pub values: Vec<f64>,
    pub scale: Scale,
}

fn bad(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Data {
        path: path.to_path_buf(),
        reason: format!("not a readable NIfTI-1 volume: {what}"),
    }
}

/// Whether the file name says NIfTI (`.nii`, `.nii.gz`).
pub fn is_nifti_name(path: &Path) -> bool {
    let n = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    n.ends_with(".nii") || n.ends_with(".nii.gz")
}

/// (bytes per voxel, integer type's range) of a NIfTI datatype code.
fn datatype_info(code: i16) -> Option<(usize, Option<(f64, f64)>)> {
    Some(match code {
        2 => (1, Some((0.0, 255.0))),
        256 => (1, Some((-128.0, 127.0))),
        4 => (2, Some((-32768.0, 32767.0))),
        512 => (2, Some((0.0, 65535.0))),
        8 => (4, Some((i32::MIN as f64, i32::MAX as f64))),
        768 => (4, Some((0.0, u32::MAX as f64))),
        16 => (4, None),
        64 => (8, None),
        _ => return None,
    })
}

fn get_i16(h: &[u8], o: usize) -> i16 {
    i16::from_le_bytes([h[o], h[o + 1]])
}
fn get_f32(h: &[u8], o: usize) -> f32 {
    f32::from_le_bytes(h[o..o + 4].try_into().unwrap())
}
fn put_i16(h: &mut [u8], o: usize, v: i16) {
    h[o..o + 2].copy_from_slice(&v.to_le_bytes());
}
fn put_f32(h: &mut [u8], o: usize, v: f32) {
    h[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

/// The byte-swapping layout of the header: (offset, width) of every numeric field.
const FIELDS: &[(usize, usize, usize)] = &[
    // (offset, element size, count)
    (0, 4, 1),    // sizeof_hdr
    (32, 4, 1),   // extents
    (36, 2, 1),   // session_error
    (40, 2, 8),   // dim
    (56, 4, 3),   // intent_p1..3
    (68, 2, 1),   // intent_code
    (70, 2, 1),   // datatype
    (72, 2, 1),   // bitpix
    (74, 2, 1),   // slice_start
    (76, 4, 8),   // pixdim
    (108, 4, 1),  // vox_offset
    (112, 4, 2),  // scl_slope, scl_inter
    (120, 2, 1),  // slice_end
    (124, 4, 4),  // cal_max, cal_min, slice_duration, toffset
    (140, 4, 2),  // glmax, glmin
    (252, 2, 2),  // qform_code, sform_code
    (256, 4, 18), // quatern_b..d, qoffset_x..z, srow_x, srow_y, srow_z
];

fn swap_header(h: &mut [u8]) {
    for &(o, w, n) in FIELDS {
        for k in 0..n {
            h[o + k * w..o + (k + 1) * w].reverse();
        }
    }
}

/// Decompress a .nii.gz, or return the bytes of a .nii.
fn inflate(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| bad(path, format!("gzip stream is damaged or cut short ({e})")))?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// Parse a NIfTI-1 file (see the module documentation). A wrong header size, an unknown
/// datatype, NIfTI-2, or voxel data shorter than the header says are named errors.
pub fn open(bytes: &[u8], path: &Path) -> Result<NiftiSource> {
    let raw = inflate(bytes, path)?;
    if raw.len() < 348 {
        return Err(bad(
            path,
            format!("{} bytes, shorter than the 348-byte header", raw.len()),
        ));
    }
    let mut h = raw[..348].to_vec();
    let size_le = i32::from_le_bytes(h[0..4].try_into().unwrap());
    let size_be = i32::from_be_bytes(h[0..4].try_into().unwrap());
    let big_endian = match (size_le, size_be) {
        (348, _) => false,
        (_, 348) => true,
        (540, _) | (_, 540) => {
            return Err(Error::Unsupported {
                path: path.to_path_buf(),
                what: "NIfTI-2 (540-byte header)".into(),
                fix: "convert it to NIfTI-1 (e.g. nibabel: nib.Nifti1Image(img.dataobj, img.affine).to_filename(...))".into(),
            })
        }
        _ => {
            return Err(bad(
                path,
                format!("header size field is {size_le}, NIfTI-1 requires 348 (wrong header size: not NIfTI, or damaged)"),
            ))
        }
    };
    if big_endian {
        swap_header(&mut h);
    }
    let magic = &h[344..348];
    if magic != b"n+1\0" && magic != b"ni1\0" {
        return Err(bad(path, "no n+1 / ni1 magic at byte 344"));
    }
    if magic == b"ni1\0" {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            what: "a NIfTI header without its voxels (.hdr/.img pair)".into(),
            fix: "give a single-file .nii or .nii.gz".into(),
        });
    }
    let ndim = get_i16(&h, 40);
    if !(2..=7).contains(&ndim) {
        return Err(bad(path, format!("dim[0] = {ndim}, not 2..7")));
    }
    let dim = |k: usize| -> usize {
        if k as i16 <= ndim {
            get_i16(&h, 40 + 2 * k).max(1) as usize
        } else {
            1
        }
    };
    let dims = [dim(1), dim(2), dim(3)];
    let datatype = get_i16(&h, 70);
    let (bpv, _) = datatype_info(datatype).ok_or_else(|| Error::Unsupported {
        path: path.to_path_buf(),
        what: format!("NIfTI datatype {datatype}"),
        fix: "give integer (uint8, int8, int16, uint16, int32, uint32) or float32/float64 voxels"
            .into(),
    })?;
    let vox_offset = get_f32(&h, 108).max(352.0) as usize;
    let n = dims[0] * dims[1] * dims[2];
    let need = vox_offset + n * bpv;
    if raw.len() < need {
        return Err(bad(
            path,
            format!(
                "voxel data is cut short: {} bytes, {need} needed for {}x{}x{} voxels of {bpv} bytes from offset {vox_offset}",
                raw.len(),
                dims[0],
                dims[1],
                dims[2]
            ),
        ));
    }
    let slope = get_f32(&h, 112) as f64;
    let inter = get_f32(&h, 116) as f64;
    let (slope, inter) = if slope != 0.0 && slope.is_finite() {
        (slope, if inter.is_finite() { inter } else { 0.0 })
    } else {
        (1.0, 0.0)
    };
    let data = &raw[vox_offset..need];
    let read = |b: &[u8]| -> f64 {
        let mut a = [0u8; 8];
        a[..b.len()].copy_from_slice(b);
        if big_endian {
            a[..b.len()].reverse();
        }
        match datatype {
            2 => a[0] as f64,
            256 => a[0] as i8 as f64,
            4 => i16::from_le_bytes([a[0], a[1]]) as f64,
            512 => u16::from_le_bytes([a[0], a[1]]) as f64,
            8 => i32::from_le_bytes(a[..4].try_into().unwrap()) as f64,
            768 => u32::from_le_bytes(a[..4].try_into().unwrap()) as f64,
            16 => f32::from_le_bytes(a[..4].try_into().unwrap()) as f64,
            _ => f64::from_le_bytes(a),
        }
    };
    let values: Vec<f64> = data
        .chunks_exact(bpv)
        .map(|b| read(b) * slope + inter)
        .collect();
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad(
            path,
            "voxels hold NaN or infinity; replace them (e.g. by 0)",
        ));
    }
    let (cal_max, cal_min) = (get_f32(&h, 124) as f64, get_f32(&h, 128) as f64);
    let (lo, hi) = if cal_max > cal_min {
        (cal_min, cal_max)
    } else {
        let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = values.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if hi > lo {
            (lo, hi)
        } else {
            (lo, lo + 1.0)
        }
    };
    Ok(NiftiSource {
        header: h,
        dims,
        datatype,
        slope,
        inter,
        values,
        scale: Scale {
            lo,
            hi,
            invert: false,
        },
    })
}

impl NiftiSource {
    /// Number of slices (the third axis).
    pub fn slices(&self) -> u32 {
        self.dims[2] as u32
    }

    /// Slice `k` on the working scale (grey).
    pub fn image(&self, k: u32, path: &Path) -> Result<Image> {
        if k as usize >= self.dims[2] {
            return Err(Error::invalid(
                path.display().to_string(),
                format!(
                    "slice {k} asked for, the volume has {} (slices count from 0)",
                    self.dims[2]
                ),
            ));
        }
        let n = self.dims[0] * self.dims[1];
        let plane = &self.values[k as usize * n..(k as usize + 1) * n];
        let data = plane.iter().map(|&p| self.scale.to_unit(p)).collect();
        Ok(Image::from_planes(self.dims[0], self.dims[1], 1, data))
    }

    /// The whole volume on the working scale: one plane per slice.
    pub fn volume_image(&self) -> Image {
        let data = self.values.iter().map(|&p| self.scale.to_unit(p)).collect();
        Image::from_planes(self.dims[0], self.dims[1], self.dims[2], data)
    }

    /// Integer datatypes of at most 8 bits quantise like 8-bit images, others like 16-bit.
    pub fn depth(&self) -> BitDepth {
        if matches!(self.datatype, 2 | 256) {
            BitDepth::U8
        } else {
            BitDepth::U16
        }
    }

    /// The stored voxels of an image on the working scale (scaling inverted; integers rounded
    /// and clamped to the datatype), as f64.
    fn stored(&self, img: &Image) -> Vec<f64> {
        let range = datatype_info(self.datatype).and_then(|(_, r)| r);
        img.data
            .iter()
            .map(|&v| {
                let s = (self.scale.to_physical(v) - self.inter) / self.slope;
                match range {
                    Some((lo, hi)) => s.round().clamp(lo, hi),
                    None if self.datatype == 16 => s as f32 as f64,
                    None => s,
                }
            })
            .collect()
    }

    /// What a reader gets back from the written slice, on the working scale.
    pub fn as_written(&self, img: &Image) -> Image {
        let data = self
            .stored(img)
            .iter()
            .map(|&s| self.scale.to_unit(s * self.slope + self.inter))
            .collect();
        Image::from_planes(img.width, img.height, img.channels, data)
    }

    /// The affine's 4x4 matrix (sform when sform_code > 0, else qform, else pixdim scaling), the
    /// rule nibabel and the NIfTI standard use.
    pub fn affine(&self) -> [[f64; 4]; 3] {
        let h = &self.header;
        let f = |o: usize| get_f32(h, o) as f64;
        if get_i16(h, 254) > 0 {
            let mut a = [[0.0; 4]; 3];
            for (r, row) in a.iter_mut().enumerate() {
                for (c, v) in row.iter_mut().enumerate() {
                    *v = f(280 + 16 * r + 4 * c);
                }
            }
            return a;
        }
        let (dx, dy, dz) = (f(80), f(84), f(88));
        let qfac = if f(76) < 0.0 { -1.0 } else { 1.0 };
        if get_i16(h, 252) > 0 {
            let (b, c, d) = (f(256), f(260), f(264));
            let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
            let r = [
                [
                    a * a + b * b - c * c - d * d,
                    2.0 * (b * c - a * d),
                    2.0 * (b * d + a * c),
                ],
                [
                    2.0 * (b * c + a * d),
                    a * a + c * c - b * b - d * d,
                    2.0 * (c * d - a * b),
                ],
                [
                    2.0 * (b * d - a * c),
                    2.0 * (c * d + a * b),
                    a * a + d * d - c * c - b * b,
                ],
            ];
            let s = [dx, dy, dz * qfac];
            let o = [f(268), f(272), f(276)];
            let mut m = [[0.0; 4]; 3];
            for i in 0..3 {
                for j in 0..3 {
                    m[i][j] = r[i][j] * s[j];
                }
                m[i][3] = o[i];
            }
            return m;
        }
        [
            [dx, 0.0, 0.0, 0.0],
            [0.0, dy, 0.0, 0.0],
            [0.0, 0.0, dz, 0.0],
        ]
    }
}

/// The whole volume `img` (one plane per slice, [`NiftiSource::volume_image`]'s layout) as a
/// .nii (or .nii.gz) file with the source's shape, datatype, scaling and affine.
pub fn write_volume(
    src: &NiftiSource,
    img: &Image,
    description: &str,
    gz: bool,
) -> Result<Vec<u8>> {
    let mut h = src.header.clone();
    // A 4-D source's first volume: written as 3-D.
    put_i16(&mut h, 40, 3);
    for d in 4..8 {
        put_i16(&mut h, 40 + 2 * d, 1);
    }
    encode(h, src, img, description, gz)
}

/// Slice `k` of `src` holding `img`, as a .nii (or .nii.gz when `gz`) file: see the module
/// documentation. `description` goes into the header's 80-byte `descrip`.
pub fn write_slice(
    src: &NiftiSource,
    img: &Image,
    k: u32,
    description: &str,
    gz: bool,
) -> Result<Vec<u8>> {
    let mut h = src.header.clone();
    put_i16(&mut h, 40, 3);
    put_i16(&mut h, 42, src.dims[0] as i16);
    put_i16(&mut h, 44, src.dims[1] as i16);
    for d in 3..8 {
        put_i16(&mut h, 40 + 2 * d, 1);
    }
    // The origin moves to slice k: + k * (third column of the affine), in sform and qform.
    let a = src.affine();
    let shift = [a[0][2] * k as f64, a[1][2] * k as f64, a[2][2] * k as f64];
    for (r, s) in shift.iter().enumerate() {
        let o = 280 + 16 * r + 12;
        let v = get_f32(&h, o) as f64 + s;
        put_f32(&mut h, o, v as f32);
        let q = 268 + 4 * r;
        let v = get_f32(&h, q) as f64 + s;
        put_f32(&mut h, q, v as f32);
    }
    encode(h, src, img, description, gz)
}

/// Header `h` (vox_offset and descrip set here) and the voxels of `img` in the source's datatype.
fn encode(
    mut h: Vec<u8>,
    src: &NiftiSource,
    img: &Image,
    description: &str,
    gz: bool,
) -> Result<Vec<u8>> {
    put_f32(&mut h, 108, 352.0);
    let mut d = [0u8; 80];
    let b = description.as_bytes();
    d[..b.len().min(79)].copy_from_slice(&b[..b.len().min(79)]);
    h[148..228].copy_from_slice(&d);
    let mut out = h;
    out.extend_from_slice(&[0, 0, 0, 0]);
    for s in src.stored(img) {
        match src.datatype {
            2 => out.push(s as u8),
            256 => out.push(s as i8 as u8),
            4 => out.extend_from_slice(&(s as i16).to_le_bytes()),
            512 => out.extend_from_slice(&(s as u16).to_le_bytes()),
            8 => out.extend_from_slice(&(s as i32).to_le_bytes()),
            768 => out.extend_from_slice(&(s as u32).to_le_bytes()),
            16 => out.extend_from_slice(&(s as f32).to_le_bytes()),
            _ => out.extend_from_slice(&s.to_le_bytes()),
        }
    }
    if !gz {
        return Ok(out);
    }
    use std::io::Write as _;
    // Level 6, no file name or time stamp in the gzip header: the same input gives the same bytes.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(&out)
        .and_then(|_| e.finish())
        .map_err(|e| Error::Encode {
            path: description.into(),
            reason: e.to_string(),
        })
}

/// The mask of a DICOM image from a NIfTI label volume in the same patient space, by geometry:
/// each pixel's LPS position (ImagePositionPatient / Orientation / PixelSpacing) goes to RAS
/// (x and y negated), through the inverse of the label's affine to a voxel, rounded to the
/// nearest; foreground where that voxel's label is not 0 (outside the volume: background). So a
/// label written by dcm2niix (flipped axes, any slice order) lands on the right pixels.
pub fn label_on_dicom(
    label: &NiftiSource,
    geometry: &super::dicom::Geometry,
    width: usize,
    height: usize,
) -> Result<crate::image::Mask> {
    let a = label.affine();
    let m = [
        [a[0][0], a[0][1], a[0][2]],
        [a[1][0], a[1][1], a[1][2]],
        [a[2][0], a[2][1], a[2][2]],
    ];
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if det.abs() < 1e-12 {
        return Err(Error::invalid(
            "label volume",
            "its affine is singular (no voxel-to-world mapping); fix the header's sform/qform",
        ));
    }
    let inv = |r: usize, c: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
        // adjugate: cofactor of (c, r)
        (m[c1][r1] * m[c2][r2] - m[c1][r2] * m[c2][r1]) / det
    };
    let minv = [
        [inv(0, 0), inv(0, 1), inv(0, 2)],
        [inv(1, 0), inv(1, 1), inv(1, 2)],
        [inv(2, 0), inv(2, 1), inv(2, 2)],
    ];
    let [nx, ny, nz] = label.dims;
    let mut data = vec![0u8; width * height];
    for r in 0..height {
        for c in 0..width {
            let l = geometry.lps(r as f64, c as f64);
            let d = [-l[0] - a[0][3], -l[1] - a[1][3], l[2] - a[2][3]];
            let v: Vec<f64> = (0..3)
                .map(|i| minv[i][0] * d[0] + minv[i][1] * d[1] + minv[i][2] * d[2])
                .collect();
            let idx: Vec<i64> = v.iter().map(|x| x.round() as i64).collect();
            if idx[0] < 0 || idx[1] < 0 || idx[2] < 0 {
                continue;
            }
            let (i, j, k) = (idx[0] as usize, idx[1] as usize, idx[2] as usize);
            if i < nx && j < ny && k < nz && label.values[(k * ny + j) * nx + i] != 0.0 {
                data[r * width + c] = 1;
            }
        }
    }
    Ok(crate::image::Mask {
        width,
        height,
        data,
    })
}
