//! Executing a benchmark: validation pass, plan, resume, the group loop.
//!
//! Order of work: (1) [`validate`] checks the whole config, lists every dataset and loads every
//! model, collecting ALL problems into one error before anything is written; (2) `run.json` is
//! compared with the config (a different hash is refused unless `restart`); (3) finished units are
//! read from the records files; (4) in the compat profile the first-image parameters are searched
//! (cached in `DIR/compat_params.json`); (5) pending groups are processed in batches: the
//! perturbation stage (load, squash in compat, calibrate, perturb) runs in parallel, then every
//! pending unit of the batch is evaluated in a fixed order and appended to the records file.
//!
//! Determinism: a unit's record depends only on the config and its own fields (calibration uses
//! the run's full level list and the (seed, sample, perturbation) RNG), never on which units ran
//! before, on sharding, on thread count or on interruptions.

use super::config::{Config, DatasetConfig, ModelConfig, Profile};
use super::data::{self, Sample};
use super::eval::{self, UnitEvaluator, UnitInput};
use super::meta::RunMeta;
use super::records::{self, Record, RecordsFile};
use super::units::{Shard, Unit, CLEAN};
use crate::calibrate::compat::{self, CompatParam};
use crate::calibrate::dataset::{CachedStrength, StrengthCache};
use crate::calibrate::{self, SearchOptions};
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
    pub modality: Modality,
    pub samples: Vec<Sample>,
    pub perturbations: Vec<&'static dyn Perturbation>,
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

/// Validation pass: everything that can be checked before work starts, all problems at once.
/// Returns the plan and one loaded evaluator per model.
pub fn validate(config: &Config) -> Result<(Plan, Vec<Box<dyn UnitEvaluator>>)> {
    let mut errs = config.check_static();
    let mut datasets = Vec::new();
    for d in &config.datasets {
        // Listed even when its modality or selection is bad (already reported by
        // check_static), so a missing path is reported in the same pass.
        let samples = data::open(d).map_err(|e| errs.push(e.to_string()));
        let Ok(modality) = Modality::parse(&d.modality) else { continue };
        let Ok(perturbations) = config.selection(d, modality) else { continue };
        if let Ok(samples) = samples {
            datasets.push(PlannedDataset { cfg: d.clone(), modality, samples, perturbations });
        }
    }
    let mut evaluators = Vec::new();
    for m in &config.models {
        match eval::load_evaluator(m, &config.device) {
            Ok(e) => evaluators.push(e),
            Err(e) => errs.push(e.to_string()),
        }
    }
    if !errs.is_empty() {
        return Err(Error::other(
            format!("config '{}'", config.name),
            format!("{} problem(s), nothing was run:\n  - {}", errs.len(), errs.join("\n  - ")),
        ));
    }
    Ok((Plan { config: config.clone(), datasets, models: config.models.clone() }, evaluators))
}

impl Plan {
    /// Every group of the run (all shards), in a fixed order.
    pub fn groups(&self) -> Vec<Group> {
        let mut v = Vec::new();
        for (di, d) in self.datasets.iter().enumerate() {
            for si in 0..d.samples.len() {
                v.push(Group { dataset: di, sample: si, perturbation: None });
                for pi in 0..d.perturbations.len() {
                    v.push(Group { dataset: di, sample: si, perturbation: Some(pi) });
                }
            }
        }
        v
    }

    pub fn perturbation_name(&self, g: &Group) -> &'static str {
        g.perturbation.map_or(CLEAN, |pi| self.datasets[g.dataset].perturbations[pi].id())
    }

    pub fn in_shard(&self, g: &Group, shard: Shard) -> bool {
        let d = &self.datasets[g.dataset];
        shard.contains(&d.cfg.name, &d.samples[g.sample].id, self.perturbation_name(g))
    }

    fn levels_of(&self, g: &Group) -> Vec<u8> {
        if g.perturbation.is_none() { vec![0] } else { self.config.levels.clone() }
    }

    /// The units of a group: models in config order, levels ascending.
    pub fn units_of(&self, g: &Group) -> Vec<(usize, Unit)> {
        let d = &self.datasets[g.dataset];
        let mut v = Vec::new();
        for (mi, m) in self.models.iter().enumerate() {
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
        self.groups().iter().flat_map(|g| self.units_of(g)).map(|(_, u)| u.id()).collect()
    }
}

/// How `execute` is called.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub out: PathBuf,
    pub shard: Shard,
    pub restart: bool,
    /// Groups processed per batch (the perturbation stage of a batch runs in parallel).
    pub batch: usize,
}

