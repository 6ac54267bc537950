//! Writing corrupted datasets: the `perturb` front-end of the pipeline (crate::run::exec), also
//! behind `demo`.
//!
//! `perturb` is a description of what to run, not a loop of its own: its inputs become datasets
//! (one per modality group), its one "model" is [`Writer`] (task `write`), and the pipeline plans
//! the units (sample, perturbation, level), chooses strengths with the one strength policy,
//! produces each level, hands it to the writer, records every unit in `OUT/records.jsonl`
//! (docs/records.md) and resumes from it. The writer puts
//! `OUT/<perturbation>/L<level>/<relative path>` in the source's format and bit depth; the
//! manifest (`OUT/manifest.jsonl`, spec/cli.md) is then derived from the records. Contracts:
//! - the record's `ssim` is re-measured on the written file (encoded, decoded) against the source
//!   as read, with the chosen variant, so anyone can recompute it; `in_band` is judged on it;
//! - a level that is not in band gets a record with `in_band: false`, a `reason`, and no output
//!   file (unless `write_out_of_band`);
//! - a bad input (unreadable, too small, mask of the wrong size) is reported with its path and
//!   the run goes on; nothing already written is lost (outputs are written atomically, records
//!   are appended and fsynced as units finish);
//! - a rerun of the same command resumes: a unit whose record has no error, whose source files
//!   are unchanged (content hash) and whose outputs are still on disk is kept; a different
//!   configuration in the same OUT is refused unless `restart`;
//! - output bytes and the manifest do not depend on thread count: the manifest is sorted by
//!   (source, registry order, level) before it is written.
//! - with the CUDA engine (`--device cuda`, per-image mode) the pipeline runs the strength search
//!   of every perturbation with an on-GPU search on the GPU, a batch of images at a time
//!   (crate::calibrate::gpu); applying, writing and re-measuring stay as above, and a GPU result
//!   the CPU does not reproduce is calibrated again on the CPU with a warning.

use crate::calibrate::{self, Verdict};
use crate::error::{Error, Result};
use crate::io::{self, InputItem};
use crate::perturb::{self, Category, Modality, Perturbation};
use crate::run::config::{self, Calibration, Config, DatasetConfig, ModelConfig};
use crate::run::data::Sample;
use crate::run::eval::{Measured, Remeasured, UnitEvaluator, UnitInput};
use crate::run::exec::{self, Plan, PlannedDataset, RunOptions};
use crate::run::records::{self, Record as UnitRecord};
use crate::run::units::{Shard, Unit};
use crate::ssim::SsimVariant;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalibrationMode {
    PerImage,
    PerDataset,
}

#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub out: PathBuf,
    /// Perturbation selection (`all`, `base`, `medical`, ids), resolved per image modality.
    pub perturbations: String,
    /// Overrides the per-item modality of a manifest.
    pub modality: Option<Modality>,
    pub levels: Vec<u8>,
    pub seed: u64,
    pub variant: SsimVariant,
    pub calibration: CalibrationMode,
    /// Per-dataset mode: images used to calibrate (the first N of each modality group).
    pub calibration_images: usize,
    /// Per-dataset mode: cache file (default OUT/strengths.json).
    pub strength_cache: Option<PathBuf>,
    pub write_out_of_band: bool,
    pub max_evals_per_band: u32,
    /// Discard the records of an earlier run of a different configuration in `out`.
    pub restart: bool,
}

/// One manifest line.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub source: String,
    pub output: Option<String>,
    pub perturbation: String,
    pub category: Category,
    pub modality: Option<Modality>,
    pub level: u8,
    pub strength: f32,
    pub strength_name: String,
    pub ssim: f64,
    pub target: [f64; 2],
    pub in_band: bool,
    /// in_band | unreachable_above | unreachable_below | skipped (crate::calibrate::Verdict).
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub seed: u64,
    pub ssim_variant: SsimVariant,
    pub image_id: u32,
    /// FNV-1a 64 of the source's bytes (and its mask's): a rerun keeps this unit only while the
    /// files are unchanged.
    pub content: String,
    pub calibration: String,
    pub evaluations: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_output: Option<String>,
    /// The unit's id in OUT/records.jsonl.
    pub unit: String,
    /// The source frame (slice) of a multi-frame file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u32>,
}

