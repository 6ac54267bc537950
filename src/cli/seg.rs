//! `medfm-robust eval-seg`: evaluate a segmentation model on clean and perturbed images through
//! ONNX Runtime, and the segmentation part of `demo` (docs/segmentation.md).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::dataset::{self, Layout, SegDataset};
use crate::eval::seg::ort::Device;
use crate::eval::seg::run::{evaluate_image, EvalOptions, Record, StageTimes, Strengths, Summary};
use crate::eval::seg::{evaluate, Model, ModelSpec};
use crate::perturb::Modality;

#[derive(clap::Args, Debug)]
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
    /// Severity levels.
    #[arg(long, default_value = "1,2,3,4,5", value_delimiter = ',')]
    pub levels: Vec<u8>,
    /// Uncalibrated fixed strengths (level L at L/5 of the range) instead of SSIM calibration.
    #[arg(long)]
    pub fixed_strengths: bool,
    /// cpu, cuda[:N], tensorrt[:N].
    #[arg(long, default_value = "cpu")]
    pub device: String,
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
    /// Output folder (records.jsonl, summary.json).
    #[arg(long)]
    pub out: PathBuf,
}

fn model_spec(a: &EvalSegArgs) -> anyhow::Result<ModelSpec> {
    let mut spec = if let Some(t) = &a.model {
        ModelSpec::from_toml(t)?
    } else {
        let (Some(enc), Some(dec)) = (&a.encoder, &a.decoder) else {
            bail!("give a model: --encoder E.onnx --decoder D.onnx --preset P, or --model M.toml");
        };
        let preset = a.preset.clone().context("--preset is required with --encoder/--decoder (medsam, sam-med2d, sam-med2d:best-iou, litemedsam)")?;
        // "models/medsam/encoder.onnx" is named "medsam"; "medsam_encoder.onnx" keeps its stem.
        let stem = enc.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
        let parent = enc.parent().and_then(|p| p.file_name()).map(|s| s.to_string_lossy().into_owned());
        let name = if stem == "encoder" { parent.unwrap_or(stem) } else { stem };
        ModelSpec { name, strategy: "full".into(), preset, encoder: Some(enc.clone()), decoder: Some(dec.clone()), graph: None, generic: None }
    };
    if let Some(p) = &a.preset {
        spec.preset = p.clone();
    }
    if let Some(n) = &a.name {
        spec.name = n.clone();
    }
    if let Some(s) = &a.strategy {
        spec.strategy = s.clone();
    }
    Ok(spec)
}

fn open_dataset(a: &EvalSegArgs, modality: Option<Modality>) -> anyhow::Result<SegDataset> {
    let mut ds = if let Some(m) = &a.manifest {
        dataset::from_manifest(&name_of(m), m)?
    } else if let (Some(root), Some(layout)) = (&a.data, &a.layout) {
        dataset::open(Layout::parse(layout)?, root, modality)?
    } else if let (Some(i), Some(m)) = (&a.images, &a.masks) {
        let name = i.canonicalize().ok().and_then(|p| p.parent().map(name_of)).unwrap_or_else(|| "dataset".into());
        dataset::from_dirs(&name, i, m, modality)?
    } else {
        bail!("give data: --images DIR --masks DIR, --manifest FILE, or --data ROOT --layout NAME");
    };
    if let Some(n) = &a.dataset {
        ds.name = n.clone();
    }
    if let Some(l) = a.limit {
        ds.samples.truncate(l);
    }
    if ds.samples.is_empty() {
        bail!("no images found in the dataset");
    }
    Ok(ds)
}

fn name_of(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "dataset".into())
}

fn read_replay(path: &Path) -> anyhow::Result<HashMap<String, [usize; 4]>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut m = HashMap::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let r: Record = serde_json::from_str(line).with_context(|| format!("{}:{}: not a record", path.display(), i + 1))?;
        if let Some(p) = r.prompt {
            m.insert(r.unit, p);
        }
    }
    Ok(m)
}

/// A JSONL writer for records that also keeps them for the summary.
struct RecordSink {
    file: std::io::BufWriter<std::fs::File>,
    path: PathBuf,
    kept: Vec<Record>,
}

impl RecordSink {
    fn create(out: &Path) -> anyhow::Result<RecordSink> {
        std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
        let path = out.join("records.jsonl");
        let f = std::fs::File::create(&path).with_context(|| format!("{}: cannot create", path.display()))?;
        Ok(RecordSink { file: std::io::BufWriter::new(f), path, kept: Vec::new() })
    }

    fn push(&mut self, r: Record) -> crate::Result<()> {
        let line = serde_json::to_string(&r).map_err(|e| crate::Error::other("record", e.to_string()))?;
        writeln!(self.file, "{line}").map_err(|e| crate::Error::Io { path: self.path.clone(), source: e })?;
        self.kept.push(r);
        Ok(())
    }

    fn finish(mut self, out: &Path, times: &StageTimes) -> anyhow::Result<Summary> {
        self.file.flush().with_context(|| format!("{}: cannot write", self.path.display()))?;
        let summary = Summary::from_records(&self.kept);
        let json = serde_json::json!({ "summary": summary, "times": times });
        let p = out.join("summary.json");
        std::fs::write(&p, serde_json::to_string_pretty(&json)?).with_context(|| format!("{}: cannot write", p.display()))?;
        Ok(summary)
    }
}

fn perturbation_list(spec: &str, modality: Option<Modality>) -> anyhow::Result<Vec<&'static dyn crate::perturb::Perturbation>> {
    if spec.trim().eq_ignore_ascii_case("none") || spec.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(crate::perturb::select(spec, modality)?)
}