/// What happened.
#[derive(Clone, Debug, Default)]
pub struct RunSummary {
    pub units_total: usize,
    pub units_in_shard: usize,
    pub already_done: usize,
    pub ran: usize,
    pub failed: usize,
    pub records_file: PathBuf,
}

/// Progress events: (units done in this invocation, units pending at its start).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Check `run.json` against the config: write it when absent, refuse a different config unless
/// `restart` (which removes the records, run.json and cached compat parameters).
pub fn prepare_dir(config: &Config, out: &Path, restart: bool) -> Result<RunMeta> {
    std::fs::create_dir_all(out).map_err(|source| Error::Io { path: out.to_path_buf(), source })?;
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
            let _ = std::fs::remove_file(out.join(COMPAT_PARAMS));
        }
        None => {}
    }
    meta.write(out)?;
    Ok(meta)
}

const COMPAT_PARAMS: &str = "compat_params.json";

/// Units finished in `out` (latest record without error), over every records file.
pub fn finished_units(out: &Path) -> Result<BTreeSet<String>> {
    Ok(records::load_dir(out)?.into_values().filter(|r| r.ok()).map(|r| r.unit).collect())
}

/// Run (or resume) the benchmark.
pub fn execute(plan: &Plan, evaluators: &mut [Box<dyn UnitEvaluator>], opts: &RunOptions, progress: Progress<'_>) -> Result<RunSummary> {
    prepare_dir(&plan.config, &opts.out, opts.restart)?;
    let done = finished_units(&opts.out)?;
    let groups = plan.groups();
    let mut summary = RunSummary { records_file: opts.out.join(opts.shard.records_file()), ..Default::default() };
    let mut pending: Vec<(Group, Vec<(usize, Unit)>)> = Vec::new();
    for g in groups {
        let units = plan.units_of(&g);
        summary.units_total += units.len();
        if !plan.in_shard(&g, opts.shard) {
            continue;
        }
        summary.units_in_shard += units.len();
        let todo: Vec<(usize, Unit)> = units.into_iter().filter(|(_, u)| !done.contains(&u.id())).collect();
        summary.already_done += plan.units_of(&g).len() - todo.len();
        if !todo.is_empty() {
            pending.push((g, todo));
        }
    }
    let total: u64 = pending.iter().map(|(_, u)| u.len() as u64).sum();
    progress(0, total);
    if pending.is_empty() {
        return Ok(summary);
    }
    let compat_params = if plan.config.profile == Profile::Compat {
        Some(compat_parameters(plan, &pending, &opts.out)?)
    } else {
        None
    };
    let mut file = RecordsFile::open(&summary.records_file)?;
    let mut count = 0u64;
    for batch in pending.chunks(opts.batch.max(1)) {
        let staged: Vec<Result<Vec<Item>>> =
            batch.par_iter().map(|(g, _)| perturb_group(plan, g, compat_params.as_ref())).collect();
        for ((g, units), items) in batch.iter().zip(staged) {
            for (mi, unit) in units {
                let rec = evaluate_unit(plan, g, unit, &mut evaluators[*mi], &items);
                summary.ran += 1;
                summary.failed += usize::from(!rec.ok());
                file.append(&rec)?;
                count += 1;
                progress(count, total);
            }
        }
    }
    Ok(summary)
}

/// One image ready for the models.
pub struct Item {
    pub level: u8,
    pub image: Image,
    pub truth: Mask,
    pub strength: Option<f32>,
    pub ssim: Option<f64>,
    pub in_band: Option<bool>,
    pub reason: Option<String>,
}

/// First-image parameters of every (dataset, perturbation, level) the pending work needs, from
/// the cache file or searched now (deterministic, so every shard finds the same values).
fn compat_parameters(plan: &Plan, pending: &[(Group, Vec<(usize, Unit)>)], out: &Path) -> Result<StrengthCache> {
    let mut cache = StrengthCache::open(&out.join(COMPAT_PARAMS))?;
    let needed: BTreeSet<(usize, usize)> = pending.iter().filter_map(|(g, _)| g.perturbation.map(|p| (g.dataset, p))).collect();
    let variant = plan.config.profile.ssim_variant();
    let missing: Vec<(usize, usize)> = needed
        .into_iter()
        .filter(|&(d, p)| {
            let ds = &plan.datasets[d];
            plan.config.levels.iter().any(|&l| cache.get(&compat_key(ds, ds.perturbations[p].id(), l, variant)).is_none())
        })
        .collect();
    let found: Vec<Result<Vec<(String, CachedStrength)>>> = missing
        .par_iter()
        .map(|&(d, p)| {
            let ds = &plan.datasets[d];
            let pert = ds.perturbations[p];
            let (img, _mask, depth) = load_sample(plan, &ds.samples[0])?;
            let ctx = Ctx::new(plan.config.seed, crate::rng::fnv1a32(&ds.samples[0].id));
            let prepared = pert.prepare(&img, &ctx)?;
            let reference = SsimReference::new(&img, variant)?;
            let cp: CompatParam = compat::compat_param(pert.info());
            let mut v = Vec::new();
            for &l in &plan.config.levels {
                let band = calibrate::band(l)?;
                let o = compat::find_adaptive_param(
                    |param| reference.ssim(&prepared.apply((cp.to_strength)(param)).quantised(depth)),
                    cp.range,
                    cp.inverse,
                    &band,
                )?;
                v.push((
                    compat_key(ds, pert.id(), l, variant),
                    CachedStrength { strength: Some((cp.to_strength)(o.param)), images: 1, in_band: usize::from(o.in_band) },
                ));
            }
            Ok(v)
        })
        .collect();
    for r in found {
        for (k, v) in r? {
            cache.insert(k, v);
        }
    }
    cache.save()?;
    Ok(cache)
}