/// An input that could not be processed (whole image, or one perturbation of it).
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub source: String,
    pub perturbation: Option<&'static str>,
    pub error: String,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub records: Vec<Record>,
    pub failures: Vec<Failure>,
    pub warnings: Vec<String>,
    /// (image, perturbation, level) units of the run.
    pub units: usize,
    /// Of those, the units an earlier run finished in OUT (unchanged sources, outputs on disk)
    /// that were kept as they were.
    pub resumed: usize,
    /// Finished units produced again because their source files changed.
    pub changed: usize,
}

impl Summary {
    pub fn written(&self) -> usize {
        self.records.iter().filter(|r| r.output.is_some()).count()
    }
    pub fn in_band(&self) -> usize {
        self.records.iter().filter(|r| r.in_band).count()
    }
}

/// Progress callback: (done, total) units of (image, perturbation, level) pending in this run.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

fn calibration_name(mode: CalibrationMode) -> &'static str {
    match mode {
        CalibrationMode::PerImage => "per-image",
        CalibrationMode::PerDataset => "per-dataset",
    }
}

/// The `write` task: each produced level encoded in its source's format and bit depth, written
/// under `out`, decoded again and measured (module docs).
pub struct Writer {
    pub out: PathBuf,
    pub write_out_of_band: bool,
}

impl Writer {
    fn write(&self, input: &UnitInput<'_>) -> Result<Measured> {
        let sample = input.sample;
        let item = input.item;
        let p = input.perturbation.ok_or_else(|| {
            Error::other(
                format!("sample {}", sample.id),
                "the clean image is not written",
            )
        })?;
        let info = p.info();
        let mut m = Measured::default();
        m.fields
            .insert("source".into(), sample.image.display().to_string().into());
        m.fields
            .insert("evaluations".into(), item.evaluations.into());
        let verdict = item.verdict.unwrap_or(Verdict::Skipped);
        if !(verdict.in_band() || self.write_out_of_band) {
            return Ok(m);
        }
        let missing = |what: &str| {
            Error::other(
                format!("{} on {}", info.id, sample.id),
                format!("the pipeline handed no {what}"),
            )
        };
        let reference = input
            .source
            .reference
            .as_ref()
            .ok_or_else(|| missing("SSIM reference"))?;
        let format = input
            .source
            .format
            .ok_or_else(|| missing("source format"))?;
        let level_dir = Path::new(info.id).join(format!("L{}", item.level));
        let rel_out = level_dir.join(&sample.relative);
        let out_path = self.out.join(&rel_out);
        // Re-measure on the written file exactly as a reader will see it (lossy formats move the
        // SSIM): the record's ssim and verdict are those of the file.
        let medical = input.source.medical.as_ref();
        let measured = match medical {
            // The stored integers are what a reader gets back; the file records the SSIM.
            Some(m) => Some(reference.ssim(&m.as_written(&item.image))?),
            None => None,
        };
        let (bytes, measured) = match (medical, measured) {
            (Some(io::Medical::Dicom { source, frame }), Some(measured)) => {
                let how = io::dicom::Derivation {
                    perturbation: info.id,
                    level: item.level,
                    strength: item.strength.unwrap_or(f32::NAN),
                    ssim: measured,
                    frame: *frame,
                    source: &io::rel_string(&sample.relative),
                };
                (io::dicom::derive(source, &item.image, &how)?, measured)
            }
            (Some(io::Medical::Nifti { source, slice, gz }), Some(measured)) => {
                let desc = format!(
                    "medfm-robust {} L{} s={} SSIM {:.4}",
                    info.id,
                    item.level,
                    item.strength.unwrap_or(f32::NAN),
                    measured
                );
                let bytes = match slice {
                    Some(k) => io::nifti::write_slice(source, &item.image, *k, &desc, *gz)?,
                    None => io::nifti::write_volume(source, &item.image, &desc, *gz)?,
                };
                (bytes, measured)
            }
            _ => {
                let bytes = io::encode_image(&item.image, input.source.depth, format, &out_path)?;
                let back = io::decode_image(&bytes, &out_path)?;
                (bytes, reference.ssim(&back.image)?)
            }
        };
        io::write_atomic(&out_path, &bytes)?;
        let band = calibrate::band(item.level)?;
        let (verdict, reason) = if verdict.in_band() && !band.contains(measured) {
            (
                Verdict::Skipped,
                Some(format!(
                    "writing ({format:?}) moved SSIM to {measured:.4}, outside the band"
                )),
            )
        } else {
            (verdict, item.reason.clone())
        };
        m.remeasured = Some(Remeasured {
            ssim: measured,
            verdict,
            reason,
        });
        m.fields
            .insert("output".into(), io::rel_string(&rel_out).into());
        if info.geometric {
            if let Some(mask) = input.truth() {
                let rel_mask = level_dir
                    .join("_masks")
                    .join(&sample.relative)
                    .with_extension("png");
                io::write_mask(&self.out.join(&rel_mask), mask)?;
                m.fields
                    .insert("mask_output".into(), io::rel_string(&rel_mask).into());
            }
        }
        Ok(m)
    }
}

