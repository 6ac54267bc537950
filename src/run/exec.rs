//! Executing a benchmark: validation pass, plan, resume, the group loop.
//!
//! Order of work: (1) [`validate`] checks the whole config, lists every dataset and loads every
//! model, collecting ALL problems into one error before anything is written; (2) `run.json` is
//! compared with the config (a different hash is refused unless `restart`); (3) finished units are
//! read from the records files; (4) in the compat profile the first-image parameters are searched
//! (cached in `DIR/compat_params.json`); (5) pending groups are processed in batches: the
//! perturbation stage (load, squash in compat, calibrate, perturb) runs in parallel, then every
//! pending unit of the batch is evaluated in a fixed order and appended to the records file; on
//! the CPU engine the next batch's perturbation stage overlaps this evaluation.
//!
//! Determinism: a unit's record depends only on the config and its own fields (calibration uses
//! the run's full level list and the (seed, sample, perturbation) RNG), never on which units ran
//! before, on sharding, on thread count or on interruptions.

use super::config::{Calibration, Config, DatasetConfig, ModelConfig, Profile};
use super::data::{self, Sample};
use super::eval::{self, UnitEvaluator, UnitInput};
use super::meta::RunMeta;
use super::records::{self, Record, RecordsFile};
use super::units::{Shard, Unit, CLEAN};
use crate::backend::Engine;
use crate::calibrate::compat::{self, CompatParam};
use crate::calibrate::dataset::{CachedStrength, StrengthCache};
use crate::calibrate::policy::{self, Policy};
use crate::calibrate::{self, SearchOptions, Verdict};
use crate::error::{Error, Result};
use crate::image::{BitDepth, Image, Mask};
use crate::perturb::{Ctx, Modality, Perturbation};
use crate::ssim::SsimReference;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A dataset ready to run.
pub struct PlannedDataset {
    pub cfg: DatasetConfig,
    /// The task its units do: its reader's (config::reader_task), or `write` for perturb.
    pub task: &'static str,
    /// None for VLM datasets without a `modality`: each sample gets its own modality's set.
    pub modality: Option<Modality>,
    /// Medical perturbations go only to the samples of their own modality (a dataset of mixed
    /// modalities: `run` datasets without a `modality`). False: the selection was resolved for
    /// the dataset's one modality (or, in `perturb`, for inputs without one) and applies to every
    /// sample.
    pub per_sample: bool,
    pub samples: Vec<Sample>,
    pub perturbations: Vec<&'static dyn Perturbation>,
}

impl PlannedDataset {
    /// The task its reader feeds.
    pub fn task(&self) -> &'static str {
        self.task
    }
    /// Whether perturbation `p` applies to sample `s`: base perturbations to all; medical ones,
    /// in a dataset of one modality, as selected for it (`all` and `medical` select that
    /// modality's, an id names one deliberately); in a dataset of mixed modalities
    /// ([`PlannedDataset::per_sample`]), to the samples of their own modality.
    pub fn applies(&self, p: &dyn Perturbation, s: &Sample) -> bool {
        match p.info().modality {
            None => true,
            Some(pm) => !self.per_sample || s.modality == Some(pm),
        }
    }
}

/// The validated benchmark.
pub struct Plan {
    pub config: Config,
    pub datasets: Vec<PlannedDataset>,
    pub models: Vec<ModelConfig>,
}

/// One (dataset, sample, perturbation) with the units it carries.
#[derive(Clone, Debug)]
pub struct Group {
    pub dataset: usize,
    pub sample: usize,
    /// None = clean.
    pub perturbation: Option<usize>,
}

/// List the datasets of `config` (problems collected into `errs`).
pub fn plan_datasets(config: &Config, errs: &mut Vec<String>) -> Vec<PlannedDataset> {
    let mut datasets = Vec::new();
    for d in &config.datasets {
        // Listed even when its modality or selection is bad (already reported by
        // check_static), so a missing path is reported in the same pass.
        let samples = data::open(d).map_err(|e| errs.push(e.to_string()));
        let Ok(modality) = d.modality() else { continue };
        let Ok(perturbations) = config.selection(d, modality) else {
            continue;
        };
        if let Ok(samples) = samples {
            datasets.push(PlannedDataset {
                task: d.task(),
                cfg: d.clone(),
                per_sample: modality.is_none(),
                modality,
                samples,
                perturbations,
            });
        }
    }
    datasets
}

/// Validation pass: everything that can be checked before work starts, all problems at once.
/// Returns the plan and one loaded evaluator per model (VLM response caches under `out`).
pub fn validate(config: &Config, out: &Path) -> Result<(Plan, Vec<Box<dyn UnitEvaluator>>)> {
    validate_for(config, out, &config.device)
}

/// [`validate`] with the segmentation models on ONNX Runtime provider `provider` (the resolved
/// `device`: src/run/device.rs).
pub fn validate_for(
    config: &Config,
    out: &Path,
    provider: &str,
) -> Result<(Plan, Vec<Box<dyn UnitEvaluator>>)> {
    let mut errs = config.check_static();
    let datasets = plan_datasets(config, &mut errs);
    // Every model is loaded (or, for VLM endpoints, its MODEL.toml checked) in this pass so all
    // problems are reported together; VLM response caches are opened in `out` only once the
    // whole config is valid, so a failed validation writes nothing.
    let mut loaded: Vec<Option<Box<dyn UnitEvaluator>>> = Vec::new();
    for m in &config.models {
        let r = if m.task == "segmentation" {
            eval::load_evaluator(m, provider, config.profile, out).map(Some)
        } else {
            super::vlm_eval::check(m).map(|_| None)
        };
        match r {
            Ok(e) => loaded.push(e),
            Err(e) => errs.push(e.to_string()),
        }
    }
    let mut evaluators = Vec::new();
    if errs.is_empty() {
        for (m, e) in config.models.iter().zip(loaded) {
            match e {
                Some(e) => evaluators.push(e),
                None => match eval::load_evaluator(m, provider, config.profile, out) {
                    Ok(e) => evaluators.push(e),
                    Err(e) => errs.push(e.to_string()),
                },
            }
        }
    }
    if !errs.is_empty() {
        return Err(Error::other(
            format!("config '{}'", config.name),
            format!(
                "{} problem(s), nothing was run:\n  - {}",
                errs.len(),
                errs.join("\n  - ")
            ),
        ));
    }
    Ok((
        Plan {
            config: config.clone(),
            datasets,
            models: config.models.clone(),
        },
        evaluators,
    ))
}

