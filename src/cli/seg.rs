//! `medfm-robust eval-seg`: evaluate a segmentation model on clean and perturbed images through
//! ONNX Runtime, and the segmentation part of `demo` (docs/segmentation.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::Global;
use medfm_robust::eval::seg::ModelSpec;
use medfm_robust::perturb::Modality;
use medfm_robust::run::config::{Calibration, Config, DatasetConfig, ModelConfig as RunModel};
use medfm_robust::run::Shard;

#[derive(clap::Args)]
pub struct EvalSegArgs {
    /// Model description (TOML: name, strategy, preset, encoder/decoder or graph); replaces
    /// --encoder/--decoder/--preset.
    #[arg(long, conflicts_with_all = ["encoder", "decoder"])]
    pub model: Option<PathBuf>,
    /// Image encoder graph (SAM layout: image -> image_embeddings).
    #[arg(long, requires = "decoder")]
    pub encoder: Option<PathBuf>,
    /// Prompt decoder graph (SAM layout).
    #[arg(long, requires = "encoder")]
    pub decoder: Option<PathBuf>,
    /// medsam, sam-med2d, sam-med2d:best-iou, litemedsam.
    #[arg(long)]
    pub preset: Option<String>,
    /// Model name in records (default: the TOML's name, else the encoder's file stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Fine-tuning strategy label (full, encoder-only, decoder-only, decoder+prompt, lora, adapter).
    #[arg(long)]
    pub strategy: Option<String>,
    /// Folder of images (generic layout, with --masks).
    #[arg(long, requires = "masks")]
    pub images: Option<PathBuf>,
    /// Folder of masks matching the images by stem.
    #[arg(long)]
    pub masks: Option<PathBuf>,
    /// CSV (image,mask[,modality]) or JSONL manifest.
    #[arg(long, conflicts_with_all = ["images", "data"])]
    pub manifest: Option<PathBuf>,
    /// Dataset root for a named --layout.
    #[arg(long, requires = "layout", conflicts_with = "images")]
    pub data: Option<PathBuf>,
    /// generic, isic2016, kvasir, brain-tumor, smdg-disc, smdg-cup.
    #[arg(long)]
    pub layout: Option<String>,
    /// Dataset name in records (default: the layout, or the images folder's parent name).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Modality (selects the medical perturbations): ct, mri, us, pathology, endoscopy, oct, xray, dermoscopy.
    #[arg(long)]
    pub modality: Option<String>,
    /// Perturbation selection (ids and groups: base, medical, all, extra), or `none` for clean only.
    #[arg(long, default_value = "all")]
    pub perturbations: String,
    /// Severity levels: 1-5, 1,3,5 or 3.
    #[arg(long, default_value = "1-5", value_parser = super::args::levels_arg)]
    pub levels: super::args::Levels,
    /// Uncalibrated fixed strengths (level L at L/5 of the range) instead of SSIM calibration.
    #[arg(long)]
    pub fixed_strengths: bool,
    /// ONNX Runtime execution provider: cpu, cuda[:N], tensorrt[:N] (auto: cuda when available).
    #[arg(long, default_value = "cpu", value_parser = super::args::DeviceArg::parse)]
    pub device: super::args::DeviceArg,
    /// ONNX Runtime intra-op threads (0 = its default).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Box jitter: widen each side by up to N pixels (seeded); 0 = tight box.
    #[arg(long, default_value_t = 0)]
    pub jitter: u32,
    /// Replay the box prompts of an earlier records.jsonl (matched by unit).
    #[arg(long)]
    pub replay: Option<PathBuf>,
    /// Evaluate at most N samples (in listing order).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Volumes (NIfTI, multi-frame DICOM, DICOM series): the slices evaluated, `all`, `mid` or
    /// an index from 0; a 2-D model sees each slice as an image.
    #[arg(long, default_value = "all")]
    pub slices: String,
    /// Output folder: records.jsonl (the pipeline's records: `report` and `merge` read it),
    /// run.json. Rerunning the same command resumes.
    #[arg(long)]
    pub out: PathBuf,
    /// Discard an earlier run of different options in --out and start over.
    #[arg(long)]
    pub restart: bool,
}

