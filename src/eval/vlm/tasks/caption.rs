//! ROCOv2 captions: the release's `{split}_captions.csv` (`ID,Caption`, RFC 4180 quoting; images
//! `<ID>.jpg` beside it or in `images/`), or JSON / JSON Lines records with an id (`image_id`,
//! `id`, `ID`), a caption (`caption`) or several (`captions`, `references`), and optionally the
//! image path (`image`, `image_path`, `file_name`; default `<id>` with .jpg/.png tried). Several
//! rows with the same id become one item with several references, in first-seen order.
//! Parquet (the Hugging Face export) is not read directly: tools/rocov2_parquet_to_jsonl.py
//! converts it once (docs/vlm.md).

use super::{field_str, json_records, modality_from_label, read_text, Item, ItemKind};
use crate::error::{Error, Result};
use crate::perturb::Modality;
use std::path::{Path, PathBuf};

/// (id, captions, image path) rows before grouping.
type Rows = Vec<(String, Vec<String>, Option<String>, Option<Modality>)>;

pub fn read(path: &Path) -> Result<Vec<Item>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let rows: Rows = match ext.as_str() {
        "parquet" => {
            return Err(Error::invalid(
                path.display().to_string(),
                "parquet is not read directly; convert it with tools/rocov2_parquet_to_jsonl.py (docs/vlm.md)",
            ))
        }
        "csv" => csv_rows(path)?,
        _ => json_rows(path)?,
    };
    let mut items: Vec<Item> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (id, caps, image, modality) in rows {
        match index.get(&id) {
            Some(&i) => {
                if let ItemKind::Caption { references } = &mut items[i].kind {
                    references.extend(caps);
                }
            }
            None => {
                let img = PathBuf::from(image.unwrap_or_else(|| id.clone()));
                index.insert(id.clone(), items.len());
                items.push(Item {
                    id,
                    image: img.clone(),
                    relative: img,
                    modality,
                    kind: ItemKind::Caption { references: caps },
                });
            }
        }
    }
    Ok(items)
}

fn json_rows(path: &Path) -> Result<Rows> {
    let mut out = Vec::new();
    for (n, v) in json_records(path)?.iter().enumerate() {
        let bad = |r: &str| Error::Data {
            path: path.to_path_buf(),
            reason: format!("item {n}: {r}"),
        };
        let id =
            field_str(v, &["image_id", "id", "ID"]).ok_or_else(|| bad("no 'image_id' / 'id'"))?;
        let caps: Vec<String> = if let Some(c) = field_str(v, &["caption", "Caption"]) {
            vec![c]
        } else if let Some(a) = v
            .get("captions")
            .or_else(|| v.get("references"))
            .and_then(|a| a.as_array())
        {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        } else {
            return Err(bad("no 'caption'"));
        };
        let modality =
            field_str(v, &["modality", "modality_type"]).and_then(|m| modality_from_label(&m));
        out.push((
            id,
            caps,
            field_str(v, &["image", "image_path", "file_name"]),
            modality,
        ));
    }
    Ok(out)
}

fn csv_rows(path: &Path) -> Result<Rows> {
    let text = read_text(path)?;
    let records = parse_csv(&text);
    let Some(header) = records.first() else {
        return Ok(Vec::new());
    };
    let col = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (Some(ic), Some(cc)) = (col(&["ID", "image_id"]), col(&["Caption"])) else {
        return Err(Error::Data {
            path: path.to_path_buf(),
            reason: "CSV header needs ID and Caption columns".into(),
        });
    };
    Ok(records[1..]
        .iter()
        .filter(|r| r.len() > ic.max(cc))
        .map(|r| (r[ic].clone(), vec![r[cc].clone()], None, None))
        .collect())
}

/// RFC 4180 CSV: comma separated, double-quoted fields may hold commas, newlines and "" escapes.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else {
            match c {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                _ => field.push(c),
            }
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows.retain(|r| !(r.len() == 1 && r[0].is_empty()));
    rows
}