impl UnitEvaluator for Writer {
    fn task(&self) -> &'static str {
        config::WRITE
    }
    fn preset(&self) -> String {
        "write".into()
    }
    fn evaluate(&mut self, input: &UnitInput<'_>) -> Result<Measured> {
        self.write(input)
    }
    /// Encoding, writing and re-measuring are independent per unit: in parallel.
    fn evaluate_batch(&mut self, inputs: &[UnitInput<'_>]) -> Vec<Result<Measured>> {
        let w = &*self;
        inputs.par_iter().map(|i| w.write(i)).collect()
    }
    /// A written unit stands while the files it names are on disk. (Which levels are written
    /// is part of the run's configuration, the writer's `strategy`, so a record of the other
    /// choice is never this run's.)
    fn keeps(&self, r: &UnitRecord) -> bool {
        ["output", "mask_output"]
            .iter()
            .all(|k| match r.fields.get(*k).and_then(|v| v.as_str()) {
                None => true,
                Some(rel) => io::rel_path(rel).is_some_and(|rel| self.out.join(rel).is_file()),
            })
    }
}

/// Run the whole generation. Writes outputs and `OUT/manifest.jsonl`; returns the summary (the
/// caller prints it and decides the exit code).
pub fn generate(
    items: &[InputItem],
    opts: &GenerateOptions,
    progress: Progress<'_>,
) -> Result<Summary> {
    generate_on(items, opts, &crate::backend::Engine::Cpu, progress)
}

/// The inputs as the pipeline's plan: one dataset per modality group (in order of first
/// appearance), samples in input order, and the items whose selection failed.
struct Described {
    plan: Plan,
    /// (dataset, sample) -> position in the input list (the manifest's order).
    position: BTreeMap<(usize, usize), usize>,
    failures: Vec<Failure>,
}

