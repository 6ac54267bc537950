//! The benchmark configuration (`medfm-robust run bench.toml`).
//!
//! TOML, every table with `deny_unknown_fields` so a typo is an error, not a silently ignored
//! key. Relative paths are resolved against the config file's folder. [`Config::validate`] is the
//! validation pass: it checks every dataset path, lists every dataset, resolves every
//! perturbation selection and loads every model BEFORE any work starts, and reports all problems
//! at once, each naming the item (dataset, model, file).
//!
//! ```toml
//! name = "paper-segmentation"
//! seed = 0
//! profile = "default"            # or "medfm-robust-compat"
//! device = "cpu"                 # or "cuda", "cuda:1"
//! levels = [1, 2, 3, 4, 5]       # default: 1-5 (compat: 1, 3, 5)
//! perturbations = ["all"]        # ids or groups (all, base, medical, extra), per dataset modality
//!
//! [[datasets]]
//! name = "isic2016"
//! path = "data/ISIC2016"
//! reader = "isic2016"            # generic | manifest | isic2016 | kvasir | brain-tumor | smdg-disc | smdg-cup
//! modality = "dermoscopy"
//! limit = 100                    # first N samples in sorted order (optional)
//!
//! [[models]]
//! name = "medsam"
//! strategy = "full"              # full | encoder-only | decoder-only | decoder+prompt | lora | adapter | ...
//! preset = "medsam"              # ONNX presets, or builtin-threshold / builtin-threshold-smoothed
//! graphs = { encoder = "models/medsam/full/encoder.onnx", decoder = "models/medsam/full/decoder.onnx" }
//! ```

use crate::error::{Error, Result};
use crate::perturb::{self, Modality};
use crate::ssim::SsimVariant;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How the benchmark is run (spec/product.md, "Profiles").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Profile {
    /// Fixed-range Wang SSIM, per-image joint calibration, native resolution, warped masks.
    #[default]
    #[serde(rename = "default")]
    Default,
    /// The authors' published protocol, quirks included (docs/compat.md).
    #[serde(rename = "medfm-robust-compat")]
    Compat,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Compat => "medfm-robust-compat",
        }
    }
    pub fn default_levels(self) -> Vec<u8> {
        match self {
            Profile::Default => vec![1, 2, 3, 4, 5],
            Profile::Compat => vec![1, 3, 5],
        }
    }
    pub fn ssim_variant(self) -> SsimVariant {
        match self {
            Profile::Default => SsimVariant::Wang,
            Profile::Compat => SsimVariant::Compat,
        }
    }
}

/// The whole benchmark.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_name")]
    pub name: String,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub profile: Profile,
    #[serde(default = "default_device")]
    pub device: String,
    /// Severity levels (1-5); empty = the profile's default.
    #[serde(default)]
    pub levels: Vec<u8>,
    /// Perturbation selection applied to every dataset (with its modality).
    #[serde(default = "default_perturbations")]
    pub perturbations: Vec<String>,
    /// Maximum SSIM evaluations per band in the default profile's search.
    #[serde(default = "default_max_evals")]
    pub max_evals_per_band: u32,
    /// How a level becomes a strength (default profile): per-image search, per-dataset table
    /// (median in-band strength of the first `calibration_images` samples), or fixed (level / 5 of
    /// the range, uncalibrated). The compat profile always uses the authors' first-image search.
    #[serde(default)]
    pub calibration: Calibration,
    /// Per-dataset calibration: how many samples (the first ones, sorted by id) calibrate.
    #[serde(default = "default_calibration_images")]
    pub calibration_images: usize,
    /// SSIM variant of calibration and of the records' `ssim` (default: the profile's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssim_variant: Option<SsimVariant>,
    pub datasets: Vec<DatasetConfig>,
    pub models: Vec<ModelConfig>,
}

fn default_name() -> String {
    "benchmark".into()
}
fn default_device() -> String {
    "cpu".into()
}
fn default_perturbations() -> Vec<String> {
    vec!["all".into()]
}
fn default_max_evals() -> u32 {
    20
}
fn default_calibration_images() -> usize {
    1
}

/// The strength policy of a run (crate::calibrate::policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Calibration {
    #[default]
    PerImage,
    PerDataset,
    Fixed,
}

