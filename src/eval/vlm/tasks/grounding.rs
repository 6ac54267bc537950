//! Grounding sets: JSON Lines (or a JSON list) of `{id?, image, question, box: [x1, y1, x2, y2]}`
//! with the box in pixels of the image (x2, y2 exclusive) or `mask: <path>` instead of `box`;
//! or MeCoVQA-G items in LLaVA conversation form (`id`, `image`, `conversations` with a human
//! turn holding the question and a gpt turn holding `<mask>path</mask>`): the question is the
//! first human turn with `<image>` removed, the truth the first mask named by a gpt turn.

use super::{field_str, json_records, GroundTruth, Item, ItemKind};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub fn read(path: &Path) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    for (n, v) in json_records(path)?.iter().enumerate() {
        let it = item(v, n).map_err(|r| Error::Data {
            path: path.to_path_buf(),
            reason: format!("item {n}: {r}"),
        })?;
        out.push(it);
    }
    Ok(out)
}

fn item(v: &serde_json::Value, n: usize) -> std::result::Result<Item, String> {
    let image = field_str(v, &["image", "image_path"]).ok_or("no 'image'")?;
    let id = field_str(v, &["id", "question_id"]).unwrap_or_else(|| format!("{n}"));
    let (question, truth) = if let Some(conv) = v.get("conversations").and_then(|c| c.as_array()) {
        let human = conv
            .iter()
            .find(|t| t.get("from").and_then(|f| f.as_str()) == Some("human"))
            .and_then(|t| t.get("value").and_then(|x| x.as_str()))
            .ok_or("no human turn")?;
        let mask = conv
            .iter()
            .filter(|t| t.get("from").and_then(|f| f.as_str()) == Some("gpt"))
            .filter_map(|t| t.get("value").and_then(|x| x.as_str()))
            .find_map(mask_tag)
            .ok_or("no <mask>...</mask> in a gpt turn")?;
        (
            human.replace("<image>", "").trim().to_string(),
            GroundTruth::Mask(PathBuf::from(mask)),
        )
    } else {
        let q = field_str(v, &["question", "prompt"]).ok_or("no 'question'")?;
        let truth = if let Some(b) = v
            .get("box")
            .or_else(|| v.get("bbox"))
            .and_then(|b| b.as_array())
        {
            let nums: Vec<f64> = b.iter().filter_map(|x| x.as_f64()).collect();
            if nums.len() != 4 {
                return Err("'box' must hold four numbers".into());
            }
            GroundTruth::Box([nums[0], nums[1], nums[2], nums[3]])
        } else if let Some(m) = field_str(v, &["mask"]) {
            GroundTruth::Mask(PathBuf::from(m))
        } else {
            return Err("neither 'box' nor 'mask'".into());
        };
        (q, truth)
    };
    Ok(Item {
        id,
        image: PathBuf::from(&image),
        relative: PathBuf::from(&image),
        modality: field_str(v, &["modality", "modality_type"])
            .and_then(|m| super::modality_from_label(&m)),
        kind: ItemKind::Grounding { question, truth },
    })
}

fn mask_tag(s: &str) -> Option<String> {
    let a = s.find("<mask>")? + "<mask>".len();
    let b = s[a..].find("</mask>")? + a;
    Some(s[a..b].trim().to_string())
}
