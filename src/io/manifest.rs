//! Input listing: a folder scanned recursively, or a manifest file (JSONL or CSV) naming images,
//! optional masks and modalities.
//!
//! Manifest formats (paths relative to the manifest's folder unless absolute):
//! - JSONL: one object per line, `{"image": "a/b.png", "mask": "m/b.png", "modality": "ct"}`
//!   (`mask`, `modality` optional);
//! - CSV: a header line naming `image` and optionally `mask`, `modality`; comma-separated, no quoting.

use super::IMAGE_EXTENSIONS;
use crate::error::{Error, Result};
use crate::perturb::Modality;
use std::path::{Path, PathBuf};

/// One input image.
#[derive(Clone, Debug)]
pub struct InputItem {
    /// Where to read it.
    pub path: PathBuf,
    /// Path relative to the input root: output layout and image id come from it.
    pub relative: PathBuf,
    pub mask: Option<PathBuf>,
    pub modality: Option<Modality>,
}

fn is_image(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// List inputs from a folder (recursive, sorted by relative path) or a manifest file. With
/// `masks`, each image gets the mask at the same relative folder and stem (any image extension),
/// else the same stem directly under `masks`.
pub fn list_inputs(input: &Path, masks: Option<&Path>) -> Result<Vec<InputItem>> {
    let meta = std::fs::metadata(input).map_err(|source| Error::Io { path: input.to_path_buf(), source })?;
    let mut items = if meta.is_dir() { scan_dir(input)? } else { read_manifest(input)? };
    if let Some(mdir) = masks {
        if !mdir.is_dir() {
            return Err(Error::invalid("--masks", format!("{} is not a folder", mdir.display())));
        }
        for it in &mut items {
            if it.mask.is_none() {
                it.mask = find_mask(mdir, &it.relative);
            }
        }
    }
    Ok(items)
}

fn scan_dir(root: &Path) -> Result<Vec<InputItem>> {
    let mut items = Vec::new();
    for entry in walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::other(root.display().to_string(), e.to_string()))?;
        if entry.file_type().is_file() && is_image(entry.path()) {
            let relative = entry.path().strip_prefix(root).unwrap_or(entry.path()).to_path_buf();
            items.push(InputItem { path: entry.path().to_path_buf(), relative, mask: None, modality: None });
        }
    }
    items.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok(items)
}

fn find_mask(mdir: &Path, relative: &Path) -> Option<PathBuf> {
    let stem = relative.file_stem()?.to_string_lossy().into_owned();
    let parent = relative.parent().unwrap_or(Path::new(""));
    for dir in [mdir.join(parent), mdir.to_path_buf()] {
        for suffix in ["", "_mask", "_Segmentation"] {
            for ext in IMAGE_EXTENSIONS {
                let p = dir.join(format!("{stem}{suffix}.{ext}"));
                if p.is_file() {
                    return Some(p);
                }
            }
        }
    }
    None
}

fn read_manifest(path: &Path) -> Result<Vec<InputItem>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |s: &str| -> PathBuf {
        let p = Path::new(s.trim());
        if p.is_absolute() { p.to_path_buf() } else { base.join(p) }
    };
    let rel_of = |s: &str| -> PathBuf {
        let p = Path::new(s.trim());
        if p.is_absolute() { PathBuf::from(p.file_name().unwrap_or_default()) } else { p.to_path_buf() }
    };
    let bad = |line: usize, reason: String| Error::invalid(format!("{} line {line}", path.display()), reason);
    let is_jsonl = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json"));
    let mut items = Vec::new();
    if is_jsonl {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
            let image = v.get("image").and_then(|x| x.as_str()).ok_or_else(|| bad(i + 1, "missing \"image\"".into()))?;
            let mask = v.get("mask").and_then(|x| x.as_str()).map(resolve);
            let modality = v.get("modality").and_then(|x| x.as_str()).map(Modality::parse).transpose()?;
            items.push(InputItem { path: resolve(image), relative: rel_of(image), mask, modality });
        }
    } else {
        let mut lines = text.lines().enumerate();
        let header: Vec<String> = lines
            .next()
            .map(|(_, h)| h.split(',').map(|s| s.trim().to_ascii_lowercase()).collect())
            .unwrap_or_default();
        let col = |name: &str| header.iter().position(|h| h == name);
        let ci = col("image").ok_or_else(|| bad(1, "CSV header must name an `image` column".into()))?;
        let (cm, cmod) = (col("mask"), col("modality"));
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').collect();
            let image = f.get(ci).ok_or_else(|| bad(i + 1, "missing image field".into()))?;
            let mask = cm.and_then(|c| f.get(c)).filter(|s| !s.trim().is_empty()).map(|s| resolve(s));
            let modality = cmod.and_then(|c| f.get(c)).filter(|s| !s.trim().is_empty()).map(|s| Modality::parse(s)).transpose()?;
            items.push(InputItem { path: resolve(image), relative: rel_of(image), mask, modality });
        }
    }
    Ok(items)
}