impl Calibration {
    pub fn parse(s: &str) -> Result<Calibration> {
        match s {
            "per-image" | "calibrated" => Ok(Calibration::PerImage),
            "per-dataset" => Ok(Calibration::PerDataset),
            "fixed" => Ok(Calibration::Fixed),
            other => Err(Error::invalid(
                "calibration",
                format!("'{other}': expected per-image, per-dataset or fixed"),
            )),
        }
    }
}

/// The devices a run accepts (validated before any work).
pub fn check_device(device: &str) -> std::result::Result<(), String> {
    let (kind, index) = device.split_once(':').unwrap_or((device, "0"));
    let ok_kind = matches!(kind, "cpu" | "cuda" | "tensorrt" | "auto");
    let ok_index =
        index.parse::<u32>().is_ok() && (kind != "cpu" && kind != "auto" || !device.contains(':'));
    if ok_kind && ok_index {
        Ok(())
    } else {
        Err(format!(
            "device '{device}': expected cpu, cuda[:N], tensorrt[:N] or auto"
        ))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    pub name: String,
    pub path: PathBuf,
    #[serde(default = "default_reader")]
    pub reader: String,
    /// Required for segmentation readers (selects the medical perturbations); for the VLM
    /// readers (`vqa`, `caption`, `grounding`) optional: it keeps only samples of that modality,
    /// and without it each sample gets the medical perturbations of its own modality.
    #[serde(default)]
    pub modality: Option<String>,
    /// Segmentation readers: the first `limit` samples (sorted by id). VLM readers: `limit`
    /// samples drawn as Python's random.sample with `sample_seed` (the authors' protocol).
    pub limit: Option<usize>,
    /// Sampling seed of the VLM readers' `limit` (the authors' scripts: 42).
    #[serde(default = "default_sample_seed")]
    pub sample_seed: u64,
    /// VLM readers: folder the data file's image paths are relative to (default: found from the
    /// data file's folder upwards).
    #[serde(default)]
    pub image_root: Option<PathBuf>,
    /// Masks folder for the `generic` reader when `path` holds images only.
    pub masks: Option<PathBuf>,
    /// Overrides the run's perturbation selection for this dataset.
    pub perturbations: Option<Vec<String>>,
    /// Volumes (NIfTI, multi-frame DICOM, DICOM series): which slices are samples, `all`
    /// (default), `mid` or an index from 0 (src/io/slices.rs).
    #[serde(default)]
    pub slices: Option<String>,
}

fn default_reader() -> String {
    "generic".into()
}
fn default_sample_seed() -> u64 {
    42
}

/// The task a dataset reader feeds.
pub fn reader_task(reader: &str) -> &'static str {
    crate::eval::vlm::tasks::Task::parse(reader).map_or("segmentation", |t| t.as_str())
}

/// The tasks `run` evaluates.
pub const TASKS: [&str; 4] = ["segmentation", "vqa", "caption", "grounding"];

/// The task of `perturb`'s units: the produced image written to disk (crate::generate).
pub const WRITE: &str = "write";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub name: String,
    /// Fine-tuning strategy label (Table 1 rows): full, encoder-only, decoder-only,
    /// decoder+prompt, lora, adapter, or any other label.
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// Segmentation: how the graphs are driven (see [`super::eval::load_segmenter`]).
    #[serde(default)]
    pub preset: String,
    /// The model's graph files by role (`encoder`, `decoder` for SAM presets; `model` for a
    /// single graph). Relative to the config file.
    #[serde(default)]
    pub graphs: BTreeMap<String, PathBuf>,
    /// Task the model is evaluated on: segmentation | vqa | caption | grounding. A model runs on
    /// every dataset whose reader feeds its task.
    #[serde(default = "default_task")]
    pub task: String,
    /// VLM tasks: the MODEL.toml of the OpenAI-compatible endpoint (docs/vlm.md).
    #[serde(default)]
    pub model: Option<PathBuf>,
    /// VQA: an LLM judge (a MODEL.toml) that decides correctness (score >= 0.5).
    #[serde(default)]
    pub judge: Option<PathBuf>,
    /// VLM tasks: requests in flight at once (default: the MODEL.toml's `concurrency`).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Segmentation: widen each side of the box prompt by up to this many pixels (seeded).
    #[serde(default)]
    pub jitter: u32,
    /// Segmentation: reuse the box prompts of an earlier records.jsonl (matched by unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<PathBuf>,
    /// Segmentation: ONNX Runtime intra-op threads (0 = its default).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub threads: usize,
    /// VLM tasks: quirks of the authors' VLM protocol to reproduce (all, vqa-no-options,
    /// box-first-four, raw-captions); the compat profile implies all.
    #[serde(default)]
    pub vlm_compat: Vec<String>,
    /// Segmentation with device tensorrt: engine cache folder and FP16 (`tensorrt = { fp16 =
    /// true, engine_cache = "engines" }`); overrides the MODEL.toml's `[tensorrt]`. The cache is
    /// relative to the config file, default `trt_cache` next to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensorrt: Option<crate::eval::seg::ort::TrtOptions>,
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