impl Plan {
    /// Every group of the run (all shards), in a fixed order: datasets, samples, clean then the
    /// perturbations in registry order. Groups no model evaluates are left out.
    pub fn groups(&self) -> Vec<Group> {
        let mut v = Vec::new();
        for (di, d) in self.datasets.iter().enumerate() {
            if !self.models.iter().any(|m| m.task == d.task()) {
                continue;
            }
            let clean = self
                .models
                .iter()
                .any(|m| m.task == d.task() && evaluates_clean(&m.task));
            for (si, s) in d.samples.iter().enumerate() {
                if clean {
                    v.push(Group {
                        dataset: di,
                        sample: si,
                        perturbation: None,
                    });
                }
                for (pi, p) in d.perturbations.iter().enumerate() {
                    if d.applies(*p, s) {
                        v.push(Group {
                            dataset: di,
                            sample: si,
                            perturbation: Some(pi),
                        });
                    }
                }
            }
        }
        v
    }

    pub fn perturbation_name(&self, g: &Group) -> &'static str {
        g.perturbation
            .map_or(CLEAN, |pi| self.datasets[g.dataset].perturbations[pi].id())
    }

    pub fn in_shard(&self, g: &Group, shard: Shard) -> bool {
        let d = &self.datasets[g.dataset];
        shard.contains(
            &d.cfg.name,
            &d.samples[g.sample].id,
            self.perturbation_name(g),
        )
    }

    fn levels_of(&self, g: &Group) -> Vec<u8> {
        if g.perturbation.is_none() {
            vec![0]
        } else {
            self.config.levels.clone()
        }
    }

    /// The units of a group: the models of the dataset's task in config order, levels ascending.
    pub fn units_of(&self, g: &Group) -> Vec<(usize, Unit)> {
        let d = &self.datasets[g.dataset];
        let mut v = Vec::new();
        for (mi, m) in self
            .models
            .iter()
            .enumerate()
            .filter(|(_, m)| m.task == d.task())
            .filter(|(_, m)| g.perturbation.is_some() || evaluates_clean(&m.task))
        {
            for &level in &self.levels_of(g) {
                v.push((
                    mi,
                    Unit {
                        model: m.name.clone(),
                        strategy: m.strategy.clone(),
                        dataset: d.cfg.name.clone(),
                        task: m.task.clone(),
                        perturbation: self.perturbation_name(g).to_string(),
                        level,
                        sample: d.samples[g.sample].id.clone(),
                    },
                ));
            }
        }
        v
    }

    /// Every unit id of the run (all shards).
    pub fn all_unit_ids(&self) -> BTreeSet<String> {
        self.groups()
            .iter()
            .flat_map(|g| self.units_of(g))
            .map(|(_, u)| u.id())
            .collect()
    }
}

/// Whether units of `task` include the clean image (every scoring task does; writing a
/// corrupted set does not copy the clean one).
fn evaluates_clean(task: &str) -> bool {
    task != super::config::WRITE
}

/// How `execute` is called.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub out: PathBuf,
    pub shard: Shard,
    pub restart: bool,
    /// Groups processed per batch (the perturbation stage of a batch runs in parallel).
    pub batch: usize,
    /// Per-dataset calibration's strength table (default DIR/strengths.json).
    pub strength_cache: Option<PathBuf>,
}

/// What happened.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    pub units_total: usize,
    pub units_in_shard: usize,
    pub already_done: usize,
    pub ran: usize,
    pub failed: usize,
    /// Finished units rerun because their sample's files changed since their record.
    pub changed: usize,
    pub records_file: PathBuf,
    /// Notes that did not fail a unit (a reader's, a GPU result the CPU did not reproduce, a
    /// GPU stage that fell back to the CPU), each once.
    pub warnings: Vec<String>,
}

/// Progress events: (units done in this invocation, units pending at its start).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Check `run.json` against the config: write it when absent, refuse a different config unless
/// `restart` (which removes the records, run.json and cached compat parameters).
pub fn prepare_dir(config: &Config, out: &Path, restart: bool) -> Result<RunMeta> {
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let meta = RunMeta::new(config);
    match RunMeta::read(out)? {
        Some(old) if old.config_hash == meta.config_hash && !restart => return Ok(old),
        Some(old) if !restart => {
            return Err(Error::invalid(
                out.display().to_string(),
                format!(
                    "holds a run of a different config (hash {} there, {} now); rerun with --restart to discard its records and start over, or use another --out",
                    old.config_hash, meta.config_hash
                ),
            ))
        }
        Some(_) => {
            for f in records::records_files(out)? {
                std::fs::remove_file(&f).map_err(|source| Error::Io { path: f.clone(), source })?;
            }
            for f in [COMPAT_PARAMS, DATASET_STRENGTHS] {
                let _ = std::fs::remove_file(out.join(f));
            }
        }
        None => {}
    }
    meta.write(out)?;
    Ok(meta)
}

const COMPAT_PARAMS: &str = "compat_params.json";
const DATASET_STRENGTHS: &str = "strengths.json";

/// Units finished in `out` (latest record without error, over every records file, that its
/// task's evaluator still [keeps](UnitEvaluator::keeps): a writer whose file is gone does not),
/// with the content hash their record was made from.
pub fn finished_units(
    out: &Path,
    evaluators: &[Box<dyn UnitEvaluator>],
) -> Result<BTreeMap<String, Option<String>>> {
    Ok(records::load_dir(out)?
        .into_values()
        .filter(|r| r.ok())
        .filter(|r| evaluators.iter().all(|e| e.task() != r.task || e.keeps(r)))
        .map(|r| (r.unit, r.content))
        .collect())
}

/// An exclusive lock on an output folder, held while a process writes there (released when the
/// process ends, however it ends).
pub struct DirLock {
    _file: std::fs::File,
}