fn describe(items: &[InputItem], opts: &GenerateOptions) -> Described {
    let mut groups: Vec<(Option<Modality>, Vec<usize>)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let m = opts.modality.or(it.modality);
        match groups.iter_mut().find(|(g, _)| *g == m) {
            Some((_, v)) => v.push(i),
            None => groups.push((m, vec![i])),
        }
    }
    let mut failures = Vec::new();
    let mut datasets = Vec::new();
    let mut configs = Vec::new();
    let mut position = BTreeMap::new();
    for (modality, members) in groups {
        let perturbations = match perturb::select(&opts.perturbations, modality) {
            Ok(p) => p,
            Err(e) => {
                for &i in &members {
                    failures.push(Failure {
                        source: items[i].path.display().to_string(),
                        perturbation: None,
                        error: e.to_string(),
                    });
                }
                continue;
            }
        };
        let name = modality.map_or("any", |m| m.as_str());
        let root = input_root(&items[members[0]]);
        let cfg = DatasetConfig {
            modality: modality.map(|m| m.as_str().to_string()),
            ..DatasetConfig::new(name, root, "perturb")
        };
        let di = datasets.len();
        let samples = members
            .iter()
            .enumerate()
            .map(|(si, &i)| {
                position.insert((di, si), i);
                let it = &items[i];
                Sample {
                    id: io::rel_string(&it.relative),
                    image: it.path.clone(),
                    mask: it.mask.clone(),
                    modality,
                    vlm: None,
                    relative: it.relative.clone(),
                    frame: it.frame,
                    volume: it.volume,
                }
            })
            .collect();
        configs.push(cfg.clone());
        datasets.push(PlannedDataset {
            cfg,
            task: config::WRITE,
            per_sample: false,
            modality,
            samples,
            perturbations,
        });
    }
    let mut levels = opts.levels.clone();
    levels.sort_unstable();
    levels.dedup();
    // Whether out-of-band levels are written decides the records: it is the writer's strategy,
    // so it is in the unit ids and the config hash like any other option.
    let models = vec![ModelConfig {
        strategy: if opts.write_out_of_band {
            "all-levels"
        } else {
            "in-band"
        }
        .into(),
        ..ModelConfig::new("perturb", config::WRITE)
    }];
    let config = Config {
        seed: opts.seed,
        levels,
        perturbations: vec![opts.perturbations.clone()],
        max_evals_per_band: opts.max_evals_per_band,
        calibration: match opts.calibration {
            CalibrationMode::PerImage => Calibration::PerImage,
            CalibrationMode::PerDataset => Calibration::PerDataset,
        },
        calibration_images: opts.calibration_images.max(1),
        ssim_variant: Some(opts.variant),
        ..Config::new("perturb", configs, models.clone())
    };
    Described {
        plan: Plan {
            config,
            datasets,
            models,
        },
        position,
        failures,
    }
}

/// The folder an item's relative path is relative to (the input folder, or a manifest's).
fn input_root(it: &InputItem) -> PathBuf {
    let mut root = it.path.clone();
    for _ in it.relative.components() {
        root.pop();
    }
    root
}

