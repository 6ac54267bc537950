//! Volumes as 2-D items: the frames of a multi-frame DICOM file, the slices of a NIfTI volume
//! (its third axis) and the slices of a DICOM series folder (one file per slice), selected by
//! `--slices all|mid|N`.
//!
//! A series is the single-frame DICOM files of one folder with the same SeriesInstanceUID,
//! ordered by InstanceNumber, then by ImagePositionPatient along the slice normal (the cross
//! product of ImageOrientationPatient's row and column directions), then by path. `mid` is the
//! middle slice of that order (index n / 2), `N` the N-th (from 0). A multi-frame file's frames
//! are its slices in stored order; each selected frame is an item whose output name carries the
//! frame (`a/b.dcm` frame 3 -> `a/b.f0003.dcm`). A file whose header cannot be read is kept as
//! is: reading it later fails with its named error, as one failed item.
//! Items without a modality take it from the DICOM Modality attribute ([`modality_of`]).

use super::manifest::InputItem;
use crate::error::{Error, Result};
use crate::perturb::Modality;
use dicom_dictionary_std::tags;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Which slices of a volume become items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Slices {
    /// Every slice (the default).
    #[default]
    All,
    /// The middle slice (index n / 2 of the ordered slices).
    Mid,
    /// The slice with this index (from 0).
    Index(u32),
    /// `perturb` only: each NIfTI volume is one item, perturbed as a volume and written with
    /// its shape and affine (src/perturb/volume.rs); other inputs as with `all`.
    Volume,
}

impl Slices {
    pub fn parse(s: &str) -> Result<Slices> {
        match s.trim() {
            "all" => Ok(Slices::All),
            "mid" => Ok(Slices::Mid),
            "volume" => Ok(Slices::Volume),
            n => n.parse::<u32>().map(Slices::Index).map_err(|_| {
                Error::invalid(
                    "--slices",
                    format!("'{s}' is not all, mid, volume or a slice index (0, 1, ...)"),
                )
            }),
        }
    }

    /// The chosen indices among `n` ordered slices (empty when an index is out of range).
    pub fn pick(self, n: usize) -> Vec<usize> {
        match self {
            Slices::All | Slices::Volume => (0..n).collect(),
            Slices::Mid if n > 0 => vec![n / 2],
            Slices::Index(i) if (i as usize) < n => vec![i as usize],
            _ => vec![],
        }
    }
}

/// The crate's modality of a DICOM Modality value (CT, MR, US, CR/DX/MG/XA/RF/PX/IO, OPT, ES,
/// SM, XC/DMS), None for others.
pub fn modality_of(dicom_modality: &str) -> Option<Modality> {
    Some(match dicom_modality {
        "CT" => Modality::Ct,
        "MR" => Modality::Mri,
        "US" => Modality::Us,
        "CR" | "DX" | "MG" | "XA" | "RF" | "PX" | "IO" => Modality::Xray,
        "OPT" | "OCT" => Modality::Oct,
        "ES" => Modality::Endoscopy,
        "SM" | "GM" => Modality::Pathology,
        "XC" | "DMS" => Modality::Dermoscopy,
        _ => return None,
    })
}

/// What ordering and expanding needs from a DICOM header (read up to the pixel data).
struct Header {
    frames: u32,
    series: String,
    instance: Option<i64>,
    position: Option<f64>,
    modality: Option<Modality>,
    /// A NIfTI volume (never part of a DICOM series).
    volume: bool,
}

/// A NIfTI-1 volume's slice count (dim[3], 1 when dim[0] < 3), from its first 348 bytes.
fn nifti_slices(path: &Path) -> Option<u32> {
    use std::io::Read as _;
    let f = std::fs::File::open(path).ok()?;
    let mut h = [0u8; 348];
    let mut gz = [0u8; 2];
    std::fs::File::open(path).ok()?.read_exact(&mut gz).ok()?;
    if gz == [0x1f, 0x8b] {
        flate2::read::MultiGzDecoder::new(f)
            .read_exact(&mut h)
            .ok()?;
    } else {
        (&f).read_exact(&mut h).ok()?;
    }
    let i16_at: fn([u8; 2]) -> i16 = match i32::from_le_bytes(h[..4].try_into().ok()?) {
        348 => i16::from_le_bytes,
        _ if i32::from_be_bytes(h[..4].try_into().ok()?) == 348 => i16::from_be_bytes,
        _ => return None,
    };
    let ndim = i16_at([h[40], h[41]]);
    let nz = i16_at([h[46], h[47]]);
    Some(if ndim >= 3 { nz.max(1) as u32 } else { 1 })
}

