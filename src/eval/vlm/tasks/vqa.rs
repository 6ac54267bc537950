//! OmniMedVQA: a JSON list (one `QA_information/<access>/<dataset>.json`) or a folder of them,
//! items with `question`, `option_A`..`option_D` (2 to 4 present), `gt_answer` (the text of the
//! correct option), `image_path` (relative to the OmniMedVQA root, an optional
//! `${dataset_root_path}/` prefix is dropped), `modality_type` (one file of the release uses
//! `modality` instead: both are read), `question_id`, `question_type`, `dataset`.
//! An `options` list (the authors' pre-converted form) is read when `option_*` keys are absent.

use super::{field_str, json_records, modality_from_label, Item, ItemKind};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub fn read(path: &Path) -> Result<Vec<Item>> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::Io {
                path: path.to_path_buf(),
                source: e,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "jsonl"))
            .collect();
        v.sort();
        v
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for f in &files {
        for (n, v) in json_records(f)?.iter().enumerate() {
            out.push(item(v).map_err(|reason| Error::Data {
                path: f.clone(),
                reason: format!("item {n}: {reason}"),
            })?);
        }
    }
    Ok(out)
}

fn item(v: &serde_json::Value) -> std::result::Result<Item, String> {
    let question = field_str(v, &["question"]).ok_or("no 'question'")?;
    let mut options: Vec<String> = Vec::new();
    for l in ['A', 'B', 'C', 'D', 'E', 'F'] {
        match field_str(v, &[&format!("option_{l}")]) {
            Some(o) => options.push(o),
            None => break,
        }
    }
    if options.is_empty() {
        if let Some(arr) = v.get("options").and_then(|o| o.as_array()) {
            options = arr
                .iter()
                .filter_map(|o| o.as_str().map(str::to_string))
                .collect();
        }
    }
    if options.len() < 2 {
        return Err("fewer than two options (option_A, option_B, ...)".into());
    }
    let gt = field_str(v, &["gt_answer", "answer"]).ok_or("no 'gt_answer'")?;
    let answer = options
        .iter()
        .position(|o| o.trim() == gt.trim())
        .or_else(|| {
            options
                .iter()
                .position(|o| o.trim().eq_ignore_ascii_case(gt.trim()))
        })
        .or_else(|| {
            // A bare letter as the answer.
            let g = gt.trim();
            (g.len() == 1)
                .then(|| (g.as_bytes()[0].to_ascii_uppercase().wrapping_sub(b'A')) as usize)
                .filter(|&i| i < options.len())
        })
        .ok_or_else(|| format!("gt_answer '{gt}' is none of the options"))?;
    let image = field_str(v, &["image_path", "image"]).ok_or("no 'image_path'")?;
    let image = image
        .trim_start_matches("${dataset_root_path}/")
        .to_string();
    let id = field_str(v, &["question_id", "id"]).unwrap_or_else(|| image.clone());
    let modality =
        field_str(v, &["modality_type", "modality"]).and_then(|m| modality_from_label(&m));
    Ok(Item {
        id,
        image: PathBuf::from(&image),
        relative: PathBuf::from(&image),
        modality,
        kind: ItemKind::Vqa {
            question,
            options,
            answer,
            question_type: field_str(v, &["question_type"]),
        },
    })
}
