//! Input listing: a folder scanned recursively, or a manifest file (JSONL or CSV) naming images,
//! optional masks and modalities.
//!
//! Manifest formats (paths relative to the manifest's folder unless absolute):
//! - JSONL: one object per line, `{"image": "a/b.png", "mask": "m/b.png", "modality": "ct"}`
//!   (`mask`, `modality` optional);
//! - CSV (RFC 4180, read with the `csv` crate: quoted fields, embedded commas and quotes): a header
//!   line naming `image` and optionally `mask`, `modality`.
//!
//! Errors in a manifest name the file and the line. Two lines with the same image (the same
//! output path) are an error naming both lines, never processed twice.
//!
//! A folder entry that cannot be listed (a dangling symbolic link, a link loop, an unreadable
//! folder) does not stop the listing: it is returned in [`Listing::bad`] and the caller reports it
//! as one failed item. The output folder is left out with `exclude`, so a second run never
//! perturbs its own outputs.

use super::IMAGE_EXTENSIONS;
use crate::error::{Error, Result};
use crate::perturb::Modality;
use std::ffi::OsString;
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
    /// The frame (slice) of a multi-frame file or volume this item is; None: a 2-D image.
    pub frame: Option<u32>,
    /// The whole volume as one item (`--slices volume`, NIfTI).
    pub volume: bool,
}

/// A folder entry that could not be listed.
#[derive(Debug)]
pub struct BadEntry {
    pub path: PathBuf,
    pub relative: PathBuf,
    /// [`Error::BadEntry`], naming the path and the fix.
    pub error: Error,
}

/// What [`list_inputs`] found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Readable inputs, sorted by relative path.
    pub items: Vec<InputItem>,
    /// Entries that could not be listed, sorted by relative path; each is one failed item.
    pub bad: Vec<BadEntry>,
}

impl Listing {
    /// Items and bad entries in one list sorted by relative path, for callers that report failed
    /// items through their reading step: reading a bad entry's path fails with the same named
    /// error (crate::io::read_file names dangling links and loops).
    pub fn all(self) -> Vec<InputItem> {
        let mut v = self.items;
        v.extend(self.bad.into_iter().map(|b| InputItem {
            path: b.path,
            relative: b.relative,
            mask: None,
            modality: None,
            frame: None,
            volume: false,
        }));
        v.sort_by(|a, b| a.relative.cmp(&b.relative));
        v
    }
}

fn is_image(p: &Path) -> bool {
    super::nifti::is_nifti_name(p)
        || p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// List inputs from a folder (recursive, sorted by relative path) or a manifest file. With
/// `masks`, each image gets the mask at the same relative folder and stem (any image extension),
/// else the same stem directly under `masks`. With `exclude` (the output folder), that folder is
/// not scanned.
pub fn list_inputs(input: &Path, masks: Option<&Path>, exclude: Option<&Path>) -> Result<Listing> {
    let meta = std::fs::metadata(input).map_err(|source| Error::read(input, source))?;
    let mut listing = if meta.is_dir() {
        scan_dir(input, exclude)
    } else {
        Listing {
            items: read_manifest(input)?,
            bad: vec![],
        }
    };
    if let Some(mdir) = masks {
        if !mdir.is_dir() {
            return Err(Error::invalid(
                "--masks",
                format!("{} is not a folder", mdir.display()),
            ));
        }
        for it in &mut listing.items {
            if it.mask.is_none() {
                it.mask = find_mask(mdir, &it.relative);
            }
        }
    }
    Ok(listing)
}

fn scan_dir(root: &Path, exclude: Option<&Path>) -> Listing {
    let excluded = exclude.and_then(|e| std::fs::canonicalize(e).ok());
    let mut listing = Listing::default();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| match &excluded {
            Some(x) if e.depth() > 0 && e.file_type().is_dir() => {
                std::fs::canonicalize(e.path()).map_or(true, |c| &c != x)
            }
            _ => true,
        });
    for entry in walker {
        match entry {
            Ok(entry) => {
                if entry.file_type().is_file() && is_image(entry.path()) {
                    let relative = entry
                        .path()
                        .strip_prefix(root)
                        .unwrap_or(entry.path())
                        .to_path_buf();
                    listing.items.push(InputItem {
                        path: entry.path().to_path_buf(),
                        relative,
                        mask: None,
                        modality: None,
                        frame: None,
                        volume: false,
                    });
                }
            }
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let reason = if let Some(anc) = e.loop_ancestor() {
                    format!(
                        "symbolic link loop (it leads back to {}); fix or remove the link",
                        anc.display()
                    )
                } else if let Some(Error::BadEntry { reason, .. }) = super::link_error(&path) {
                    reason
                } else {
                    match e.io_error() {
                        Some(io) => crate::error::io_cause(io),
                        None => e.to_string(),
                    }
                };
                let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                listing.bad.push(BadEntry {
                    error: Error::BadEntry {
                        path: path.clone(),
                        reason,
                    },
                    path,
                    relative,
                });
            }
        }
    }
    listing.items.sort_by(|a, b| a.relative.cmp(&b.relative));
    listing.bad.sort_by(|a, b| a.relative.cmp(&b.relative));
    listing
}

