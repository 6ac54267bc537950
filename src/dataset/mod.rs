//! Segmentation datasets: which (image, mask) pairs to evaluate (spec/evaluation.md,
//! notes/ecosystem-research.md section 2). Readers only list files; pixels are read later per
//! item, so one bad file becomes one failed record, not a failed run.
//!
//! Layouts:
//! - generic: `images/` + `masks/`, matched by file stem (a mask may add `_mask`,
//!   `_segmentation` or `_Segmentation` to the stem); or a CSV (header `image,mask[,modality]`)
//!   or JSONL (`{"image":..,"mask":..,"modality":..}`) manifest, paths relative to the manifest;
//! - isic2016: `ISBI2016_ISIC_Part1_{Training,Test}_Data/ISIC_x.jpg` with
//!   `..._GroundTruth/ISIC_x_Segmentation.png`;
//! - kvasir: `Kvasir-SEG/{images,masks}/<id>.jpg` (JPEG masks, thresholded at 127 by [`read_mask`]);
//! - brain-tumor: the PNG conversion `images/` + `masks/` (same stems);
//! - smdg-disc / smdg-cup: SMDG-19 `{full-fundus,optic-disc,optic-cup}/` with matching stems, or
//!   the reorganised `{disc,cup}/{images,masks}/`.
//!
//! Mask rule ([`binarise`]): a pixel is foreground when its value is > half the dtype's range
//! (> 127 for 8-bit, > 32767 for 16-bit), except masks whose maximum is 1 (0/1 label PNGs), where
//! it is > 0. Colour masks use the maximum over their channels. An empty mask is kept: metrics count empty vs
//! empty as 1 (metrics::seg), and box-prompted models record the item as an error ("empty
//! ground-truth mask: no box prompt").

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::image::{BitDepth, Image, Mask};
use crate::perturb::Modality;

const IMAGE_EXTS: [&str; 7] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "webp"];

/// One item: an image, its mask (None = missing, an error at evaluation time), a stable id.
#[derive(Clone, Debug, PartialEq)]
pub struct SegSample {
    /// Stable id: the image path relative to the dataset root, '/'-separated.
    pub id: String,
    pub image: PathBuf,
    pub mask: Option<PathBuf>,
    pub modality: Option<Modality>,
}

#[derive(Clone, Debug)]
pub struct SegDataset {
    pub name: String,
    pub samples: Vec<SegSample>,
}

/// Known layouts, by CLI name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Generic,
    Isic2016,
    Kvasir,
    BrainTumor,
    SmdgDisc,
    SmdgCup,
    /// Medical Segmentation Decathlon: imagesTr/<case>.nii.gz with labelsTr/<case>.nii.gz (the
    /// same name; a 4-D image's first channel), read slice by slice.
    Msd,
    /// DICOM series folders with one NIfTI label volume each: <series>/**.dcm with
    /// <series>.nii.gz (or .nii) next to the folder, placed on each image by geometry.
    DicomNifti,
    /// BraTS case folders: <case>/<case>_<sequence>.nii.gz with <case>/<case>_seg.nii.gz; the
    /// sequence is flair (`brats`), t1, t1ce or t2 (`brats-t1ce`, ...).
    Brats(&'static str),
}

/// Every layout by name: the name first, then its aliases. The one list `--layout`, the run
/// config's `reader` and their messages use.
pub const LAYOUTS: &[(&str, &[&str], Layout)] = &[
    ("generic", &[], Layout::Generic),
    ("isic2016", &["isic"], Layout::Isic2016),
    ("kvasir", &["kvasir-seg"], Layout::Kvasir),
    (
        "brain-tumor",
        &["brain_tumor", "braintumor"],
        Layout::BrainTumor,
    ),
    ("smdg-disc", &[], Layout::SmdgDisc),
    ("smdg-cup", &[], Layout::SmdgCup),
    ("msd", &["decathlon"], Layout::Msd),
    ("dicom-nifti", &[], Layout::DicomNifti),
    ("brats", &["brats-flair"], Layout::Brats("flair")),
    ("brats-t1", &[], Layout::Brats("t1")),
    ("brats-t1ce", &[], Layout::Brats("t1ce")),
    ("brats-t2", &[], Layout::Brats("t2")),
];