fn header(path: &Path) -> Option<Header> {
    if super::nifti::is_nifti_name(path) {
        return Some(Header {
            frames: nifti_slices(path)?,
            series: String::new(),
            instance: None,
            position: None,
            modality: None,
            volume: true,
        });
    }
    let mut head = [0u8; 132];
    use std::io::Read as _;
    std::fs::File::open(path).ok()?.read_exact(&mut head).ok()?;
    if !super::dicom::is_dicom(&head) {
        return None;
    }
    let obj = dicom_object::OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .ok()?;
    let txt = |t| {
        obj.element_opt(t)
            .ok()
            .flatten()
            .and_then(|e| e.to_str().ok().map(|s| s.trim().to_string()))
    };
    let nums = |t| -> Option<Vec<f64>> {
        txt(t).map(|s| {
            s.split('\\')
                .filter_map(|v| v.trim().parse().ok())
                .collect()
        })
    };
    let position = match (
        nums(tags::IMAGE_POSITION_PATIENT),
        nums(tags::IMAGE_ORIENTATION_PATIENT),
    ) {
        (Some(p), Some(o)) if p.len() == 3 && o.len() == 6 => {
            let n = [
                o[1] * o[5] - o[2] * o[4],
                o[2] * o[3] - o[0] * o[5],
                o[0] * o[4] - o[1] * o[3],
            ];
            Some(p[0] * n[0] + p[1] * n[1] + p[2] * n[2])
        }
        (Some(p), _) if p.len() == 3 => Some(p[2]),
        _ => None,
    };
    Some(Header {
        frames: txt(tags::NUMBER_OF_FRAMES)
            .and_then(|s| s.parse::<f64>().ok())
            .map_or(1, |f| f.max(1.0) as u32),
        series: txt(tags::SERIES_INSTANCE_UID).unwrap_or_default(),
        instance: txt(tags::INSTANCE_NUMBER).and_then(|s| s.parse().ok()),
        position,
        modality: txt(tags::MODALITY).and_then(|m| modality_of(&m)),
        volume: false,
    })
}

/// `a/b.dcm` with frame 3 -> `a/b.f0003.dcm` (the frame goes before the extension).
pub fn frame_relative(relative: &Path, frame: u32) -> PathBuf {
    let name = relative
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (stem, ext) = match name.find('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    relative.with_file_name(format!("{stem}.f{frame:04}{ext}"))
}

/// Expand and select: see the module documentation. Items that are not DICOM pass unchanged.
pub fn expand(items: Vec<InputItem>, slices: Slices) -> Vec<InputItem> {
    let mut out = Vec::with_capacity(items.len());
    // (folder, series) -> members with their sort key.
    type Key = (Option<i64>, Option<OrdF64>, PathBuf);
    let mut series: BTreeMap<(PathBuf, String), Vec<(Key, InputItem)>> = BTreeMap::new();
    for mut it in items {
        let Some(h) = header(&it.path) else {
            out.push(it);
            continue;
        };
        if it.modality.is_none() {
            it.modality = h.modality;
        }
        if h.volume && slices == Slices::Volume {
            out.push(InputItem { volume: true, ..it });
            continue;
        }
        if h.frames > 1 || h.volume {
            if let (Slices::Index(i), true) = (slices, slices.pick(h.frames as usize).is_empty()) {
                // Out of range: one item whose reading fails, naming the file and its frames.
                out.push(InputItem {
                    frame: Some(i),
                    ..it
                });
                continue;
            }
            for k in slices.pick(h.frames as usize) {
                out.push(InputItem {
                    relative: frame_relative(&it.relative, k as u32),
                    frame: Some(k as u32),
                    ..it.clone()
                });
            }
            continue;
        }
        let folder = it
            .relative
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let key = (h.instance, h.position.map(OrdF64), it.relative.clone());
        series
            .entry((folder, h.series))
            .or_default()
            .push((key, it));
    }
    for (_, mut members) in series {
        members.sort_by(|a, b| a.0.cmp(&b.0));
        for k in slices.pick(members.len()) {
            out.push(members[k].1.clone());
        }
    }
    out.sort_by(|a, b| a.relative.cmp(&b.relative));
    out
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct OrdF64(f64);
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&o.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_parse_and_pick() {
        assert_eq!(Slices::parse("all").unwrap().pick(3), vec![0, 1, 2]);
        assert_eq!(Slices::parse("mid").unwrap().pick(4), vec![2]);
        assert_eq!(Slices::parse("1").unwrap().pick(4), vec![1]);
        assert!(Slices::parse("5").unwrap().pick(4).is_empty());
        assert!(Slices::parse("x").is_err());
    }

    #[test]
    fn frame_goes_before_every_extension() {
        assert_eq!(
            frame_relative(Path::new("a/b.dcm"), 3),
            PathBuf::from("a/b.f0003.dcm")
        );
        assert_eq!(
            frame_relative(Path::new("v.nii.gz"), 12),
            PathBuf::from("v.f0012.nii.gz")
        );
    }
}