/// [`generate`] on a selected engine (module docs: what runs on the GPU).
pub fn generate_on(
    items: &[InputItem],
    opts: &GenerateOptions,
    engine: &crate::backend::Engine,
    progress: Progress<'_>,
) -> Result<Summary> {
    let d = describe(items, opts);
    let mut evaluators: Vec<Box<dyn UnitEvaluator>> = vec![Box::new(Writer {
        out: opts.out.clone(),
        write_out_of_band: opts.write_out_of_band,
    })];
    let run = RunOptions {
        out: opts.out.clone(),
        shard: Shard::ALL,
        restart: opts.restart,
        batch: 8 * rayon::current_num_threads().max(1),
        strength_cache: opts.strength_cache.clone(),
    };
    let cb = |done: u64, total: u64| progress(done as usize, total as usize);
    let ran = exec::execute_on(&d.plan, &mut evaluators, &run, engine, &cb)?;
    let mut summary = Summary {
        failures: d.failures,
        warnings: ran.warnings,
        units: ran.units_total,
        resumed: ran.already_done,
        changed: ran.changed,
        ..Summary::default()
    };
    let latest = records::load_dir(&opts.out)?;
    // (source, perturbation) -> errors of its units, and how many groups each source has
    let mut errors: BTreeMap<(usize, &'static str), BTreeSet<String>> = BTreeMap::new();
    let mut groups_of: BTreeMap<usize, usize> = BTreeMap::new();
    let mut keyed: Vec<((usize, usize, u8), Record)> = Vec::new();
    for g in d.plan.groups() {
        let ds = &d.plan.datasets[g.dataset];
        let sample = &ds.samples[g.sample];
        let Some(pi) = g.perturbation else { continue };
        let p = ds.perturbations[pi];
        let pos = d.position[&(g.dataset, g.sample)];
        *groups_of.entry(pos).or_default() += 1;
        let registry = perturb::all().iter().position(|q| q.id() == p.id());
        for (_, unit) in d.plan.units_of(&g) {
            let Some(r) = latest.get(&unit.id()) else {
                continue;
            };
            match &r.error {
                Some(e) => {
                    errors.entry((pos, p.id())).or_default().insert(e.clone());
                }
                None => keyed.push((
                    (pos, registry.unwrap_or(usize::MAX), unit.level),
                    manifest_record(r, &unit, sample, p, opts),
                )),
            }
        }
    }
    keyed.sort_by_key(|a| a.0);
    summary.records = keyed.into_iter().map(|(_, r)| r).collect();
    summary.failures.extend(failures(items, errors, &groups_of));
    let mut text = String::new();
    for r in &summary.records {
        text.push_str(
            &serde_json::to_string(r).map_err(|e| Error::other("manifest", e.to_string()))?,
        );
        text.push('\n');
    }
    io::write_atomic(&opts.out.join("manifest.jsonl"), text.as_bytes())?;
    let errors_file = opts.out.join("errors.jsonl");
    if summary.failures.is_empty() {
        let _ = std::fs::remove_file(&errors_file);
    } else {
        let mut t = String::new();
        for f in &summary.failures {
            t.push_str(
                &serde_json::to_string(f).map_err(|e| Error::other("errors", e.to_string()))?,
            );
            t.push('\n');
        }
        io::write_atomic(&errors_file, t.as_bytes())?;
    }
    Ok(summary)
}

/// The failures of the run, one per (source, perturbation, message); a source whose every
/// perturbation failed with the same message (it could not be read) is one failure naming no
/// perturbation.
fn failures(
    items: &[InputItem],
    errors: BTreeMap<(usize, &'static str), BTreeSet<String>>,
    groups_of: &BTreeMap<usize, usize>,
) -> Vec<Failure> {
    let mut by_source: BTreeMap<usize, Vec<(&'static str, BTreeSet<String>)>> = BTreeMap::new();
    for ((pos, p), msgs) in errors {
        by_source.entry(pos).or_default().push((p, msgs));
    }
    let mut out = Vec::new();
    for (pos, list) in by_source {
        let source = items[pos].path.display().to_string();
        let first = &list[0].1;
        let whole = list.len() == groups_of[&pos]
            && first.len() == 1
            && list.iter().all(|(_, m)| m == first);
        if whole {
            out.push(Failure {
                source,
                perturbation: None,
                error: first.iter().next().cloned().unwrap_or_default(),
            });
            continue;
        }
        for (p, msgs) in list {
            for error in msgs {
                out.push(Failure {
                    source: source.clone(),
                    perturbation: Some(p),
                    error,
                });
            }
        }
    }
    out
}

/// A `write` unit's record as a manifest line.
fn manifest_record(
    r: &UnitRecord,
    unit: &Unit,
    sample: &Sample,
    p: &'static dyn Perturbation,
    opts: &GenerateOptions,
) -> Record {
    let info = p.info();
    let field = |k: &str| r.fields.get(k).and_then(|v| v.as_str()).map(String::from);
    let target = calibrate::band(unit.level).map_or([0.0, 0.0], |b| [b.lo, b.hi]);
    Record {
        source: sample.image.display().to_string(),
        output: field("output"),
        perturbation: info.id.to_string(),
        category: info.category,
        modality: info.modality.or(sample.modality),
        level: unit.level,
        strength: r.strength.unwrap_or(f32::NAN),
        strength_name: info.strength_name.to_string(),
        ssim: r.ssim.unwrap_or(f64::NAN),
        target,
        in_band: r.in_band == Some(true),
        verdict: r.verdict.unwrap_or(Verdict::Skipped),
        reason: r.reason.clone(),
        seed: opts.seed,
        ssim_variant: opts.variant,
        image_id: io::image_id(&sample.relative),
        content: r.content.clone().unwrap_or_default(),
        calibration: calibration_name(opts.calibration).to_string(),
        evaluations: r
            .fields
            .get("evaluations")
            .and_then(|v| v.as_u64())
            .unwrap_or(0) as u32,
        mask_output: field("mask_output"),
        unit: r.unit.clone(),
        frame: sample.frame,
    }
}