fn compat_key(ds: &PlannedDataset, pert: &str, level: u8, variant: crate::ssim::SsimVariant) -> String {
    // The cache is per dataset: the dataset name stands in the modality slot of the key.
    StrengthCache::key(pert, Some(&format!("{}:{}", ds.cfg.name, ds.modality)), level, variant)
}

/// Read a sample (image on the fixed [0,1] scale, mask of the same size), squashed to 256x256 in
/// the compat profile (image bicubic, re-quantised to its bit depth as the reference's PIL resize
/// does; mask nearest).
fn load_sample(plan: &Plan, s: &Sample) -> Result<(Image, Mask, BitDepth)> {
    // The segmentation module's readers: its mask rule (> half range, or > 0 for 0/1 label PNGs).
    let (image, depth) = crate::dataset::read_image(&s.image)?;
    let mask = crate::dataset::read_mask(&s.mask)?;
    if (mask.width, mask.height) != (image.width, image.height) {
        return Err(Error::Shape {
            what: format!("mask {}", s.mask.display()),
            expected: format!("{}x{} (the image's size)", image.width, image.height),
            found: format!("{}x{}", mask.width, mask.height),
        });
    }
    if plan.config.profile == Profile::Compat {
        let img = compat::squash(&image, compat::SIDE, compat::SIDE).quantised(depth);
        return Ok((img, compat::squash_mask(&mask, compat::SIDE, compat::SIDE), depth));
    }
    Ok((image, mask, depth))
}

/// The perturbation stage of a group: one item per level (clean: level 0).
pub fn perturb_group(plan: &Plan, g: &Group, compat_params: Option<&StrengthCache>) -> Result<Vec<Item>> {
    let ds = &plan.datasets[g.dataset];
    let sample = &ds.samples[g.sample];
    let (img, mask, depth) = load_sample(plan, sample)?;
    let Some(pi) = g.perturbation else {
        return Ok(vec![Item { level: 0, image: img, truth: mask, strength: None, ssim: Some(1.0), in_band: None, reason: None }]);
    };
    let p = ds.perturbations[pi];
    let ctx = Ctx::new(plan.config.seed, crate::rng::fnv1a32(&sample.id));
    let variant = plan.config.profile.ssim_variant();
    let reference = SsimReference::new(&img, variant)?;
    let levels = &plan.config.levels;
    match compat_params {
        None => {
            let opts = SearchOptions { variant, max_evals_per_band: plan.config.max_evals_per_band };
            let out = calibrate::perturb_image_with(p, &img, &reference, Some(&mask), depth, &ctx, levels, &opts)?;
            Ok(out
                .into_iter()
                .map(|pl| {
                    let band = [pl.outcome.target[0], pl.outcome.target[1]];
                    let in_band = pl.ssim_written >= band[0] && pl.ssim_written <= band[1];
                    let reason = match (&pl.outcome.reason, in_band) {
                        (Some(r), _) => Some(r.clone()),
                        (None, false) => Some(format!("written SSIM {:.4} is outside the band", pl.ssim_written)),
                        (None, true) => None,
                    };
                    Item {
                        level: pl.outcome.level,
                        truth: pl.mask.unwrap_or_else(|| mask.clone()),
                        image: pl.image,
                        strength: Some(pl.outcome.strength),
                        ssim: Some(pl.ssim_written),
                        in_band: Some(in_band),
                        reason,
                    }
                })
                .collect())
        }
        Some(cache) => {
            let prepared = p.prepare(&img, &ctx)?;
            let mut items = Vec::new();
            for &l in levels {
                let band = calibrate::band(l)?;
                let key = compat_key(ds, p.id(), l, variant);
                let strength = cache
                    .get(&key)
                    .and_then(|c| c.strength)
                    .ok_or_else(|| Error::other(format!("{} L{l}", p.id()), "no first-image parameter"))?;
                let image = prepared.apply(strength).quantised(depth);
                let ssim = reference.ssim(&image)?;
                let in_band = band.contains(ssim);
                items.push(Item {
                    level: l,
                    image,
                    // Quirk kept: the mask is never warped.
                    truth: mask.clone(),
                    strength: Some(strength),
                    ssim: Some(ssim),
                    in_band: Some(in_band),
                    reason: (!in_band).then(|| format!("first-image parameter gives SSIM {ssim:.4} on this image")),
                });
            }
            Ok(items)
        }
    }
}