fn default_strategy() -> String {
    "full".into()
}
fn default_task() -> String {
    "segmentation".into()
}

/// Dataset readers known to [`super::data::open`]: `manifest`, the dataset layouts
/// ([`crate::dataset::LAYOUTS`], `generic` first) and the VLM tasks.
pub fn readers() -> Vec<&'static str> {
    let mut v = crate::dataset::names();
    v.insert(1, "manifest");
    v.extend(["vqa", "caption", "grounding"]);
    v
}

/// Whether `reader` names a reader (an alias of a layout or task counts).
pub fn is_reader(reader: &str) -> bool {
    reader == "manifest"
        || crate::dataset::Layout::parse(reader).is_ok()
        || crate::eval::vlm::tasks::Task::parse(reader).is_ok()
}

impl DatasetConfig {
    /// A dataset with every optional field at its config-file default.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>, reader: &str) -> Self {
        DatasetConfig {
            name: name.into(),
            path: path.into(),
            reader: reader.into(),
            modality: None,
            limit: None,
            sample_seed: default_sample_seed(),
            image_root: None,
            masks: None,
            perturbations: None,
            slices: None,
        }
    }
    /// The dataset's modality, when it has one.
    pub fn modality(&self) -> Result<Option<Modality>> {
        self.modality.as_deref().map(Modality::parse).transpose()
    }
    /// The task its reader feeds.
    pub fn task(&self) -> &'static str {
        reader_task(&self.reader)
    }
}

impl ModelConfig {
    /// A model of `task` with every optional field at its config-file default.
    pub fn new(name: impl Into<String>, task: &str) -> Self {
        ModelConfig {
            name: name.into(),
            strategy: default_strategy(),
            preset: String::new(),
            graphs: BTreeMap::new(),
            task: task.into(),
            model: None,
            judge: None,
            concurrency: None,
            jitter: 0,
            replay: None,
            threads: 0,
            vlm_compat: Vec::new(),
            tensorrt: None,
        }
    }
}

impl Config {
    /// A run of every dataset x model of its task with every other field at its config-file
    /// default (the default profile's levels 1-5).
    pub fn new(
        name: impl Into<String>,
        datasets: Vec<DatasetConfig>,
        models: Vec<ModelConfig>,
    ) -> Self {
        Config {
            name: name.into(),
            seed: 0,
            profile: Profile::Default,
            device: default_device(),
            levels: Profile::Default.default_levels(),
            perturbations: default_perturbations(),
            max_evals_per_band: default_max_evals(),
            calibration: Calibration::default(),
            calibration_images: default_calibration_images(),
            ssim_variant: None,
            datasets,
            models,
        }
    }

    /// Parse TOML text; relative paths are resolved against `base` (the config file's folder).
    pub fn from_toml(text: &str, base: &Path, what: &str) -> Result<Config> {
        let mut c: Config =
            toml::from_str(text).map_err(|e| Error::invalid(what.to_string(), format!("{e}")))?;
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for d in &mut c.datasets {
            resolve(&mut d.path);
            if let Some(m) = &mut d.masks {
                resolve(m);
            }
            if let Some(r) = &mut d.image_root {
                resolve(r);
            }
        }
        for m in &mut c.models {
            for g in m.graphs.values_mut() {
                resolve(g);
            }
            if let Some(t) = m.tensorrt.take() {
                m.tensorrt = Some(t.resolved(base));
            }
            for p in [&mut m.model, &mut m.judge, &mut m.replay]
                .into_iter()
                .flatten()
            {
                resolve(p);
            }
        }
        if c.levels.is_empty() {
            c.levels = c.profile.default_levels();
        }
        c.levels.sort_unstable();
        c.levels.dedup();
        Ok(c)
    }

    /// The SSIM variant of the run.
    pub fn variant(&self) -> SsimVariant {
        self.ssim_variant.unwrap_or(self.profile.ssim_variant())
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::from_toml(&text, base, &path.display().to_string())
    }