impl DirLock {
    /// Lock `out` (created if needed); a second process gets an error naming the holder's pid.
    pub fn acquire(out: &Path) -> Result<DirLock> {
        use std::io::{Read, Seek, Write};
        std::fs::create_dir_all(out).map_err(|source| Error::Io {
            path: out.to_path_buf(),
            source,
        })?;
        let path = out.join(".lock");
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(Error::invalid(
                    out.display().to_string(),
                    format!(
                        "is in use by another medfm-robust process (pid {}); wait for it to finish, or give this run another --out",
                        holder.trim()
                    ),
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(DirLock { _file: file })
    }
}

/// Content hash of a sample's files (image and mask bytes), 16 hex digits.
pub fn content_hash(s: &Sample) -> Result<String> {
    let grounding_mask = match s.vlm.as_deref().map(|i| &i.kind) {
        Some(crate::eval::vlm::tasks::ItemKind::Grounding {
            truth: crate::eval::vlm::tasks::GroundTruth::Mask(m),
            ..
        }) => Some(m.as_path()),
        _ => None,
    };
    crate::io::content_hash(
        std::iter::once(s.image.as_path())
            .chain(s.mask.as_deref())
            .chain(grounding_mask),
    )
}

/// Run (or resume) the benchmark, perturbing on the CPU.
pub fn execute(
    plan: &Plan,
    evaluators: &mut [Box<dyn UnitEvaluator>],
    opts: &RunOptions,
    progress: Progress<'_>,
) -> Result<RunSummary> {
    execute_on(plan, evaluators, opts, &Engine::Cpu, progress)
}

/// [`execute`] with the strength search of each batch's per-image groups on `engine` where it
/// has an on-GPU search (crate::calibrate::gpu); applying, measuring and evaluating stay on the
/// CPU, and every GPU outcome is re-measured by the CPU ([`policy::produce_from_outcomes`]).
pub fn execute_on(
    plan: &Plan,
    evaluators: &mut [Box<dyn UnitEvaluator>],
    opts: &RunOptions,
    engine: &Engine,
    progress: Progress<'_>,
) -> Result<RunSummary> {
    let _lock = DirLock::acquire(&opts.out)?;
    prepare_dir(&plan.config, &opts.out, opts.restart)?;
    let done = finished_units(&opts.out, evaluators)?;
    let groups = plan.groups();
    let mut summary = RunSummary {
        records_file: opts.out.join(opts.shard.records_file()),
        ..Default::default()
    };
    // Content hashes of the samples this shard touches (an unreadable file: None, its units
    // fail when they run).
    let mut wanted: BTreeSet<(usize, usize)> = BTreeSet::new();
    for g in &groups {
        if plan.in_shard(g, opts.shard) {
            wanted.insert((g.dataset, g.sample));
        }
    }
    let wanted: Vec<(usize, usize)> = wanted.into_iter().collect();
    let hashes: BTreeMap<(usize, usize), Option<String>> = wanted
        .par_iter()
        .map(|&(d, s)| ((d, s), content_hash(&plan.datasets[d].samples[s]).ok()))
        .collect();
    let mut pending: Vec<(Group, Vec<(usize, Unit)>)> = Vec::new();
    for g in groups {
        let units = plan.units_of(&g);
        summary.units_total += units.len();
        if !plan.in_shard(&g, opts.shard) {
            continue;
        }
        summary.units_in_shard += units.len();
        let content = hashes.get(&(g.dataset, g.sample)).cloned().flatten();
        let mut todo = Vec::new();
        for (mi, u) in units {
            match done.get(&u.id()) {
                Some(had) if had.is_none() || *had == content => summary.already_done += 1,
                Some(_) => {
                    summary.changed += 1;
                    todo.push((mi, u));
                }
                None => todo.push((mi, u)),
            }
        }
        if !todo.is_empty() {
            pending.push((g, todo));
        }
    }
    let total: u64 = pending.iter().map(|(_, u)| u.len() as u64).sum();
    progress(0, total);
    if pending.is_empty() {
        return Ok(summary);
    }
    let cache = opts
        .strength_cache
        .clone()
        .unwrap_or_else(|| opts.out.join(DATASET_STRENGTHS));
    let policies = Policies::new(plan, &pending, &opts.out, &cache)?;
    let mut file = RecordsFile::open(&summary.records_file)?;
    let mut count = 0u64;
    let mut warnings = BTreeSet::new();
    let batches: Vec<_> = pending.chunks(opts.batch.max(1)).collect();
    let mut next = Some(stage_batch(
        plan,
        batches[0],
        &policies,
        engine,
        &mut warnings,
    ));
    for (k, batch) in batches.iter().enumerate() {
        let staged = next
            .take()
            .expect("every batch is staged before it is evaluated");
        for s in staged.iter().flatten() {
            warnings.extend(s.source.warnings.iter().cloned());
            warnings.extend(s.warnings.iter().cloned());
        }
        // On the CPU engine the next batch's perturbation stage runs while this batch is
        // evaluated (encoding and writing files, model inference). Records keep their order and
        // bytes; an interrupted run loses at most the staged batch, which wrote nothing. Staging
        // runs on its own thread (its loops on the rayon pool) and evaluation on this one, never
        // inside a rayon worker: an evaluator may block on threads of its own that call into
        // rayon (the VLM request workers encode images), and a worker blocked on them could be
        // the only one that can run their jobs (with `-j 1`, `rayon::join` here deadlocked).
        // The CUDA engine stages one batch at a time.
        let mut staged_warnings = BTreeSet::new();
        let records = match (engine, batches.get(k + 1)) {
            (Engine::Cpu, Some(following)) => {
                let (records, staged_next) = std::thread::scope(|scope| {
                    let staging = scope.spawn(|| {
                        stage_batch(
                            plan,
                            following,
                            &policies,
                            &Engine::Cpu,
                            &mut staged_warnings,
                        )
                    });
                    let records = evaluate_batch(plan, batch, &staged, evaluators, &hashes);
                    let staged_next = match staging.join() {
                        Ok(staged) => staged,
                        Err(panic) => std::panic::resume_unwind(panic),
                    };
                    (records, staged_next)
                });
                next = Some(staged_next);
                records
            }
            (_, following) => {
                let records = evaluate_batch(plan, batch, &staged, evaluators, &hashes);
                next = following
                    .map(|b| stage_batch(plan, b, &policies, engine, &mut staged_warnings));
                records
            }
        };
        warnings.extend(staged_warnings);
        for rec in records {
            summary.ran += 1;
            summary.failed += usize::from(!rec.ok());
            file.append(&rec)?;
            count += 1;
            progress(count, total);
        }
    }
    summary.warnings = warnings.into_iter().collect();
    Ok(summary)
}

/// The perturbation stage of a batch, in parallel: with a CUDA engine, the per-image searches
/// of the perturbations it supports run first on the device for the whole batch.
fn stage_batch(
    plan: &Plan,
    batch: &[(Group, Vec<(usize, Unit)>)],
    policies: &Policies,
    engine: &Engine,
    warnings: &mut BTreeSet<String>,
) -> Vec<Result<Staged>> {
    // Each group's sample is read once, for the GPU search and the CPU stage alike.
    let loaded: Vec<Result<Loaded>> = batch
        .par_iter()
        .map(|(g, _)| {
            guarded(plan, g, || {
                let ds = &plan.datasets[g.dataset];
                load_sample(plan, ds, &ds.samples[g.sample])
            })
        })
        .collect();
    let searched = gpu_search(plan, batch, &loaded, policies, engine, warnings);
    batch
        .par_iter()
        .zip(loaded)
        .enumerate()
        .map(|(i, ((g, _), l))| {
            let pre = searched.get(&i).cloned();
            guarded(plan, g, || perturb_loaded(plan, g, policies, l?, pre))
        })
        .collect()
}

/// Search outcomes found on the GPU, by index in the batch.
type Searched = BTreeMap<usize, Vec<calibrate::LevelOutcome>>;

#[cfg(not(feature = "cuda"))]
fn gpu_search(
    _: &Plan,
    _: &[(Group, Vec<(usize, Unit)>)],
    _: &[Result<Loaded>],
    _: &Policies,
    _: &Engine,
    _: &mut BTreeSet<String>,
) -> Searched {
    Searched::new()
}

/// Every per-image group of the batch whose perturbation has an on-GPU search, one device call
/// per perturbation. A sample that could not be read is left to the CPU stage (which records
/// its error); a device failure is a warning and that perturbation is searched on the CPU.
#[cfg(feature = "cuda")]
fn gpu_search(
    plan: &Plan,
    batch: &[(Group, Vec<(usize, Unit)>)],
    loaded: &[Result<Loaded>],
    policies: &Policies,
    engine: &Engine,
    warnings: &mut BTreeSet<String>,
) -> Searched {
    use calibrate::gpu::{calibrate_items, supported, GpuItem};
    let Engine::Cuda(e) = engine else {
        return Searched::new();
    };
    let mut searched = Searched::new();
    let Policy::PerImage(search) = &policies.per_image else {
        return searched;
    };
    // (batch index, perturbation) of the eligible groups
    let eligible: Vec<(usize, &'static dyn Perturbation)> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, (g, _))| {
            let p = plan.datasets[g.dataset].perturbations[g.perturbation?];
            let per_image = matches!(policies.of(g), Ok(Policy::PerImage(_)));
            let read = loaded[i].is_ok();
            // Volumes are searched through their volumetric form, on the CPU.
            let volume = plan.datasets[g.dataset].samples[g.sample].volume;
            (per_image && read && !volume && supported(p.id())).then_some((i, p))
        })
        .collect();
    let image = |i: usize| loaded[i].as_ref().expect("eligible groups were read");
    let mut ids: Vec<&'static str> = eligible.iter().map(|(_, p)| p.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let users: Vec<usize> = eligible
            .iter()
            .filter(|(_, p)| p.id() == id)
            .map(|(i, _)| *i)
            .collect();
        let Some(&(_, p)) = eligible.iter().find(|(_, p)| p.id() == id) else {
            continue;
        };
        let items: Vec<GpuItem<'_>> = users
            .iter()
            .map(|i| {
                let g = &batch[*i].0;
                let s = &plan.datasets[g.dataset].samples[g.sample];
                GpuItem {
                    image: &image(*i).image,
                    image_id: crate::io::image_id(&s.relative),
                    depth: image(*i).depth,
                }
            })
            .collect();
        match calibrate_items(e, p, &items, plan.config.seed, &plan.config.levels, search) {
            Ok(Some(outcomes)) => searched.extend(users.into_iter().zip(outcomes)),
            Ok(None) => {}
            Err(err) => {
                warnings.insert(format!(
                    "device cuda: {id}: {err}; searched on the CPU instead"
                ));
            }
        }
    }
    searched
}

