//! Dataset listing for `run`: which (image, mask) pairs a dataset has, in a stable order.
//!
//! Readers (config `reader`):
//! - `generic`: a folder with `images/` and `masks/` (masks matched by stem, optional `_mask` /
//!   `_Segmentation` suffix), or a folder of images plus the dataset's `masks` folder;
//! - `manifest`: a JSONL/CSV manifest (crate::io::list_inputs);
//! - `isic2016`, `kvasir`, `brain-tumor`, `smdg-disc`, `smdg-cup`: the paper's on-disk layouts,
//!   listed by crate::dataset (docs/segmentation.md).
//!
//! - `vqa`, `caption`, `grounding`: the VLM task files of crate::eval::vlm::tasks (OmniMedVQA
//!   JSON, ROCOv2 CSV/JSON(L), grounding JSON(L) / MeCoVQA-G), `limit` drawn as Python's
//!   random.sample with the dataset's `sample_seed` (the authors' protocol).
//!
//! Segmentation samples are sorted by id (the '/'-separated path relative to the dataset root)
//! and cut to the dataset's `limit`; only paths are listed here, pixels are read per group so one
//! bad file is one failed unit.

use super::config::DatasetConfig;
use crate::error::{Error, Result};
use crate::eval::vlm::tasks::{self, Task};
use crate::io;
use crate::perturb::Modality;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub id: String,
    pub image: PathBuf,
    /// Segmentation: the ground-truth mask.
    pub mask: Option<PathBuf>,
    /// The sample's own modality (VLM data and manifests carry one).
    pub modality: Option<Modality>,
    /// VLM tasks: the question, options and answer, references or truth box.
    pub vlm: Option<Arc<tasks::Item>>,
    /// The RNG image id source ('/'-separated path relative to the image root).
    pub relative: PathBuf,
    /// The frame (slice) of a multi-frame file or volume; None: a 2-D image.
    pub frame: Option<u32>,
    /// The whole volume as one sample (`--slices volume`, NIfTI).
    pub volume: bool,
}

/// List the samples of `d`.
pub fn open(d: &DatasetConfig) -> Result<Vec<Sample>> {
    let what = format!("dataset '{}'", d.name);
    if !d.path.exists() {
        return Err(Error::other(
            what,
            format!("path {} does not exist", d.path.display()),
        ));
    }
    if let Ok(task) = Task::parse(&d.reader) {
        return open_vlm(d, task);
    }
    let items = match d.reader.as_str() {
        "manifest" => {
            if !d.path.is_file() {
                return Err(Error::other(
                    what,
                    format!(
                        "reader 'manifest' needs a JSONL or CSV file, {} is a folder",
                        d.path.display()
                    ),
                ));
            }
            io::list_inputs(&d.path, d.masks.as_deref(), None)?
        }
        "generic" => {
            let (images, masks) = if let Some(m) = &d.masks {
                (d.path.clone(), m.clone())
            } else if d.path.join("images").is_dir() && d.path.join("masks").is_dir() {
                (d.path.join("images"), d.path.join("masks"))
            } else if d.path.is_file() {
                return io::list_inputs(&d.path, None, None).and_then(|l| finish(d, l));
            } else {
                return Err(Error::other(
                    what,
                    format!("{} has no images/ and masks/ folders; set `masks = \"...\"` or use reader = \"manifest\"", d.path.display()),
                ));
            };
            if !masks.is_dir() {
                return Err(Error::other(
                    what,
                    format!("masks folder {} does not exist", masks.display()),
                ));
            }
            io::list_inputs(&images, Some(&masks), None)?
        }
        other => {
            let layout = crate::dataset::Layout::parse(other)?;
            let modality = d.modality().ok().flatten();
            let ds = crate::dataset::open(layout, &d.path, modality)
                .map_err(|e| Error::other(what, e.to_string()))?;
            let items = ds
                .samples
                .into_iter()
                .map(|s| io::InputItem {
                    path: s.image,
                    relative: std::path::PathBuf::from(&s.id),
                    mask: s.mask,
                    modality: s.modality,
                    frame: None,
                    volume: false,
                })
                .collect();
            io::Listing { items, bad: vec![] }
        }
    };
    finish(d, items)
}

fn finish(d: &DatasetConfig, mut listing: io::Listing) -> Result<Vec<Sample>> {
    let what = format!("dataset '{}'", d.name);
    let slices = io::slices::Slices::parse(d.slices.as_deref().unwrap_or("all"))
        .map_err(|e| Error::other(what.clone(), e.to_string()))?;
    if slices == io::slices::Slices::Volume {
        return Err(Error::other(
            what,
            "slices = \"volume\" is for perturb (2-D models take slices): use all, mid or an index",
        ));
    }
    listing.items = io::slices::expand(std::mem::take(&mut listing.items), slices);
    // An image without a mask is kept: its units fail with a named error when they run, and a
    // folder entry that cannot be listed (dangling link, loop) is one sample whose reading fails
    // with the named error: one bad item never stops the run.
    let mut out = Vec::with_capacity(listing.items.len());
    for b in listing.bad {
        let id = io::rel_string(&b.relative);
        out.push(Sample {
            id,
            image: b.path.clone(),
            mask: Some(b.path),
            modality: None,
            vlm: None,
            relative: b.relative,
            frame: None,
            volume: false,
        });
    }
    for it in listing.items {
        let id = io::rel_string(&it.relative);
        out.push(Sample {
            id,
            image: it.path,
            mask: it.mask,
            modality: it.modality,
            vlm: None,
            relative: it.relative,
            frame: it.frame,
            volume: it.volume,
        });
    }
    if out.is_empty() {
        return Err(Error::other(
            what,
            format!("no images found under {}", d.path.display()),
        ));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(n) = d.limit {
        out.truncate(n);
    }
    Ok(out)
}

/// The samples of a VLM dataset: read, filtered to the dataset's modality, seeded `limit`.
fn open_vlm(d: &DatasetConfig, task: Task) -> Result<Vec<Sample>> {
    let what = format!("dataset '{}'", d.name);
    let items = tasks::read(task, &d.path, d.image_root.as_deref())
        .map_err(|e| Error::other(what.clone(), e.to_string()))?;
    let modality = d.modality()?;
    let items = tasks::select(items, modality, d.limit, d.sample_seed);
    if items.is_empty() {
        return Err(Error::other(
            what,
            format!("no samples to evaluate in {}", d.path.display()),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        if !seen.insert(it.id.clone()) {
            return Err(Error::other(
                what,
                format!(
                    "sample id '{}' appears twice in {}",
                    it.id,
                    d.path.display()
                ),
            ));
        }
        out.push(Sample {
            id: it.id.clone(),
            image: it.image.clone(),
            mask: None,
            modality: it.modality.or(modality),
            relative: it.relative.clone(),
            frame: None,
            volume: false,
            vlm: Some(Arc::new(it)),
        });
    }
    Ok(out)
}