/// The mask of `relative` under `mdir`: same stem (byte-exact, so non-UTF-8 names match too),
/// optional `_mask` / `_Segmentation` suffix, any image extension; in the same relative folder,
/// else directly under `mdir`.
fn find_mask(mdir: &Path, relative: &Path) -> Option<PathBuf> {
    let stem = relative.file_stem()?;
    let parent = relative.parent().unwrap_or(Path::new(""));
    for dir in [mdir.join(parent), mdir.to_path_buf()] {
        for suffix in ["", "_mask", "_Segmentation"] {
            for ext in IMAGE_EXTENSIONS {
                let mut name = OsString::from(stem);
                name.push(format!("{suffix}.{ext}"));
                let p = dir.join(name);
                if p.is_file() {
                    return Some(p);
                }
            }
        }
    }
    None
}

fn read_manifest(path: &Path) -> Result<Vec<InputItem>> {
    let bytes = std::fs::read(path).map_err(|source| Error::read(path, source))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::Data {
        path: path.to_path_buf(),
        reason: format!(
            "not UTF-8 text (invalid byte at offset {}); save the manifest as UTF-8",
            e.utf8_error().valid_up_to()
        ),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let bad = |line: usize, reason: String| Error::Data {
        path: path.to_path_buf(),
        reason: format!("line {line}: {reason}"),
    };
    let resolve = |s: &str| -> PathBuf {
        let p = Path::new(s.trim());
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let rel_of = |s: &str| -> PathBuf {
        let p = Path::new(s.trim());
        if p.is_absolute() {
            PathBuf::from(p.file_name().unwrap_or_default())
        } else {
            p.to_path_buf()
        }
    };
    let modality_of = |line: usize, s: &str| -> Result<Modality> {
        Modality::parse(s).map_err(|e| bad(line, e.to_string()))
    };
    let is_jsonl = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json"));
    // (line, image, mask, modality)
    let mut rows: Vec<(usize, String, Option<String>, Option<Modality>)> = Vec::new();
    if is_jsonl {
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| bad(n, format!("not a JSON object: {e}")))?;
            let obj = v
                .as_object()
                .ok_or_else(|| bad(n, "not a JSON object".into()))?;
            let field = |k: &str| -> Result<Option<String>> {
                match obj.get(k) {
                    None | Some(serde_json::Value::Null) => Ok(None),
                    Some(serde_json::Value::String(s)) if s.trim().is_empty() => Ok(None),
                    Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                    Some(other) => Err(bad(n, format!("\"{k}\" must be a string, found {other}"))),
                }
            };
            let image = field("image")?.ok_or_else(|| bad(n, "missing \"image\"".into()))?;
            let mask = field("mask")?;
            let modality = field("modality")?.map(|m| modality_of(n, &m)).transpose()?;
            rows.push((n, image, mask, modality));
        }
    } else {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header: Vec<String> = rdr
            .headers()
            .map_err(|e| bad(1, format!("not CSV: {e}")))?
            .iter()
            .map(|h| h.trim().to_ascii_lowercase())
            .collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let ci = col("image")
            .ok_or_else(|| bad(1, "the CSV header must name an `image` column".into()))?;
        let (cm, cmod) = (col("mask"), col("modality"));
        for rec in rdr.records() {
            let rec = rec.map_err(|e| {
                bad(
                    e.position().map_or(0, |p| p.line() as usize),
                    format!("not CSV: {e}"),
                )
            })?;
            let n = rec.position().map_or(0, |p| p.line() as usize);
            if rec.iter().all(|f| f.is_empty()) {
                continue;
            }
            let get = |c: Option<usize>| {
                c.and_then(|c| rec.get(c))
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            let image = get(Some(ci)).ok_or_else(|| bad(n, "empty `image` field".into()))?;
            let modality = get(cmod).map(|m| modality_of(n, &m)).transpose()?;
            rows.push((n, image, get(cm), modality));
        }
    }
    let mut seen: std::collections::HashMap<PathBuf, usize> = std::collections::HashMap::new();
    let mut items = Vec::with_capacity(rows.len());
    for (n, image, mask, modality) in rows {
        let relative = rel_of(&image);
        if let Some(first) = seen.insert(relative.clone(), n) {
            return Err(bad(
                n,
                format!("image {} repeats line {first} (same output path {}); remove one of the two lines", image.trim(), relative.display()),
            ));
        }
        items.push(InputItem {
            path: resolve(&image),
            relative,
            mask: mask.as_deref().map(resolve),
            modality,
            frame: None,
            volume: false,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    #[test]
    fn csv_fields_are_unquoted() {
        let (_d, p) = manifest(
            "m.csv",
            "image,mask,modality\n\"b, c.png\",\"m.png\",\"ct\"\na.png,,\n",
        );
        let items = read_manifest(&p).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].relative, PathBuf::from("b, c.png"));
        assert_eq!(
            items[0].mask.as_ref().unwrap().file_name().unwrap(),
            "m.png"
        );
        assert_eq!(items[0].modality, Some(Modality::Ct));
        assert!(items[1].mask.is_none());
    }

    #[test]
    fn duplicate_rows_are_an_error_naming_both_lines() {
        let (_d, p) = manifest("m.csv", "image\na.png\nb.png\n\"a.png\"\n");
        let e = read_manifest(&p).unwrap_err().to_string();
        assert!(
            e.contains("m.csv") && e.contains("line 4") && e.contains("line 2"),
            "{e}"
        );
        let (_d, p) = manifest(
            "m.jsonl",
            "{\"image\": \"a.png\"}\n{\"image\": \"a.png\"}\n",
        );
        let e = read_manifest(&p).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("line 1"), "{e}");
    }

    #[test]
    fn modality_errors_name_the_line() {
        let (_d, p) = manifest("m.csv", "image,modality\na.png,ct\nb.png,xyz\n");
        let e = read_manifest(&p).unwrap_err().to_string();
        assert!(
            e.contains("m.csv") && e.contains("line 3") && e.contains("xyz"),
            "{e}"
        );
        let (_d, p) = manifest("m.jsonl", "{\"image\": \"a.png\", \"modality\": \"ct\"}\n\n{\"image\": \"b.png\", \"modality\": \"nope\"}\n");
        let e = read_manifest(&p).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("nope"), "{e}");
    }

    #[test]
    fn bad_entries_do_not_stop_the_listing_and_out_is_excluded() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::write(r.join("a.png"), b"x").unwrap();
        std::os::unix::fs::symlink(r.join("missing.png"), r.join("b_dangling.png")).unwrap();
        std::fs::create_dir(r.join("sub")).unwrap();
        std::os::unix::fs::symlink(r.join("sub/loop.png"), r.join("sub/loop.png")).unwrap();
        std::os::unix::fs::symlink(r, r.join("sub/up")).unwrap();
        std::fs::create_dir_all(r.join("out/x")).unwrap();
        std::fs::write(r.join("out/x/o.png"), b"x").unwrap();
        let l = list_inputs(r, None, Some(&r.join("out"))).unwrap();
        let rel: Vec<String> = l
            .items
            .iter()
            .map(|i| i.relative.display().to_string())
            .collect();
        assert_eq!(rel, ["a.png"], "{l:?}");
        let bad: Vec<String> = l
            .bad
            .iter()
            .map(|b| b.relative.display().to_string())
            .collect();
        assert_eq!(bad, ["b_dangling.png", "sub/loop.png", "sub/up"], "{l:?}");
        assert!(
            l.bad[0].error.to_string().contains("dangling"),
            "{}",
            l.bad[0].error
        );
        assert!(
            l.bad[1].error.to_string().contains("loop"),
            "{}",
            l.bad[1].error
        );
        assert!(
            l.bad[2].error.to_string().contains("loop"),
            "{}",
            l.bad[2].error
        );
        // Without exclude the output folder is listed.
        assert_eq!(list_inputs(r, None, None).unwrap().items.len(), 2);
    }
}