/// Evaluate every unit of a batch: per model, all its units of the batch in one
/// [`UnitEvaluator::evaluate_batch`] call; records come back in group order, then unit order.
fn evaluate_batch(
    plan: &Plan,
    batch: &[(Group, Vec<(usize, Unit)>)],
    staged: &[Result<Staged>],
    evaluators: &mut [Box<dyn UnitEvaluator>],
    hashes: &BTreeMap<(usize, usize), Option<String>>,
) -> Vec<Record> {
    let mut records: Vec<Vec<Record>> = Vec::with_capacity(batch.len());
    // (group index, unit index) of every unit that reaches its evaluator, per model.
    let mut by_model: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    for (bi, ((g, units), items)) in batch.iter().zip(staged).enumerate() {
        let content = hashes.get(&(g.dataset, g.sample)).cloned().flatten();
        let mut recs = Vec::with_capacity(units.len());
        for (ui, (mi, unit)) in units.iter().enumerate() {
            let mut rec = base_record(plan, g, unit, evaluators[*mi].preset(), content.clone());
            match items {
                Err(e) => rec.error = Some(e.to_string()),
                Ok(st) => match st.items.iter().find(|i| i.level == unit.level) {
                    None => rec.error = Some(format!("level {} was not produced", unit.level)),
                    Some(item) => {
                        rec.strength = item.strength;
                        rec.ssim = item.ssim;
                        rec.in_band = item.verdict.map(|v| v.in_band());
                        rec.verdict = item.verdict;
                        rec.reason = item.reason.clone();
                        by_model.entry(*mi).or_default().push((bi, ui));
                    }
                },
            }
            recs.push(rec);
        }
        records.push(recs);
    }
    for (mi, slots) in by_model {
        let unit_ids: Vec<String> = slots
            .iter()
            .map(|&(bi, ui)| records[bi][ui].unit.clone())
            .collect();
        let inputs: Vec<UnitInput<'_>> = slots
            .iter()
            .zip(&unit_ids)
            .map(|(&(bi, ui), unit)| {
                let g = &batch[bi].0;
                let level = batch[bi].1[ui].1.level;
                let st = staged[bi].as_ref().expect("checked above");
                let item = st
                    .items
                    .iter()
                    .find(|i| i.level == level)
                    .expect("checked above");
                let ds = &plan.datasets[g.dataset];
                UnitInput {
                    sample: &ds.samples[g.sample],
                    item,
                    source: &st.source,
                    perturbation: g.perturbation.map(|pi| ds.perturbations[pi]),
                    seed: plan.config.seed,
                    unit,
                }
            })
            .collect();
        let results = evaluators[mi].evaluate_batch(&inputs);
        for (&(bi, ui), res) in slots.iter().zip(results) {
            let rec = &mut records[bi][ui];
            match res {
                Ok(m) => {
                    rec.fields = m.fields;
                    rec.prompt = m.prompt;
                    if let Some(r) = m.remeasured {
                        rec.ssim = Some(r.ssim);
                        rec.in_band = Some(r.verdict.in_band());
                        rec.verdict = Some(r.verdict);
                        rec.reason = r.reason;
                    }
                    match m.error {
                        Some(e) => rec.error = Some(e),
                        None => {
                            if let Some((k, _)) = m.metrics.iter().find(|(_, v)| !v.is_finite()) {
                                rec.error = Some(format!(
                                    "model {}: metric '{k}' is not finite",
                                    rec.model
                                ));
                            } else {
                                rec.metrics = m.metrics;
                            }
                        }
                    }
                }
                Err(e) => rec.error = Some(e.to_string()),
            }
        }
    }
    records.into_iter().flatten().collect()
}