impl Layout {
    pub fn parse(s: &str) -> Result<Layout> {
        let s = s.trim().to_ascii_lowercase();
        LAYOUTS
            .iter()
            .find(|(name, aliases, _)| *name == s || aliases.contains(&s.as_str()))
            .map(|(_, _, l)| *l)
            .ok_or_else(|| {
                Error::invalid(
                    "--layout",
                    format!("unknown layout '{s}'; expected {}", names().join(", ")),
                )
            })
    }
}

/// The layouts' names (without aliases), in [`LAYOUTS`] order.
pub fn names() -> Vec<&'static str> {
    LAYOUTS.iter().map(|(n, _, _)| *n).collect()
}

fn is_image(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTS.contains(&e.to_ascii_lowercase().as_str()))
}

fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(entries(dir, |p| p.is_file() && is_image(p))?
        .into_iter()
        .map(|(p, _)| p)
        .collect())
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn rel_id(root: &Path, p: &Path) -> String {
    let r = p.strip_prefix(root).unwrap_or(p);
    r.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// The entries of `dir` that satisfy `keep`, sorted, with their file names.
fn entries(dir: &Path, keep: fn(&Path) -> bool) -> Result<Vec<(PathBuf, String)>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| keep(p))
        .collect();
    v.sort();
    Ok(v.into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (p, name)
        })
        .collect())
}

/// `images/` + `masks/` matched by stem; masks may carry a `_mask`/`_segmentation` suffix.
pub fn from_dirs(
    name: &str,
    images: &Path,
    masks: &Path,
    modality: Option<Modality>,
) -> Result<SegDataset> {
    let root = images.parent().unwrap_or(Path::new(""));
    let mut by_stem: HashMap<String, PathBuf> = HashMap::new();
    for m in list_images(masks)? {
        let s = stem(&m);
        let key = ["_mask", "_Mask", "_segmentation", "_Segmentation"]
            .iter()
            .find_map(|suf| s.strip_suffix(suf))
            .unwrap_or(&s)
            .to_string();
        // An exact stem match wins over a suffixed one.
        if key == s || !by_stem.contains_key(&key) {
            by_stem.insert(key, m);
        }
    }
    let samples = list_images(images)?
        .into_iter()
        .map(|img| SegSample {
            id: rel_id(root, &img),
            mask: by_stem.get(&stem(&img)).cloned(),
            image: img,
            modality,
        })
        .collect();
    Ok(SegDataset {
        name: name.to_string(),
        samples,
    })
}

/// A CSV (`image,mask[,modality]` header) or JSONL manifest; paths relative to the manifest.
pub fn from_manifest(name: &str, path: &Path) -> Result<SegDataset> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let resolve = |s: &str| {
        let p = PathBuf::from(s.trim());
        if p.is_relative() {
            dir.join(p)
        } else {
            p
        }
    };
    let bad = |line: usize, why: String| Error::invalid(format!("{}:{line}", path.display()), why);
    let mut samples = Vec::new();
    let jsonl = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json"));
    if jsonl {
        #[derive(serde::Deserialize)]
        struct Row {
            image: String,
            mask: Option<String>,
            modality: Option<String>,
        }
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let r: Row = serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
            let modality = r.modality.as_deref().map(Modality::parse).transpose()?;
            samples.push(SegSample {
                id: r.image.clone(),
                image: resolve(&r.image),
                mask: r.mask.as_deref().map(resolve),
                modality,
            });
        }
    } else {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .map(|(_, h)| {
                h.split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .collect()
            })
            .unwrap_or_default();
        let col = |n: &str| header.iter().position(|h| h == n);
        let (ci, cm, cmod) = (
            col("image").ok_or_else(|| bad(1, "CSV header needs an `image` column".into()))?,
            col("mask"),
            col("modality"),
        );
        for (i, line) in lines {
            let f: Vec<&str> = line.split(',').collect();
            let get = |c: Option<usize>| {
                c.and_then(|c| f.get(c))
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
            };
            let image = get(Some(ci)).ok_or_else(|| bad(i + 1, "missing image".into()))?;
            let modality = get(cmod).map(Modality::parse).transpose()?;
            samples.push(SegSample {
                id: image.to_string(),
                image: resolve(image),
                mask: get(cm).map(resolve),
                modality,
            });
        }
    }
    Ok(SegDataset {
        name: name.to_string(),
        samples,
    })
}

