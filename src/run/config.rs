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

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    pub name: String,
    pub path: PathBuf,
    #[serde(default = "default_reader")]
    pub reader: String,
    pub modality: String,
    /// Evaluate only the first `limit` samples (sorted by id).
    pub limit: Option<usize>,
    /// Masks folder for the `generic` reader when `path` holds images only.
    pub masks: Option<PathBuf>,
    /// Overrides the run's perturbation selection for this dataset.
    pub perturbations: Option<Vec<String>>,
}

fn default_reader() -> String {
    "generic".into()
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub name: String,
    /// Fine-tuning strategy label (Table 1 rows): full, encoder-only, decoder-only,
    /// decoder+prompt, lora, adapter, or any other label.
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// How the graphs are driven (see [`super::eval::load_segmenter`]).
    pub preset: String,
    /// The model's graph files by role (`encoder`, `decoder` for SAM presets; `model` for a
    /// single graph). Relative to the config file.
    #[serde(default)]
    pub graphs: BTreeMap<String, PathBuf>,
    /// Task the model is evaluated on.
    #[serde(default = "default_task")]
    pub task: String,
}

fn default_strategy() -> String {
    "full".into()
}
fn default_task() -> String {
    "segmentation".into()
}

/// Dataset readers known to [`super::data::open`].
pub const READERS: [&str; 7] = ["generic", "manifest", "isic2016", "kvasir", "brain-tumor", "smdg-disc", "smdg-cup"];

impl Config {
    /// Parse TOML text; relative paths are resolved against `base` (the config file's folder).
    pub fn from_toml(text: &str, base: &Path, what: &str) -> Result<Config> {
        let mut c: Config = toml::from_str(text).map_err(|e| Error::invalid(what.to_string(), format!("{e}")))?;
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
        }
        for m in &mut c.models {
            for g in m.graphs.values_mut() {
                resolve(g);
            }
        }
        if c.levels.is_empty() {
            c.levels = c.profile.default_levels();
        }
        c.levels.sort_unstable();
        c.levels.dedup();
        Ok(c)
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
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
            if !READERS.contains(&d.reader.as_str()) {
                errs.push(format!("dataset '{}': unknown reader '{}'; expected one of {}", d.name, d.reader, READERS.join(", ")));
            }
            match Modality::parse(&d.modality) {
                Ok(m) => {
                    if let Err(e) = self.selection(d, m) {
                        errs.push(format!("dataset '{}': perturbations: {e}", d.name));
                    }
                }
                Err(e) => errs.push(format!("dataset '{}': {e}", d.name)),
            }
            if d.limit == Some(0) {
                errs.push(format!("dataset '{}': limit = 0 selects no sample", d.name));
            }
        }
        let mut models = std::collections::BTreeSet::new();
        for m in &self.models {
            if !models.insert((m.name.clone(), m.strategy.clone())) {
                errs.push(format!("model '{}' strategy '{}': defined twice", m.name, m.strategy));
            }
            if m.task != "segmentation" {
                errs.push(format!("model '{}': task '{}' is not supported by `run` yet (segmentation only)", m.name, m.task));
            }
        }
        errs
    }

    /// The perturbations of a dataset, in registry order.
    pub fn selection(&self, d: &DatasetConfig, modality: Modality) -> Result<Vec<&'static dyn perturb::Perturbation>> {
        let spec = d.perturbations.as_ref().unwrap_or(&self.perturbations).join(",");
        perturb::select(&spec, Some(modality))
    }

    /// Stable hash of everything that decides the records (paths included): a changed config is
    /// refused on resume unless `--restart`.
    pub fn hash(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        format!("{:016x}", super::units::fnv1a64(canonical.as_bytes()))
    }
}