fn base_record(
    plan: &Plan,
    g: &Group,
    unit: &Unit,
    preset: String,
    content: Option<String>,
) -> Record {
    let ds = &plan.datasets[g.dataset];
    let sample = &ds.samples[g.sample];
    let category = g
        .perturbation
        .map_or("clean", |pi| ds.perturbations[pi].info().category.as_str());
    Record {
        unit: unit.id(),
        model: unit.model.clone(),
        strategy: unit.strategy.clone(),
        preset,
        dataset: unit.dataset.clone(),
        task: unit.task.clone(),
        sample: unit.sample.clone(),
        perturbation: unit.perturbation.clone(),
        category: category.to_string(),
        modality: sample
            .modality
            .or(ds.modality)
            .map(|m| m.as_str().to_string()),
        level: unit.level,
        strength: None,
        ssim: None,
        in_band: None,
        reason: None,
        metrics: BTreeMap::new(),
        prompt: None,
        error: None,
        verdict: None,
        content,
        fields: BTreeMap::new(),
    }
}

/// One image ready for the models.
pub struct Item {
    pub level: u8,
    pub image: Image,
    /// Segmentation mask, or the grounding box as a mask; moved with geometric perturbations.
    pub truth: Option<Mask>,
    pub strength: Option<f32>,
    pub ssim: Option<f64>,
    /// None for the clean image.
    pub verdict: Option<Verdict>,
    pub reason: Option<String>,
    /// SSIM evaluations the search spent on this level (0: clean, table or fixed strength).
    pub evaluations: u32,
}

impl Item {
    /// The clean image (level 0).
    pub fn clean(image: Image, truth: Option<Mask>) -> Item {
        Item {
            level: 0,
            image,
            truth,
            strength: None,
            ssim: Some(1.0),
            verdict: None,
            reason: None,
            evaluations: 0,
        }
    }
}

/// What a sample's file was, for evaluators that write the image back in its kind.
#[derive(Default)]
pub struct Source {
    pub depth: BitDepth,
    pub format: Option<crate::io::Format>,
    /// SSIM reference of the clean image (perturbed groups).
    pub reference: Option<SsimReference>,
    /// The reader's notes (alpha dropped, extra TIFF pages), each naming the file.
    pub warnings: Vec<String>,
    /// A DICOM source: what writing a derived file needs.
    pub medical: Option<crate::io::Medical>,
}

/// A group's perturbation stage: its items (one per level; clean: level 0) and their source.
pub struct Staged {
    pub source: Source,
    pub items: Vec<Item>,
    /// A GPU result the CPU did not reproduce (this group was calibrated on the CPU instead).
    pub warnings: Vec<String>,
}

/// The strength policy of each (dataset, perturbation), decided before the groups run.
pub struct Policies {
    per_image: Policy,
    /// (dataset, perturbation) -> table, for the compat profile and per-dataset calibration;
    /// a calibration that failed fails that pair's groups with its message (the run goes on).
    tables: BTreeMap<(usize, usize), std::result::Result<Policy, String>>,
}