/// A named layout under `root`.
pub fn open(layout: Layout, root: &Path, modality: Option<Modality>) -> Result<SegDataset> {
    let first_dir = |cands: &[&str]| cands.iter().map(|c| root.join(c)).find(|p| p.is_dir());
    let missing = |what: &str| {
        Error::invalid(
            root.display().to_string(),
            format!("not a {what} folder (see docs/segmentation.md for the expected layout)"),
        )
    };
    match layout {
        Layout::Generic => from_dirs(
            "generic",
            &root.join("images"),
            &root.join("masks"),
            modality,
        ),
        Layout::Isic2016 => {
            let imgs = first_dir(&[
                "ISBI2016_ISIC_Part1_Training_Data",
                "ISBI2016_ISIC_Part1_Test_Data",
            ])
            .ok_or_else(|| missing("ISIC 2016"))?;
            let gt = PathBuf::from(imgs.to_string_lossy().replace("_Data", "_GroundTruth"));
            let mut ds = from_dirs(
                "isic2016",
                &imgs,
                &gt,
                Some(modality.unwrap_or(Modality::Dermoscopy)),
            )?;
            ds.samples
                .retain(|s| !stem(&s.image).ends_with("_Segmentation"));
            Ok(ds)
        }
        Layout::Kvasir => {
            let base = if root.join("Kvasir-SEG").is_dir() {
                root.join("Kvasir-SEG")
            } else {
                root.to_path_buf()
            };
            if !base.join("images").is_dir() {
                return Err(missing("Kvasir-SEG"));
            }
            from_dirs(
                "kvasir",
                &base.join("images"),
                &base.join("masks"),
                Some(modality.unwrap_or(Modality::Endoscopy)),
            )
        }
        Layout::BrainTumor => {
            if !root.join("images").is_dir() {
                return Err(missing("brain tumor (PNG conversion)"));
            }
            from_dirs(
                "brain-tumor",
                &root.join("images"),
                &root.join("masks"),
                Some(modality.unwrap_or(Modality::Mri)),
            )
        }
        Layout::Msd => {
            let (imgs, labels) = (root.join("imagesTr"), root.join("labelsTr"));
            if !imgs.is_dir() || !labels.is_dir() {
                return Err(missing(
                    "Medical Segmentation Decathlon (imagesTr/, labelsTr/)",
                ));
            }
            // macOS resource forks (._case.nii.gz) ship in some MSD archives.
            let volume = |p: &Path| p.is_file() && crate::io::nifti::is_nifti_name(p);
            let samples = entries(&imgs, volume)?
                .into_iter()
                .filter(|(_, name)| !name.starts_with("._"))
                .map(|(img, name)| {
                    let label = labels.join(name);
                    SegSample {
                        id: rel_id(root, &img),
                        mask: label.is_file().then_some(label),
                        image: img,
                        modality,
                    }
                })
                .collect();
            Ok(SegDataset {
                name: "msd".into(),
                samples,
            })
        }
        Layout::DicomNifti => {
            let mut samples = Vec::new();
            for (dir, name) in entries(root, Path::is_dir)? {
                let label = ["nii.gz", "nii"]
                    .iter()
                    .map(|ext| root.join(format!("{name}.{ext}")))
                    .find(|p| p.is_file());
                let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_map(|e| e.ok())
                    .map(|e| e.into_path())
                    .filter(|p| {
                        p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("dcm"))
                    })
                    .collect();
                files.sort();
                for image in files {
                    samples.push(SegSample {
                        id: rel_id(root, &image),
                        mask: label.clone(),
                        image,
                        modality,
                    });
                }
            }
            if samples.is_empty() {
                return Err(missing(
                    "DICOM series with NIfTI labels (<series>/*.dcm, <series>.nii.gz)",
                ));
            }
            Ok(SegDataset {
                name: "dicom-nifti".into(),
                samples,
            })
        }
        Layout::Brats(sequence) => {
            let mut samples = Vec::new();
            for (case, name) in entries(root, Path::is_dir)? {
                // BraTS 2021 names .nii.gz, earlier releases .nii.
                let find = |suffix: &str| {
                    ["nii.gz", "nii"]
                        .iter()
                        .map(|ext| case.join(format!("{name}_{suffix}.{ext}")))
                        .find(|p| p.is_file())
                };
                if let Some(image) = find(sequence) {
                    samples.push(SegSample {
                        id: rel_id(root, &image),
                        mask: find("seg"),
                        image,
                        modality: Some(modality.unwrap_or(Modality::Mri)),
                    });
                }
            }
            if samples.is_empty() {
                return Err(missing(&format!(
                    "BraTS (<case>/<case>_{sequence}.nii.gz with <case>/<case>_seg.nii.gz)"
                )));
            }
            Ok(SegDataset {
                name: format!("brats-{sequence}"),
                samples,
            })
        }
        Layout::SmdgDisc | Layout::SmdgCup => {
            let (structure, smdg_dir, name) = if layout == Layout::SmdgDisc {
                ("disc", "optic-disc", "smdg-disc")
            } else {
                ("cup", "optic-cup", "smdg-cup")
            };
            let m = Some(modality.unwrap_or(Modality::Oct));
            if root.join(structure).join("images").is_dir() {
                from_dirs(
                    name,
                    &root.join(structure).join("images"),
                    &root.join(structure).join("masks"),
                    m,
                )
            } else if root.join("full-fundus").is_dir() {
                let mut ds = from_dirs(name, &root.join("full-fundus"), &root.join(smdg_dir), m)?;
                // Not every fundus has this structure annotated: only pairs are items.
                ds.samples.retain(|s| s.mask.is_some());
                Ok(ds)
            } else {
                Err(missing("SMDG-19"))
            }
        }
    }
}

/// Read a mask file and binarise it ([`crate::io::read_mask`], the crate's one mask rule).
pub fn read_mask(path: &Path) -> Result<Mask> {
    crate::io::read_mask(path, None)
}

/// Read an image onto the crate's [0,1] scale ([`crate::io::read_image`]).
pub fn read_image(path: &Path) -> Result<(Image, BitDepth)> {
    let l = crate::io::read_image(path)?;
    Ok((l.image, l.depth))
}

#[cfg(test)]
mod tests {
    #[test]
    fn binarise_rule() {
        assert_eq!(
            crate::io::binarise(&[0, 127, 128, 255], 255),
            vec![0, 0, 1, 1]
        );
        // 0/1 label masks.
        assert_eq!(crate::io::binarise(&[0, 1, 1, 0], 255), vec![0, 1, 1, 0]);
        // JPEG ringing around 0 stays background.
        assert_eq!(
            crate::io::binarise(&[3, 250, 120, 131], 255),
            vec![0, 1, 0, 1]
        );
        assert_eq!(crate::io::binarise(&[0, 40000], 65535), vec![0, 1]);
    }
}