    /// Static checks that need no file access: names, levels, modalities, readers, perturbation
    /// selections, duplicate models. Every problem is collected.
    pub fn check_static(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.datasets.is_empty() {
            errs.push("no [[datasets]]: the run has nothing to evaluate".into());
        }
        if self.models.is_empty() {
            errs.push("no [[models]]: the run has nothing to evaluate".into());
        }
        for &l in &self.levels {
            if !(1..=5).contains(&l) {
                errs.push(format!("levels: {l} is not a severity level (1-5)"));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for d in &self.datasets {
            if !names.insert(d.name.clone()) {
                errs.push(format!("dataset '{}': defined twice", d.name));
            }
            if !is_reader(&d.reader) {
                errs.push(format!(
                    "dataset '{}': unknown reader '{}'; expected one of {}",
                    d.name,
                    d.reader,
                    readers().join(", ")
                ));
            }
            match d.modality() {
                Ok(m) => {
                    if let Err(e) = self.selection(d, m) {
                        errs.push(format!("dataset '{}': perturbations: {e}", d.name));
                    }
                }
                Err(e) => errs.push(format!("dataset '{}': {e}", d.name)),
            }
            if !self.models.iter().any(|m| m.task == reader_task(&d.reader)) {
                errs.push(format!(
                    "dataset '{}': no [[models]] entry has task '{}', the task its reader '{}' feeds",
                    d.name,
                    reader_task(&d.reader),
                    d.reader
                ));
            }
            if d.limit == Some(0) {
                errs.push(format!("dataset '{}': limit = 0 selects no sample", d.name));
            }
        }
        let mut models = std::collections::BTreeSet::new();
        for m in &self.models {
            if !models.insert((m.name.clone(), m.strategy.clone(), m.task.clone())) {
                errs.push(format!(
                    "model '{}' strategy '{}' task '{}': defined twice",
                    m.name, m.strategy, m.task
                ));
            }
            if !TASKS.contains(&m.task.as_str()) {
                errs.push(format!(
                    "model '{}': unknown task '{}'; expected one of {}",
                    m.name,
                    m.task,
                    TASKS.join(", ")
                ));
            } else if m.task == "segmentation" {
                if m.preset.is_empty() && m.model.is_none() {
                    errs.push(format!("model '{}': a segmentation model needs `preset = \"...\"` (or `model = \"SPEC.toml\"`)", m.name));
                }
                if m.judge.is_some() {
                    errs.push(format!("model '{}': `judge` is for VQA models", m.name));
                }
            } else {
                if m.model.is_none() {
                    errs.push(format!("model '{}': task '{}' needs `model = \"MODEL.toml\"` (the endpoint, docs/vlm.md)", m.name, m.task));
                }
                if !m.preset.is_empty() || !m.graphs.is_empty() {
                    errs.push(format!(
                        "model '{}': `preset` and `graphs` are for segmentation models",
                        m.name
                    ));
                }
                if m.replay.is_some() || m.jitter != 0 {
                    errs.push(format!(
                        "model '{}': `replay` and `jitter` are for segmentation models",
                        m.name
                    ));
                }
                if m.judge.is_some() && m.task != "vqa" {
                    errs.push(format!("model '{}': `judge` applies to vqa only", m.name));
                }
            }
        }
        if let Err(e) = check_device(&self.device) {
            errs.push(e);
        }
        if self.calibration_images == 0 {
            errs.push(
                "calibration_images = 0: per-dataset calibration needs at least one sample".into(),
            );
        }
        if self.max_evals_per_band == 0 {
            errs.push(
                "max_evals_per_band = 0: the search needs at least one SSIM evaluation per band"
                    .into(),
            );
        }
        errs
    }

    /// The perturbations of a dataset, in registry order. Without a modality (VLM readers), the
    /// medical perturbations of every modality are candidates; each sample gets those of its own.
    pub fn selection(
        &self,
        d: &DatasetConfig,
        modality: Option<Modality>,
    ) -> Result<Vec<&'static dyn perturb::Perturbation>> {
        let spec = d
            .perturbations
            .as_ref()
            .unwrap_or(&self.perturbations)
            .join(",");
        if spec.trim() == "none" {
            return Ok(Vec::new());
        }
        perturb::select(&spec, modality)
    }

    /// Stable hash of everything that decides the records (paths included): a changed config is
    /// refused on resume unless `--restart`.
    pub fn hash(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        format!("{:016x}", super::units::fnv1a64(canonical.as_bytes()))
    }
}