impl Policies {
    /// Tables are computed for the pairs the pending work needs, or read from their cache file
    /// (deterministic, so every shard finds the same values).
    fn new(
        plan: &Plan,
        pending: &[(Group, Vec<(usize, Unit)>)],
        out: &Path,
        strengths_file: &Path,
    ) -> Result<Policies> {
        let c = &plan.config;
        let variant = c.variant();
        let per_image = match c.calibration {
            Calibration::Fixed => Policy::Fixed,
            _ => Policy::PerImage(SearchOptions {
                variant,
                max_evals_per_band: c.max_evals_per_band,
            }),
        };
        let table_of = |d: usize| -> Option<&'static str> {
            let seg = plan.datasets[d].task() == "segmentation";
            match (c.profile, c.calibration) {
                (Profile::Compat, _) if seg => Some("first-image"),
                (_, Calibration::PerDataset) => Some("per-dataset"),
                _ => None,
            }
        };
        let needed: BTreeSet<(usize, usize)> = pending
            .iter()
            .filter_map(|(g, _)| g.perturbation.map(|p| (g.dataset, p)))
            .filter(|&(d, _)| table_of(d).is_some())
            .collect();
        let mut tables = BTreeMap::new();
        if needed.is_empty() {
            return Ok(Policies { per_image, tables });
        }
        let mut caches: BTreeMap<&'static str, StrengthCache> = BTreeMap::new();
        for source in ["first-image", "per-dataset"] {
            if needed.iter().any(|&(d, _)| table_of(d) == Some(source)) {
                let file = if source == "first-image" {
                    out.join(COMPAT_PARAMS)
                } else {
                    strengths_file.to_path_buf()
                };
                caches.insert(source, StrengthCache::open(&file)?);
            }
        }
        let missing: Vec<(usize, usize)> = needed
            .iter()
            .copied()
            .filter(|&(d, p)| {
                let ds = &plan.datasets[d];
                let cache = &caches[table_of(d).expect("needed")];
                c.levels.iter().any(|&l| {
                    cache
                        .get(&table_key(ds, ds.perturbations[p].id(), l, variant))
                        .is_none()
                })
            })
            .collect();
        // per missing (dataset, perturbation): the table entries found, or why not
        type Found = ((usize, usize), Result<Vec<(String, CachedStrength)>>);
        let found: Vec<Found> = missing
            .par_iter()
            .map(|&(d, p)| {
                let ds = &plan.datasets[d];
                let pert = ds.perturbations[p];
                let rows = if table_of(d) == Some("first-image") {
                    compat_table(plan, ds, pert)
                } else {
                    dataset_table(plan, ds, pert)
                };
                let rows = rows.map(|rows| {
                    rows.into_iter()
                        .map(|(l, v)| (table_key(ds, pert.id(), l, variant), v))
                        .collect()
                });
                ((d, p), rows)
            })
            .collect();
        let mut failed: BTreeMap<(usize, usize), String> = BTreeMap::new();
        for ((d, p), r) in found {
            match r {
                Ok(rows) => {
                    let cache = caches
                        .get_mut(table_of(d).expect("needed"))
                        .expect("opened");
                    for (k, v) in rows {
                        cache.insert(k, v);
                    }
                }
                Err(e) => {
                    let source = table_of(d).expect("needed");
                    failed.insert((d, p), format!("{source} calibration: {e}"));
                }
            }
        }
        for cache in caches.values() {
            cache.save()?;
        }
        for &(d, p) in &needed {
            if let Some(e) = failed.remove(&(d, p)) {
                tables.insert((d, p), Err(e));
                continue;
            }
            let ds = &plan.datasets[d];
            let source = table_of(d).expect("needed");
            let cache = &caches[source];
            let strengths = c
                .levels
                .iter()
                .map(|&l| {
                    (
                        l,
                        cache
                            .get(&table_key(ds, ds.perturbations[p].id(), l, variant))
                            .and_then(|v| v.strength),
                    )
                })
                .collect();
            tables.insert(
                (d, p),
                Ok(Policy::Table {
                    strengths,
                    source,
                    warp_masks: source != "first-image",
                }),
            );
        }
        Ok(Policies { per_image, tables })
    }

    fn of(&self, g: &Group) -> Result<&Policy> {
        match g
            .perturbation
            .and_then(|p| self.tables.get(&(g.dataset, p)))
        {
            None => Ok(&self.per_image),
            Some(Ok(p)) => Ok(p),
            Some(Err(e)) => Err(Error::other("strength table", e.clone())),
        }
    }
}

/// The authors' first-image search (compat profile): one parameter per level on the dataset's
/// first sample.
fn compat_table(
    plan: &Plan,
    ds: &PlannedDataset,
    pert: &'static dyn Perturbation,
) -> Result<Vec<(u8, CachedStrength)>> {
    let variant = plan.config.variant();
    let first = &ds.samples[0];
    let loaded = load_sample(plan, ds, first)?;
    let ctx = Ctx::new(plan.config.seed, crate::io::image_id(&first.relative));
    let prepared = pert.prepare(&loaded.image, &ctx)?;
    let reference = SsimReference::new(&loaded.image, variant)?;
    let cp: CompatParam = compat::compat_param(pert.info());
    let mut v = Vec::new();
    for &l in &plan.config.levels {
        let band = calibrate::band(l)?;
        let o = compat::find_adaptive_param(
            |param| {
                reference.ssim(&prepared.apply_quantised((cp.to_strength)(param), loaded.depth))
            },
            cp.range,
            cp.inverse,
            &band,
        )?;
        v.push((
            l,
            CachedStrength {
                strength: Some((cp.to_strength)(o.param)),
                images: 1,
                in_band: usize::from(o.in_band),
            },
        ));
    }
    Ok(v)
}

/// Per-dataset calibration: the median in-band strength over the first `calibration_images`
/// samples the perturbation applies to.
fn dataset_table(
    plan: &Plan,
    ds: &PlannedDataset,
    pert: &'static dyn Perturbation,
) -> Result<Vec<(u8, CachedStrength)>> {
    let variant = plan.config.variant();
    let mut loaded = Vec::new();
    for s in ds
        .samples
        .iter()
        .filter(|s| ds.applies(pert, s))
        .take(plan.config.calibration_images)
    {
        let l = load_sample(plan, ds, s)?;
        let reference = SsimReference::new(&l.image, variant)?;
        loaded.push((
            l,
            reference,
            Ctx::new(plan.config.seed, crate::io::image_id(&s.relative)),
        ));
    }
    let images: Vec<(&Image, &SsimReference, BitDepth, Ctx)> = loaded
        .iter()
        .map(|(l, r, c)| (&l.image, r, l.depth, *c))
        .collect();
    let opts = SearchOptions {
        variant,
        max_evals_per_band: plan.config.max_evals_per_band,
    };
    Ok(
        policy::calibrate_table(pert, &images, &plan.config.levels, &opts)?
            .into_iter()
            .collect(),
    )
}

