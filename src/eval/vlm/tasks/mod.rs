//! Task data: readers for OmniMedVQA (VQA), ROCOv2 (captioning) and grounding sets, each turning
//! a file into [`Item`]s with resolved image paths; [`select`] applies the seeded sample limit.

pub mod caption;
pub mod grounding;
pub mod sample;
pub mod vqa;

use crate::error::{Error, Result};
use crate::perturb::Modality;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The three VLM tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Vqa,
    Caption,
    Grounding,
}

impl Task {
    pub fn parse(s: &str) -> Result<Task> {
        match s {
            "vqa" => Ok(Task::Vqa),
            "caption" | "captioning" => Ok(Task::Caption),
            "grounding" => Ok(Task::Grounding),
            _ => Err(Error::invalid(
                "--task",
                format!("'{s}': expected vqa, caption or grounding"),
            )),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Vqa => "vqa",
            Task::Caption => "caption",
            Task::Grounding => "grounding",
        }
    }
}

/// Ground truth of a grounding item: a pixel box [x1, y1, x2, y2] (x2, y2 exclusive) or a mask file.
#[derive(Clone, Debug, PartialEq)]
pub enum GroundTruth {
    Box([f64; 4]),
    Mask(PathBuf),
}

#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    Vqa {
        question: String,
        options: Vec<String>,
        answer: usize,
        question_type: Option<String>,
    },
    Caption {
        references: Vec<String>,
    },
    Grounding {
        question: String,
        truth: GroundTruth,
    },
}

/// One evaluation sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// Stable sample id (question_id, image id, ...).
    pub id: String,
    /// Image path as read.
    pub image: PathBuf,
    /// Path relative to the image root ('/' separated): the RNG image id comes from it.
    pub relative: PathBuf,
    pub modality: Option<Modality>,
    pub kind: ItemKind,
}

/// Read `path` for `task`; image paths are resolved against `image_root` (default: the first of
/// the data file's folder and its ancestors under which the first item's image exists).
pub fn read(task: Task, path: &Path, image_root: Option<&Path>) -> Result<Vec<Item>> {
    let raw = match task {
        Task::Vqa => vqa::read(path)?,
        Task::Caption => caption::read(path)?,
        Task::Grounding => grounding::read(path)?,
    };
    let root = match image_root {
        Some(r) => r.to_path_buf(),
        None => guess_root(path, &raw),
    };
    let mut items = raw;
    for it in &mut items {
        it.relative = it.image.clone();
        it.image = resolve_image(&root, &it.image);
        if let ItemKind::Grounding {
            truth: GroundTruth::Mask(m),
            ..
        } = &mut it.kind
        {
            *m = root.join(&*m);
        }
    }
    Ok(items)
}

/// `root/rel`, trying the common image extensions when `rel` has none (ROCOv2 CSVs name ids).
fn resolve_image(root: &Path, rel: &Path) -> PathBuf {
    let p = root.join(rel);
    if p.extension().is_some() || p.exists() {
        return p;
    }
    for ext in ["jpg", "png", "jpeg"] {
        let q = p.with_extension(ext);
        if q.exists() {
            return q;
        }
    }
    p
}

fn guess_root(data: &Path, items: &[Item]) -> PathBuf {
    let start = if data.is_dir() {
        data.to_path_buf()
    } else {
        data.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    if let Some(first) = items.first() {
        let mut dir = Some(start.as_path());
        for _ in 0..4 {
            let Some(d) = dir else { break };
            for sub in ["", "images", "Images"] {
                let cand = if sub.is_empty() {
                    d.to_path_buf()
                } else {
                    d.join(sub)
                };
                let p = resolve_image(&cand, &first.image);
                if p.exists() {
                    return cand;
                }
            }
            dir = d.parent();
        }
    }
    start
}

/// Keep items of `modality` (items with an unknown modality are kept), then take `limit` of them
/// as Python's `random.sample` with `seed` would, in its order.
pub fn select(
    items: Vec<Item>,
    modality: Option<Modality>,
    limit: Option<usize>,
    seed: u64,
) -> Vec<Item> {
    let pool: Vec<Item> = match modality {
        Some(m) => items
            .into_iter()
            .filter(|it| it.modality.is_none_or(|im| im == m))
            .collect(),
        None => items,
    };
    match limit {
        Some(k) if k < pool.len() => sample::python_sample(pool.len(), k, seed)
            .into_iter()
            .map(|i| pool[i].clone())
            .collect(),
        _ => pool,
    }
}

/// Read a whole file (errors name it).
pub(crate) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// JSON array, JSON object holding an array under a common key, or JSON Lines.
pub(crate) fn json_records(path: &Path) -> Result<Vec<serde_json::Value>> {
    let text = read_text(path)?;
    let t = text.trim_start();
    if t.starts_with('[')
        || (t.starts_with('{') && serde_json::from_str::<serde_json::Value>(t).is_ok())
    {
        let v: serde_json::Value = serde_json::from_str(t).map_err(|e| Error::Data {
            path: path.to_path_buf(),
            reason: format!("JSON: {e}"),
        })?;
        return Ok(match v {
            serde_json::Value::Array(a) => a,
            serde_json::Value::Object(mut o) => {
                let key = ["data", "items", "samples", "annotations", "images"]
                    .into_iter()
                    .find(|k| o.get(*k).is_some_and(|v| v.is_array()));
                match key.and_then(|k| o.remove(k)) {
                    Some(serde_json::Value::Array(a)) => a,
                    _ => vec![serde_json::Value::Object(o)],
                }
            }
            other => vec![other],
        });
    }
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|e| Error::Data {
            path: path.to_path_buf(),
            reason: format!("line {}: {e}", n + 1),
        })?);
    }
    Ok(out)
}

/// A string field, or a number rendered as a string.
pub(crate) fn field_str(v: &serde_json::Value, keys: &[&str]) -> Option<String> {
    for k in keys {
        match v.get(*k) {
            Some(serde_json::Value::String(s)) => return Some(s.clone()),
            Some(serde_json::Value::Number(n)) => return Some(n.to_string()),
            _ => {}
        }
    }
    None
}

/// Map a dataset's modality label (OmniMedVQA `modality_type`, e.g. "CT(Computed Tomography)",
/// "MR (Mag-netic Resonance Imaging)", "X-Ray", "Fundus Photography", "Microscopy Images") to ours.
pub fn modality_from_label(label: &str) -> Option<Modality> {
    let l = label.to_ascii_lowercase();
    let words: Vec<&str> = l
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.contains(&w);
    if l.contains("x-ray") || has("xray") || has("radiograph") || has("cxr") {
        Some(Modality::Xray)
    } else if has("ct") || l.contains("computed tomography") {
        Some(Modality::Ct)
    } else if has("mr") || has("mri") || l.contains("magnetic") {
        Some(Modality::Mri)
    } else if has("oct") || l.contains("fundus") || l.contains("optical coherence") {
        Some(Modality::Oct)
    } else if l.contains("ultrasound") || has("us") {
        Some(Modality::Us)
    } else if l.contains("microscop") || l.contains("patholog") || l.contains("histo") {
        Some(Modality::Pathology)
    } else if l.contains("endoscop") || l.contains("colonoscop") {
        Some(Modality::Endoscopy)
    } else if l.contains("dermoscop") || l.contains("dermatoscop") {
        Some(Modality::Dermoscopy)
    } else {
        None
    }
}