fn evaluate_unit(plan: &Plan, g: &Group, unit: &Unit, ev: &mut Box<dyn UnitEvaluator>, items: &Result<Vec<Item>>) -> Record {
    let ds = &plan.datasets[g.dataset];
    let category = g.perturbation.map_or("clean", |pi| ds.perturbations[pi].info().category.as_str());
    let mut rec = Record {
        unit: unit.id(),
        model: unit.model.clone(),
        strategy: unit.strategy.clone(),
        preset: ev.preset(),
        dataset: unit.dataset.clone(),
        task: unit.task.clone(),
        sample: unit.sample.clone(),
        perturbation: unit.perturbation.clone(),
        category: category.to_string(),
        modality: Some(ds.modality.as_str().to_string()),
        level: unit.level,
        strength: None,
        ssim: None,
        in_band: None,
        reason: None,
        metrics: BTreeMap::new(),
        prompt: None,
        error: None,
    };
    let items = match items {
        Ok(i) => i,
        Err(e) => {
            rec.error = Some(e.to_string());
            return rec;
        }
    };
    let Some(item) = items.iter().find(|i| i.level == unit.level) else {
        rec.error = Some(format!("level {} was not produced", unit.level));
        return rec;
    };
    rec.strength = item.strength;
    rec.ssim = item.ssim;
    rec.in_band = item.in_band;
    rec.reason = item.reason.clone();
    match ev.evaluate(&UnitInput { sample: &unit.sample, image: &item.image, truth: Some(&item.truth) }) {
        Ok(m) => {
            rec.metrics = m.metrics;
            rec.prompt = m.prompt;
        }
        Err(e) => rec.error = Some(e.to_string()),
    }
    rec
}

/// Dry-run plan: units per (model, strategy) x dataset, what this shard has left, and a time
/// estimate from timing `probe_groups` pending groups (perturbation stage + every model).
pub fn dry_run(plan: &Plan, evaluators: &mut [Box<dyn UnitEvaluator>], out: &Path, shard: Shard, probe_groups: usize) -> Result<String> {
    use std::fmt::Write as _;
    let done = if out.exists() { finished_units(out)? } else { BTreeSet::new() };
    let mut table: BTreeMap<(String, String), (usize, usize, usize)> = BTreeMap::new();
    let mut pending_groups = Vec::new();
    for g in plan.groups() {
        let in_shard = plan.in_shard(&g, shard);
        let mut any = false;
        for (_, u) in plan.units_of(&g) {
            let e = table.entry((format!("{}/{}", u.model, u.strategy), u.dataset.clone())).or_default();
            e.0 += 1;
            if in_shard {
                e.1 += 1;
                if !done.contains(&u.id()) {
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
    let _ = writeln!(s, "plan for config '{}' (profile {}, seed {}, levels {:?}, shard {shard})", plan.config.name, plan.config.profile.as_str(), plan.config.seed, plan.config.levels);
    for d in &plan.datasets {
        let _ = writeln!(s, "  dataset {}: {} samples, modality {}, {} perturbations", d.cfg.name, d.samples.len(), d.modality, d.perturbations.len());
    }
    let _ = writeln!(s, "| model/strategy | dataset | units | in shard | pending |\n|---|---|---|---|---|");
    let (mut tot, mut pend) = (0, 0);
    for ((m, d), (a, b, c)) in &table {
        let _ = writeln!(s, "| {m} | {d} | {a} | {b} | {c} |");
        tot += a;
        pend += c;
    }
    let _ = writeln!(s, "total: {tot} units, {pend} pending in this shard, {} groups", pending_groups.len());
    let n = probe_groups.min(pending_groups.len());
    if n > 0 {
        let t0 = std::time::Instant::now();
        for g in &pending_groups[..n] {
            let items = perturb_group(plan, g, None);
            for (mi, u) in plan.units_of(g) {
                let _ = evaluate_unit(plan, g, &u, &mut evaluators[mi], &items);
            }
        }
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