fn table_key(
    ds: &PlannedDataset,
    pert: &str,
    level: u8,
    variant: crate::ssim::SsimVariant,
) -> String {
    // The cache is per dataset: the dataset name stands in the modality slot of the key.
    let m = ds.modality.map_or("any", |m| m.as_str());
    StrengthCache::key(pert, Some(&format!("{}:{m}", ds.cfg.name)), level, variant)
}

/// A sample read for the pipeline.
pub struct Loaded {
    pub image: Image,
    pub depth: BitDepth,
    pub format: crate::io::Format,
    /// Segmentation mask or grounding box as a mask.
    pub truth: Option<Mask>,
    /// The reader's notes, each naming the file.
    pub warnings: Vec<String>,
    /// A DICOM source: what writing a derived file needs.
    pub medical: Option<crate::io::Medical>,
}

/// Read a sample (image on the fixed [0,1] scale; the segmentation mask of the same size, or a
/// grounding item's truth box validated, clipped to the image and turned into a mask), squashed
/// to 256x256 in the compat profile for segmentation (image bicubic, re-quantised to its bit
/// depth as the reference's PIL resize does; mask nearest).
pub fn load_sample(plan: &Plan, ds: &PlannedDataset, s: &Sample) -> Result<Loaded> {
    if ds.task() == "segmentation" && s.mask.is_none() {
        return Err(Error::invalid(
            s.image.display().to_string(),
            "no mask found for this image (masks are matched by file stem, optionally with _mask / _Segmentation); add it or remove the image",
        ));
    }
    let crate::io::Loaded {
        image,
        depth,
        format,
        warnings,
        medical,
    } = if s.volume {
        crate::io::read_volume(&s.image)?
    } else {
        crate::io::read_frame(&s.image, s.frame)?
    };
    let mut truth = None;
    if let Some(mp) = &s.mask {
        // The segmentation module's readers: its mask rule (> half range, or > 0 for 0/1 label PNGs).
        let mask = match &medical {
            // A NIfTI label on a DICOM image: resampled by the patient-space geometry.
            Some(crate::io::Medical::Dicom { source, .. })
                if crate::io::nifti::is_nifti_name(mp) =>
            {
                crate::io::label_for_dicom(mp, source, &image)?
            }
            _ => crate::io::read_mask_frame(mp, s.frame)?,
        };
        if (mask.width, mask.height) != (image.width, image.height) {
            return Err(Error::Shape {
                what: format!("mask {}", mp.display()),
                expected: format!("{}x{} (the image's size)", image.width, image.height),
                found: format!("{}x{}", mask.width, mask.height),
            });
        }
        truth = Some(mask);
    }
    if let Some(item) = s.vlm.as_deref() {
        if let crate::eval::vlm::tasks::ItemKind::Grounding { truth: t, .. } = &item.kind {
            truth = Some(grounding_mask(&item.id, t, &image)?);
        }
    }
    if plan.config.profile == Profile::Compat && ds.task() == "segmentation" {
        let img = compat::squash(&image, compat::SIDE, compat::SIDE).quantised(depth);
        let truth = truth.map(|m| compat::squash_mask(&m, compat::SIDE, compat::SIDE));
        return Ok(Loaded {
            image: img,
            depth,
            format,
            truth,
            warnings,
            medical: None,
        });
    }
    Ok(Loaded {
        image,
        depth,
        format,
        truth,
        warnings,
        medical,
    })
}

/// A grounding item's truth as a mask of the image's size: a box must be finite with
/// x1 < x2 and y1 < y2, is clipped to the image, and must keep some area; a mask file must have
/// the image's size and a set pixel. Clean and perturbed units use the same clipped truth.
pub fn grounding_mask(
    id: &str,
    t: &crate::eval::vlm::tasks::GroundTruth,
    image: &Image,
) -> Result<Mask> {
    use crate::eval::vlm::{images, tasks::GroundTruth};
    let what = format!("grounding sample '{id}'");
    match t {
        GroundTruth::Box(b) => {
            if b.iter().any(|v| !v.is_finite()) || b[0] >= b[2] || b[1] >= b[3] {
                return Err(Error::invalid(
                    what,
                    format!("truth box {b:?} is not [x1, y1, x2, y2] with x1 < x2 and y1 < y2 (pixels); fix the data file"),
                ));
            }
            let (w, h) = (image.width as f64, image.height as f64);
            let c = [
                b[0].clamp(0.0, w),
                b[1].clamp(0.0, h),
                b[2].clamp(0.0, w),
                b[3].clamp(0.0, h),
            ];
            let m = images::box_mask(c, image.width, image.height);
            if c[0] >= c[2] || c[1] >= c[3] || images::mask_box(&m).is_none() {
                return Err(Error::invalid(
                    what,
                    format!(
                        "truth box {b:?} lies outside the {}x{} image; fix the data file",
                        image.width, image.height
                    ),
                ));
            }
            Ok(m)
        }
        GroundTruth::Mask(p) => {
            let m = images::read_mask(p)?;
            if m.width != image.width || m.height != image.height {
                return Err(Error::Shape {
                    what: p.display().to_string(),
                    expected: format!("{}x{}", image.width, image.height),
                    found: format!("{}x{}", m.width, m.height),
                });
            }
            if images::mask_box(&m).is_none() {
                return Err(Error::invalid(
                    what,
                    format!("truth mask {} is empty", p.display()),
                ));
            }
            Ok(m)
        }
    }
}

/// A group's stage `f` with a panic inside (a reader, a perturbation) turned into the group's
/// error, so the run records it and goes on.
fn guarded<T>(plan: &Plan, g: &Group, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let msg = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(Error::other(
            format!(
                "{} on {}",
                plan.perturbation_name(g),
                plan.datasets[g.dataset].samples[g.sample].id
            ),
            format!("panicked: {msg}"),
        ))
    })
}

