//! `eval-vlm` and `caption-metrics` (docs/vlm.md).

use crate::calibrate::SearchOptions;
use crate::eval::vlm::{self, Compat, ModelConfig, RunOptions, Strengths, Task};
use crate::metrics::caption::{self, Tokenisation};
use crate::perturb::{self, Modality};
use anyhow::Context;
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
    /// Keep only samples of this modality and add its medical perturbations.
    #[arg(long)]
    pub modality: Option<String>,
    /// Perturbations: ids and groups (base, medical, all, extra), comma separated; "none" for clean only.
    #[arg(long, default_value = "all")]
    pub perturbations: String,
    /// Severity levels, comma separated (the authors' VLM runs: 1,3,5).
    #[arg(long, default_value = "1,3,5", value_delimiter = ',')]
    pub levels: Vec<u8>,
    /// Evaluate this many samples, drawn as Python's random.sample with --seed (paper 500, authors' code 100).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Sampling seed (the authors' scripts: 42).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Perturbation seed: the same as `perturb --seed`, so the images sent are the ones it writes.
    #[arg(long, default_value_t = 0)]
    pub perturb_seed: u64,
    /// calibrated (SSIM bands, what `perturb` writes) | fixed (strength = level/5 of the range, no SSIM).
    #[arg(long, default_value = "calibrated")]
    pub strengths: String,
    /// SSIM variant for calibration: wang | skimage | compat.
    #[arg(long, default_value = "wang")]
    pub ssim_variant: String,
    /// Reproduce the authors' VLM protocol: all quirks (`all`) or a list of
    /// vqa-no-options, box-first-four, raw-captions.
    #[arg(long, value_delimiter = ',')]
    pub compat: Vec<String>,
    /// Optional LLM judge for VQA (a MODEL.toml): decides correctness, score >= 0.5.
    #[arg(long)]
    pub judge: Option<PathBuf>,
    /// Response cache folder (default OUT/cache): a rerun sends no request it already made.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Requests in flight at once (default: the model's `concurrency`).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Output folder: records.jsonl, summary.json, cache/.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct CaptionMetricsArgs {
    /// JSON Lines: one object per item with `id`, `prediction`, `references` (list of strings).
    pub file: PathBuf,
    /// words (lower-case, punctuation stripped; default) | raw (the authors' untokenised strings).
    #[arg(long, default_value = "words")]
    pub tokenisation: String,
}

fn compat_flags(list: &[String]) -> anyhow::Result<Compat> {
    let mut c = Compat::default();
    for f in list.iter().map(|s| s.trim()) {
        match f {
            "all" | "medfm-robust" | "medfm-robust-compat" => c = Compat::all(),
            "vqa-no-options" => c.vqa_without_options = true,
            "box-first-four" => c.box_first_four = true,
            "raw-captions" => c.raw_captions = true,
            "" => {}
            other => anyhow::bail!("--compat: unknown switch '{other}' (all, vqa-no-options, box-first-four, raw-captions)"),
        }
    }
    Ok(c)
}

fn ssim_variant(s: &str) -> anyhow::Result<crate::ssim::SsimVariant> {
    use crate::ssim::SsimVariant as V;
    Ok(match s {
        "wang" => V::Wang,
        "skimage" => V::Skimage,
        "compat" => V::Compat,
        other => anyhow::bail!("--ssim-variant: '{other}': expected wang, skimage or compat"),
    })
}

pub fn run_eval_vlm(a: EvalVlmArgs, quiet: bool) -> anyhow::Result<i32> {
    let task = Task::parse(&a.task)?;
    let model = ModelConfig::load(&a.model)?;
    let judge = a.judge.as_deref().map(ModelConfig::load).transpose()?;
    let modality = a.modality.as_deref().map(Modality::parse).transpose()?;
    let perturbations = if a.perturbations.trim() == "none" {
        Vec::new()
    } else {
        perturb::select(&a.perturbations, modality).with_context(|| format!("--perturbations {}", a.perturbations))?
    };
    let strengths = match a.strengths.as_str() {
        "calibrated" => Strengths::Calibrated(SearchOptions {
            variant: ssim_variant(&a.ssim_variant)?,
            ..SearchOptions::default()
        }),
        "fixed" => Strengths::Fixed,
        other => anyhow::bail!("--strengths: '{other}': expected calibrated or fixed"),
    };
    let opts = RunOptions {
        task,
        data: a.data,
        image_root: a.image_root,
        dataset: a.dataset,
        modality,
        perturbations,
        levels: a.levels,
        limit: a.limit,
        seed: a.seed,
        perturb_seed: a.perturb_seed,
        strengths,
        compat: compat_flags(&a.compat)?,
        judge,
        out: a.out,
        cache_dir: a.cache,
        concurrency: a.concurrency,
        progress: !quiet,
    };
    let summary = vlm::run(&model, &opts)?;
    print!("{}", vlm::run::render(&summary));
    Ok(0)
}

pub fn run_caption_metrics(a: CaptionMetricsArgs) -> anyhow::Result<i32> {
    let tok = Tokenisation::parse(&a.tokenisation)?;
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("{}: cannot read", a.file.display()))?;
    let (mut preds, mut refs) = (Vec::new(), Vec::new());
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{}: line {}", a.file.display(), n + 1))?;
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
