//! Dataset listing for `run`: which (image, mask) pairs a dataset has, in a stable order.
//!
//! Readers (config `reader`):
//! - `generic`: a folder with `images/` and `masks/` (masks matched by stem, optional `_mask` /
//!   `_Segmentation` suffix), or a folder of images plus the dataset's `masks` folder;
//! - `manifest`: a JSONL/CSV manifest (crate::io::list_inputs);
//! - `isic2016`, `kvasir`, `brain-tumor`, `smdg-disc`, `smdg-cup`: the paper's on-disk layouts,
//!   listed by crate::dataset (docs/segmentation.md).
//!
//! Samples are sorted by id (the '/'-separated path relative to the dataset root) and cut to the
//! dataset's `limit`; only paths are listed here, pixels are read per group so one bad file is one
//! failed unit.

use super::config::DatasetConfig;
use crate::error::{Error, Result};
use crate::io;
use std::path::PathBuf;

#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub id: String,
    pub image: PathBuf,
    pub mask: PathBuf,
}

/// List the samples of `d`.
pub fn open(d: &DatasetConfig) -> Result<Vec<Sample>> {
    let what = format!("dataset '{}'", d.name);
    if !d.path.exists() {
        return Err(Error::other(what, format!("path {} does not exist", d.path.display())));
    }
    let items = match d.reader.as_str() {
        "manifest" => {
            if !d.path.is_file() {
                return Err(Error::other(what, format!("reader 'manifest' needs a JSONL or CSV file, {} is a folder", d.path.display())));
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
                return Err(Error::other(what, format!("masks folder {} does not exist", masks.display())));
            }
            io::list_inputs(&images, Some(&masks), None)?
        }
        other => {
            let layout = crate::dataset::Layout::parse(other)?;
            let modality = crate::perturb::Modality::parse(&d.modality).ok();
            let ds = crate::dataset::open(layout, &d.path, modality).map_err(|e| Error::other(what, e.to_string()))?;
            let items = ds
                .samples
                .into_iter()
                .map(|s| io::InputItem { path: s.image, relative: std::path::PathBuf::from(&s.id), mask: s.mask, modality: s.modality })
                .collect();
            io::Listing { items, bad: vec![] }
        }
    };
    finish(d, items)
}

fn finish(d: &DatasetConfig, listing: io::Listing) -> Result<Vec<Sample>> {
    let what = format!("dataset '{}'", d.name);
    let mut out = Vec::with_capacity(listing.items.len());
    let mut missing = Vec::new();
    // A folder entry that cannot be listed (dangling link, loop) is one sample whose reading fails
    // with the named error: one failed unit, the rest goes on.
    for b in listing.bad {
        out.push(Sample { id: io::rel_string(&b.relative), image: b.path.clone(), mask: b.path });
    }
    for it in listing.items {
        let id = io::rel_string(&it.relative);
        match it.mask {
            Some(mask) => out.push(Sample { id, image: it.path, mask }),
            None => missing.push(id),
        }
    }
    if !missing.is_empty() {
        return Err(Error::other(
            what,
            format!("{} image(s) without a mask, e.g. {}", missing.len(), missing.iter().take(3).cloned().collect::<Vec<_>>().join(", ")),
        ));
    }
    if out.is_empty() {
        return Err(Error::other(what, format!("no images found under {}", d.path.display())));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(n) = d.limit {
        out.truncate(n);
    }
    Ok(out)
}