fn render_times(t: &StageTimes) -> String {
    let total = t.load + t.perturb + t.preprocess + t.encode + t.decode;
    let per = |d: std::time::Duration| 1000.0 * d.as_secs_f64() / t.images.max(1) as f64;
    format!(
        "time: {:.2} s for {} model images ({:.1} images/s); per image: load {:.1} ms, perturb {:.1} ms, preprocess {:.1} ms, encoder {:.1} ms, decoder {:.1} ms\n",
        total.as_secs_f64(),
        t.images,
        t.images as f64 / total.as_secs_f64().max(1e-9),
        per(t.load),
        per(t.perturb),
        per(t.preprocess),
        per(t.encode),
        per(t.decode)
    )
}

/// `eval-seg`: returns 0 when every record succeeded, 2 when some items failed (recorded).
pub fn run_eval_seg(a: EvalSegArgs) -> anyhow::Result<i32> {
    let modality = a.modality.as_deref().map(Modality::parse).transpose()?;
    let spec = model_spec(&a)?;
    let ds = open_dataset(&a, modality)?;
    let device = Device::parse(&a.device).map_err(|e| anyhow::anyhow!("--device: {e}"))?;
    if a.levels.iter().any(|l| !(1..=5).contains(l)) {
        bail!("--levels: each level must be 1..5, got {:?}", a.levels);
    }
    let opts = EvalOptions {
        model_name: spec.name.clone(),
        strategy: spec.strategy.clone(),
        dataset: ds.name.clone(),
        perturbations: perturbation_list(&a.perturbations, modality)?,
        levels: a.levels.clone(),
        seed: a.seed,
        jitter: a.jitter,
        strengths: if a.fixed_strengths { Strengths::Fixed } else { Strengths::Calibrated(Default::default()) },
        replay: a.replay.as_deref().map(read_replay).transpose()?.unwrap_or_default(),
    };
    let mut model = Model::load(&spec, device, a.threads).with_context(|| format!("loading model '{}'", spec.name))?;
    let mut sink = RecordSink::create(&a.out)?;
    let times = evaluate(&mut model, &ds, &opts, &mut |r| sink.push(r))?;
    let summary = sink.finish(&a.out, &times)?;
    println!("eval-seg: model {} ({}, preset {}) on {} ({} samples), device {}", spec.name, spec.strategy, model.preset_name(), ds.name, ds.samples.len(), device.name());
    print!("{}", summary.render());
    print!("{}", render_times(&times));
    println!("records: {}", a.out.join("records.jsonl").display());
    Ok(if summary.failed > 0 { 2 } else { 0 })
}

/// The built-in demo model (models/demo, see tools/make_demo_model.py), found next to the crate
/// sources or the working directory.
/// The built-in demo model's graphs (models/demo, reproducible with tools/make_demo_model.py),
/// embedded in the binary so `demo` works from any folder.
const DEMO_ENCODER: &[u8] = include_bytes!("../../models/demo/encoder.onnx");
const DEMO_DECODER: &[u8] = include_bytes!("../../models/demo/decoder.onnx");

/// The demo model, its graphs written into `dir` (e.g. the demo's output folder).
pub fn demo_model_spec(dir: &Path) -> anyhow::Result<ModelSpec> {
    let (enc, dec) = (dir.join("encoder.onnx"), dir.join("decoder.onnx"));
    crate::io::write_atomic(&enc, DEMO_ENCODER)?;
    crate::io::write_atomic(&dec, DEMO_DECODER)?;
    Ok(ModelSpec {
        name: "demo-box-threshold".into(),
        strategy: "none".into(),
        preset: "litemedsam".into(),
        encoder: Some(enc),
        decoder: Some(dec),
        graph: None,
        generic: None,
    })
}

/// Segmentation part of `demo`: the demo model on every modality's phantom (`size` px, seeds
/// 0..n_per_modality), perturbations as selected per modality, records to `out/records.jsonl`.
/// Returns the summary (also printed unless `quiet`).
pub fn run_demo_seg(out: &Path, size: usize, n_per_modality: u64, perturbations: &str, levels: &[u8], strengths: Strengths, quiet: bool) -> anyhow::Result<Summary> {
    let spec = demo_model_spec(&out.join("model"))?;
    let mut model = Model::load(&spec, Device::Cpu, 0)?;
    let mut sink = RecordSink::create(out)?;
    let mut times = StageTimes::default();
    for m in Modality::ALL {
        let opts = EvalOptions {
            model_name: spec.name.clone(),
            strategy: spec.strategy.clone(),
            dataset: format!("phantom-{m}"),
            perturbations: perturbation_list(perturbations, Some(m))?,
            levels: levels.to_vec(),
            seed: 0,
            jitter: 0,
            strengths: strengths.clone(),
            replay: HashMap::new(),
        };
        for seed in 0..n_per_modality {
            let ph = crate::phantom::phantom(m, size, size, 3, seed);
            let id = format!("{m}-{seed}");
            evaluate_image(&mut model, &id, &ph.image, crate::BitDepth::U8, &ph.mask, &opts, &mut times, &mut |r| sink.push(r))?;
        }
    }
    let summary = sink.finish(out, &times)?;
    if !quiet {
        println!("segmentation demo: {} (a classical box-prompted threshold segmenter in SAM's ONNX layout, not a trained network)", spec.name);
        print!("{}", summary.render());
        print!("{}", render_times(&times));
    }
    Ok(summary)
}
