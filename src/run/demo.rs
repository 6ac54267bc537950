//! The built-in demo benchmark: phantom datasets for all four tasks and the config that runs
//! them (segmentation with the two built-in stand-in segmenters as two "strategies"; VQA,
//! captioning and grounding with the built-in rule-based demo VLM of
//! crate::eval::vlm::demo_server). Nothing here is a trained model.
//!
//! Data (under `data/`): `<modality>/{images,masks}/<k>.png` for segmentation; `vqa.json`
//! (OmniMedVQA layout: "Where is the lesion?" with the four quadrants as options, truth from the
//! mask's box), `captions.jsonl` (two template references per image from the mask: modality,
//! lesion size and quadrant) and `grounding.jsonl` (the mask's box) over the same images.

use super::config::{Config, DatasetConfig, ModelConfig};
use crate::error::{Error, Result};
use crate::eval::vlm::demo_server::{quadrant, MODEL};
use crate::io;
use crate::perturb::{self, Category, Modality};
use crate::phantom;
use serde_json::json;
use std::path::Path;

/// Phantom size and count per modality.
pub const SIZE: usize = 96;
pub const SAMPLES: u64 = 2;

const QUADRANTS: [&str; 4] = ["upper left", "upper right", "lower left", "lower right"];

/// Write the demo data under `data` (existing image files are kept, so a rerun resumes on
/// identical inputs; the small JSON files are rewritten identically).
pub fn write_data(data: &Path) -> Result<()> {
    let (mut vqa, mut captions, mut grounding) = (Vec::new(), String::new(), String::new());
    for m in Modality::ALL {
        for k in 0..SAMPLES {
            let rel = format!("{m}/images/{k}.png");
            let img = data.join(&rel);
            let mask = data.join(m.as_str()).join("masks").join(format!("{k}.png"));
            let ph = phantom::phantom(m, SIZE, SIZE, phantom::natural_channels(m), k);
            if !(img.is_file() && mask.is_file()) {
                io::write_image(&img, &ph.image, crate::BitDepth::U8, io::Format::Png)?;
                io::write_mask(&mask, &ph.mask)?;
            }
            let (x0, y0, x1, y1) = ph
                .mask
                .bbox()
                .ok_or_else(|| Error::other(format!("demo phantom {m}/{k}"), "empty mask"))?;
            let bx = [x0, y0, x1 + 1, y1 + 1];
            let q = quadrant(bx, SIZE, SIZE);
            let area =
                ph.mask.data.iter().filter(|&&v| v != 0).count() as f64 / (SIZE * SIZE) as f64;
            let size = if area > 0.1 { "large" } else { "small" };
            let id = format!("{m}-{k}");
            let mut item = json!({"question_id": id, "question": "Where is the lesion in this image?", "gt_answer": q,
                "image_path": rel, "modality_type": m.as_str()});
            for (i, o) in QUADRANTS.iter().enumerate() {
                item[format!("option_{}", (b'A' + i as u8) as char)] = json!(o);
            }
            vqa.push(item);
            let refs = [
                format!("a {m} image with a {size} lesion in the {q}"),
                format!("{q} {size} lesion on a {m} image"),
            ];
            captions.push_str(&format!(
                "{}\n",
                json!({"id": id, "image": rel, "references": refs, "modality": m.as_str()})
            ));
            grounding.push_str(&format!(
                "{}\n",
                json!({"id": id, "image": rel, "question": "Locate the lesion.", "box": bx, "modality": m.as_str()})
            ));
        }
    }
    io::write_atomic(
        &data.join("vqa.json"),
        serde_json::to_string_pretty(&vqa)
            .map_err(|e| Error::other("demo", e.to_string()))?
            .as_bytes(),
    )?;
    io::write_atomic(&data.join("captions.jsonl"), captions.as_bytes())?;
    io::write_atomic(&data.join("grounding.jsonl"), grounding.as_bytes())?;
    Ok(())
}

/// The demo config over `data`: per modality a segmentation dataset (two base perturbations and
/// the modality's first medical one), and the three VLM datasets over all phantoms (the same
/// base perturbations and each image's modality's medical one), levels 1-5. `vlm_model` is the
/// demo VLM's MODEL.toml; without it the config is segmentation only.
pub fn config(data: &Path, vlm_model: Option<&Path>) -> Result<Config> {
    let mut base: Vec<&str> = ["gaussian_noise", "gaussian_blur"]
        .into_iter()
        .filter(|id| perturb::by_id(id).is_ok())
        .collect();
    if base.len() < 2 {
        base = perturb::all()
            .iter()
            .filter(|p| p.info().category == Category::Base && !p.info().geometric)
            .map(|p| p.id())
            .take(2)
            .collect();
    }
    let first_medical = |m: Modality| {
        perturb::all()
            .iter()
            .find(|p| p.info().category == Category::Medical && p.info().modality == Some(m))
            .map(|p| p.id().to_string())
    };
    let mut datasets = Vec::new();
    let dataset = |name: String,
                   path: std::path::PathBuf,
                   reader: &str,
                   modality: Option<&str>,
                   sel: Vec<String>| DatasetConfig {
        modality: modality.map(String::from),
        perturbations: Some(sel),
        image_root: matches!(reader, "vqa" | "caption" | "grounding").then(|| data.to_path_buf()),
        ..DatasetConfig::new(name, path, reader)
    };
    for m in Modality::ALL {
        let mut sel: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        sel.extend(first_medical(m));
        datasets.push(dataset(
            format!("phantom-{m}"),
            data.join(m.as_str()),
            "generic",
            Some(m.as_str()),
            sel,
        ));
    }
    let mut models = vec![
        seg_model("full", "builtin-threshold"),
        seg_model("adapter", "builtin-threshold-smoothed"),
    ];
    if let Some(toml) = vlm_model {
        let mut sel: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        sel.extend(Modality::ALL.iter().filter_map(|&m| first_medical(m)));
        for (task, file) in [
            ("vqa", "vqa.json"),
            ("caption", "captions.jsonl"),
            ("grounding", "grounding.jsonl"),
        ] {
            datasets.push(dataset(
                format!("phantom-{task}"),
                data.join(file),
                task,
                None,
                sel.clone(),
            ));
            models.push(ModelConfig {
                model: Some(toml.to_path_buf()),
                concurrency: Some(4),
                ..ModelConfig::new(MODEL, task)
            });
        }
    }
    Ok(Config::new("demo", datasets, models))
}

fn seg_model(strategy: &str, preset: &str) -> ModelConfig {
    ModelConfig {
        strategy: strategy.into(),
        preset: preset.into(),
        ..ModelConfig::new("demo-threshold", "segmentation")
    }
}