/// The run model of the flags: a SPEC.toml, or --encoder/--decoder/--preset (name from the
/// encoder's folder or file stem).
fn model_config(a: &EvalSegArgs) -> anyhow::Result<RunModel> {
    let (name, strategy, preset, graphs, model) = if let Some(t) = &a.model {
        let spec = ModelSpec::from_toml(t)?;
        (
            spec.name,
            spec.strategy,
            a.preset.clone().unwrap_or(spec.preset),
            BTreeMap::new(),
            Some(t.clone()),
        )
    } else {
        let (Some(enc), Some(dec)) = (&a.encoder, &a.decoder) else {
            bail!("give a model: --encoder E.onnx --decoder D.onnx --preset P, or --model M.toml");
        };
        let preset = a.preset.clone().context("--preset is required with --encoder/--decoder (medsam, sam-med2d, sam-med2d:best-iou, litemedsam)")?;
        // "models/medsam/encoder.onnx" is named "medsam"; "medsam_encoder.onnx" keeps its stem.
        let stem = enc
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        let parent = enc
            .parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned());
        let name = if stem == "encoder" {
            parent.unwrap_or(stem)
        } else {
            stem
        };
        let graphs = BTreeMap::from([
            ("encoder".to_string(), abs(enc)),
            ("decoder".to_string(), abs(dec)),
        ]);
        (name, "full".to_string(), preset, graphs, None)
    };
    Ok(RunModel {
        strategy: a.strategy.clone().unwrap_or(strategy),
        preset,
        graphs,
        model: model.map(|m| abs(&m)),
        jitter: a.jitter,
        replay: a.replay.as_deref().map(abs),
        threads: a.threads,
        ..RunModel::new(a.name.clone().unwrap_or(name), "segmentation")
    })
}

fn abs(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The run dataset of the flags.
fn dataset_config(a: &EvalSegArgs) -> anyhow::Result<DatasetConfig> {
    let (path, reader, masks, default_name) = if let Some(m) = &a.manifest {
        (m.clone(), "manifest".to_string(), None, name_of(m))
    } else if let (Some(root), Some(layout)) = (&a.data, &a.layout) {
        (root.clone(), layout.clone(), None, layout.clone())
    } else if let (Some(i), Some(m)) = (&a.images, &a.masks) {
        let name = abs(i)
            .parent()
            .map(name_of)
            .unwrap_or_else(|| "dataset".into());
        (i.clone(), "generic".to_string(), Some(abs(m)), name)
    } else {
        bail!("give data: --images DIR --masks DIR, --manifest FILE, or --data ROOT --layout NAME");
    };
    Ok(DatasetConfig {
        modality: a.modality.clone(),
        limit: a.limit,
        masks,
        slices: Some(a.slices.clone()),
        ..DatasetConfig::new(
            a.dataset.clone().unwrap_or(default_name),
            abs(&path),
            &reader,
        )
    })
}

fn name_of(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dataset".into())
}

/// `eval-seg` is a description of one dataset and one model for the pipeline: the same units,
/// unit ids, records, resume and exit codes as `run` with that config.
pub fn run_eval_seg(a: EvalSegArgs, g: Global) -> anyhow::Result<i32> {
    if let Some(m) = &a.modality {
        Modality::parse(m)?;
    }
    let config = Config {
        seed: a.seed,
        device: a.device.to_string(),
        levels: a.levels.0.clone(),
        perturbations: vec![a.perturbations.clone()],
        calibration: if a.fixed_strengths {
            Calibration::Fixed
        } else {
            Calibration::PerImage
        },
        ..Config::new(
            "eval-seg",
            vec![dataset_config(&a)?],
            vec![model_config(&a)?],
        )
    };
    super::run::run_config(
        &config,
        &a.out,
        Shard::ALL,
        a.restart,
        false,
        false,
        g.quiet,
    )
}

/// The built-in demo model's graphs (models/demo, reproducible with tools/make_demo_model.py),
/// embedded in the binary so `demo` works from any folder.
const DEMO_ENCODER: &[u8] = include_bytes!("../../models/demo/encoder.onnx");
const DEMO_DECODER: &[u8] = include_bytes!("../../models/demo/decoder.onnx");

/// The demo model's graphs written into `dir` (e.g. the demo's output folder), as a run model.
pub fn demo_model(dir: &Path) -> anyhow::Result<RunModel> {
    let (enc, dec) = (dir.join("encoder.onnx"), dir.join("decoder.onnx"));
    medfm_robust::io::write_atomic(&enc, DEMO_ENCODER)?;
    medfm_robust::io::write_atomic(&dec, DEMO_DECODER)?;
    Ok(RunModel {
        strategy: "none".into(),
        preset: "litemedsam".into(),
        graphs: BTreeMap::from([("encoder".to_string(), enc), ("decoder".to_string(), dec)]),
        ..RunModel::new("demo-box-threshold", "segmentation")
    })
}
