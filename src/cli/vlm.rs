//! `eval-vlm` and `caption-metrics` (docs/vlm.md).

use super::Global;
use anyhow::Context;
use medfm_robust::eval::vlm::{ModelConfig, Task};
use medfm_robust::metrics::caption::{self, Tokenisation};
use medfm_robust::perturb::Modality;
use medfm_robust::run::config::{Calibration, Config, DatasetConfig, ModelConfig as RunModel};
use medfm_robust::run::Shard;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct EvalVlmArgs {
    /// vqa | caption | grounding
    #[arg(long)]
    pub task: String,
    /// OmniMedVQA JSON (or a folder of them), ROCOv2 captions CSV / JSON(L), grounding JSON(L) or MeCoVQA-G JSON.
    #[arg(long)]
    pub data: PathBuf,
    /// MODEL.toml (name, base_url, model, api_key_env, max_tokens, box_format, ...).
    #[arg(long)]
    pub model: PathBuf,
    /// Folder image paths are relative to (default: found from the data file's folder upwards).
    #[arg(long)]
    pub image_root: Option<PathBuf>,
    /// Dataset label in the records (default: the data file's stem).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Keep only samples of this modality (each sample gets its own modality's medical perturbations).
    #[arg(long)]
    pub modality: Option<String>,
    /// Perturbations: ids and groups (base, medical, all, extra), comma separated; "none" for clean only.
    #[arg(long, default_value = "all")]
    pub perturbations: String,
    /// Severity levels: 1-5, 1,3,5 or 3 (the authors' VLM runs: 1,3,5).
    #[arg(long, default_value = "1,3,5", value_parser = super::args::levels_arg)]
    pub levels: super::args::Levels,
    /// Evaluate this many samples, drawn as Python's random.sample with --seed (paper 500, authors' code 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Sampling seed (the authors' scripts: 42).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Perturbation seed: the same as `perturb --seed`, so the images sent are the ones it writes.
    #[arg(long, default_value_t = 0)]
    pub perturb_seed: u64,
    /// per-image (SSIM bands, what `perturb` writes; alias calibrated) | per-dataset | fixed (strength = level/5 of the range).
    #[arg(long, default_value = "per-image")]
    pub strengths: String,
    /// SSIM variant for calibration and the records' ssim.
    #[arg(long, value_enum, default_value = "wang")]
    pub ssim_variant: super::args::VariantArg,
    /// Reproduce the authors' VLM protocol: all quirks (`all`) or a list of
    /// vqa-no-options, box-first-four, raw-captions.
    #[arg(long, value_delimiter = ',')]
    pub compat: Vec<String>,
    /// Optional LLM judge for VQA (a MODEL.toml): decides correctness, score >= 0.5.
    #[arg(long)]
    pub judge: Option<PathBuf>,
    /// Requests in flight at once (default: the model's `concurrency`).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Output folder: records.jsonl, run.json, cache/ (responses: a rerun sends no request it
    /// already made, and resumes units already done). `medfm-robust report OUT` works on it.
    #[arg(long)]
    pub out: PathBuf,
    /// Discard an earlier run of different options in --out and start over.
    #[arg(long)]
    pub restart: bool,
}

#[derive(clap::Args, Debug)]
pub struct CaptionMetricsArgs {
    /// JSON Lines: one object per item with `id`, `prediction`, `references` (list of strings).
    pub file: PathBuf,
    /// words (lower-case, punctuation stripped; default) | raw (the authors' untokenised strings).
    #[arg(long, default_value = "words")]
    pub tokenisation: String,
}

/// `eval-vlm` is a description of one dataset and one model for the pipeline: the same units,
/// unit ids, records, resume and exit codes as `run` with that config.
pub fn run_eval_vlm(a: EvalVlmArgs, g: Global) -> anyhow::Result<i32> {
    let task = Task::parse(&a.task)?;
    let model = ModelConfig::load(&a.model)?;
    if let Some(m) = &a.modality {
        Modality::parse(m)?;
    }
    medfm_robust::run::vlm_eval::compat_flags(&a.compat)?;
    let dataset = a.dataset.clone().unwrap_or_else(|| {
        a.data
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data".into())
    });
    let config = Config {
        seed: a.perturb_seed,
        levels: a.levels.0.clone(),
        perturbations: vec![a.perturbations.clone()],
        calibration: Calibration::parse(&a.strengths)?,
        ssim_variant: Some(a.ssim_variant.into()),
        ..Config::new(
            format!("eval-vlm {} {} on {dataset}", model.name, task.as_str()),
            vec![DatasetConfig {
                modality: a.modality.clone(),
                limit: a.limit,
                sample_seed: a.seed,
                image_root: a.image_root.clone(),
                ..DatasetConfig::new(dataset, a.data.clone(), task.as_str())
            }],
            vec![RunModel {
                model: Some(a.model.clone()),
                judge: a.judge.clone(),
                concurrency: a.concurrency,
                vlm_compat: a.compat.clone(),
                ..RunModel::new(model.name.clone(), task.as_str())
            }],
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

pub fn run_caption_metrics(a: CaptionMetricsArgs) -> anyhow::Result<i32> {
    let tok = Tokenisation::parse(&a.tokenisation)?;
    let text = std::fs::read_to_string(&a.file)
        .with_context(|| format!("{}: cannot read", a.file.display()))?;
    let (mut preds, mut refs) = (Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}: line {}", a.file.display(), n + 1))?;
        let pred = v.get("prediction").and_then(|p| p.as_str()).unwrap_or("");
        let rs: Vec<String> = v
            .get("references")
            .and_then(|r| r.as_array())
            .with_context(|| format!("{}: line {}: no 'references' list", a.file.display(), n + 1))?
            .iter()
            .filter_map(|s| s.as_str().map(|s| caption::normalise(s, tok)))
            .collect();
        preds.push(caption::normalise(pred, tok));
        refs.push(rs);
    }
    let (s, _) = caption::score(&preds, &refs).with_context(|| a.file.display().to_string())?;
    println!("{}", serde_json::to_string(&s)?);
    Ok(0)
}