/// The perturbation stage of a group: one item per level (clean: level 0). `searched`: this
/// group's per-image search outcomes found on the GPU, finished and rechecked here.
pub fn perturb_group(
    plan: &Plan,
    g: &Group,
    policies: &Policies,
    searched: Option<Vec<calibrate::LevelOutcome>>,
) -> Result<Staged> {
    let ds = &plan.datasets[g.dataset];
    let loaded = load_sample(plan, ds, &ds.samples[g.sample])?;
    perturb_loaded(plan, g, policies, loaded, searched)
}

/// [`perturb_group`] on its sample as read.
fn perturb_loaded(
    plan: &Plan,
    g: &Group,
    policies: &Policies,
    loaded: Loaded,
    searched: Option<Vec<calibrate::LevelOutcome>>,
) -> Result<Staged> {
    let ds = &plan.datasets[g.dataset];
    let sample = &ds.samples[g.sample];
    let mut source = Source {
        depth: loaded.depth,
        format: Some(loaded.format),
        reference: None,
        warnings: loaded.warnings,
        medical: loaded.medical,
    };
    let Some(pi) = g.perturbation else {
        return Ok(Staged {
            source,
            items: vec![Item::clean(loaded.image, loaded.truth)],
            warnings: Vec::new(),
        });
    };
    // A volume (channels = slices): the op acts through its volumetric form.
    let volume = crate::perturb::volume::Volume {
        inner: ds.perturbations[pi],
    };
    let p: &dyn crate::perturb::Perturbation = if sample.volume {
        &volume
    } else {
        ds.perturbations[pi]
    };
    let ctx = Ctx::new(plan.config.seed, crate::io::image_id(&sample.relative));
    let reference =
        SsimReference::new(&loaded.image, plan.config.variant()).map_err(|e| match e {
            Error::TooSmall {
                width, height, win, ..
            } => Error::TooSmall {
                what: sample.image.display().to_string(),
                width,
                height,
                win,
            },
            other => other,
        })?;
    let policy = policies.of(g)?;
    let (produced, warning) = policy::produce_from_outcomes(
        policy,
        p,
        &loaded.image,
        &reference,
        loaded.truth.as_ref(),
        loaded.depth,
        &ctx,
        &plan.config.levels,
        searched,
    )
    .map_err(|e| Error::other(format!("{} on {}", p.id(), sample.id), e.to_string()))?;
    source.reference = Some(reference);
    Ok(Staged {
        source,
        items: produced
            .into_iter()
            .map(|o| Item {
                level: o.level,
                image: o.image,
                truth: o.mask,
                strength: Some(o.strength),
                ssim: Some(o.ssim),
                verdict: Some(o.verdict),
                reason: o.reason,
                evaluations: o.evaluations,
            })
            .collect(),
        warnings: warning
            .map(|w| format!("device cuda: {} on {}: {w}", p.id(), sample.image.display()))
            .into_iter()
            .collect(),
    })
}

/// Dry-run plan: units per (model, strategy) x dataset, what this shard has left, and a time
/// estimate from timing `probe_groups` pending groups (perturbation stage + every model).
pub fn dry_run(
    plan: &Plan,
    evaluators: &mut [Box<dyn UnitEvaluator>],
    out: &Path,
    shard: Shard,
    probe_groups: usize,
) -> Result<String> {
    use std::fmt::Write as _;
    let done = if out.exists() {
        finished_units(out, evaluators)?
    } else {
        BTreeMap::new()
    };
    let mut table: BTreeMap<(String, String), (usize, usize, usize)> = BTreeMap::new();
    let mut pending_groups = Vec::new();
    for g in plan.groups() {
        let in_shard = plan.in_shard(&g, shard);
        let mut any = false;
        for (_, u) in plan.units_of(&g) {
            let e = table
                .entry((format!("{}/{}", u.model, u.strategy), u.dataset.clone()))
                .or_default();
            e.0 += 1;
            if in_shard {
                e.1 += 1;
                if !done.contains_key(&u.id()) {
                    e.2 += 1;
                    any = true;
                }
            }
        }
        if any {
            pending_groups.push(g);
        }
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "plan for config '{}' (profile {}, seed {}, levels {:?}, shard {shard})",
        plan.config.name,
        plan.config.profile.as_str(),
        plan.config.seed,
        plan.config.levels
    );
    for d in &plan.datasets {
        let _ = writeln!(
            s,
            "  dataset {}: {} samples, modality {}, {} perturbations",
            d.cfg.name,
            d.samples.len(),
            d.modality.map_or("per sample", |m| m.as_str()),
            d.perturbations.len()
        );
    }
    let _ = writeln!(
        s,
        "| model/strategy | dataset | units | in shard | pending |\n|---|---|---|---|---|"
    );
    let (mut tot, mut pend) = (0, 0);
    for ((m, d), (a, b, c)) in &table {
        let _ = writeln!(s, "| {m} | {d} | {a} | {b} | {c} |");
        tot += a;
        pend += c;
    }
    let _ = writeln!(
        s,
        "total: {tot} units, {pend} pending in this shard, {} groups",
        pending_groups.len()
    );
    let n = probe_groups.min(pending_groups.len());
    if n > 0 {
        let t0 = std::time::Instant::now();
        let probe: Vec<(Group, Vec<(usize, Unit)>)> = pending_groups[..n]
            .iter()
            .map(|g| (g.clone(), plan.units_of(g)))
            .collect();
        let policies = Policies {
            per_image: Policy::PerImage(SearchOptions {
                variant: plan.config.variant(),
                max_evals_per_band: plan.config.max_evals_per_band,
            }),
            tables: BTreeMap::new(),
        };
        let staged: Vec<Result<Staged>> = probe
            .iter()
            .map(|(g, _)| perturb_group(plan, g, &policies, None))
            .collect();
        let _ = evaluate_batch(plan, &probe, &staged, evaluators, &BTreeMap::new());
        let per_group = t0.elapsed().as_secs_f64() / n as f64;
        let threads = rayon::current_num_threads().max(1) as f64;
        let est = per_group * pending_groups.len() as f64;
        let _ = writeln!(
            s,
            "estimate: {per_group:.2} s per group (probe of {n}, one thread) -> about {:.0} s on one thread, {:.0} s with {threads} threads for the perturbation stage",
            est,
            est / threads
        );
    }
    Ok(s)
}
