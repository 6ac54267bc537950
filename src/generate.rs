//! Writing corrupted datasets: the engine behind `medfm-robust perturb` and `demo`.
//!
//! For every (image, perturbation, level) it writes `OUT/<perturbation>/L<level>/<relative path>`
//! in the source's format and bit depth, and one manifest record. Contracts:
//! - the record's `ssim` is re-measured on the written file (encoded, decoded) against the source
//!   as read, with the chosen variant, so anyone can recompute it; `in_band` is judged on it;
//! - a level that is not in band gets a record with `in_band: false`, a `reason`, and no output
//!   file (unless `write_out_of_band`);
//! - a bad input (unreadable, too small, mask of the wrong size) is reported with its path and
//!   the run goes on; nothing already written is lost (outputs are written atomically);
//! - output bytes and the manifest do not depend on thread count: the manifest is sorted by
//!   (source, registry order, level) before it is written.
//! - with the CUDA engine (`--device cuda`, per-image mode) the strength search of every
//!   perturbation with an on-GPU search runs on the GPU for all images at once
//!   (src/calibrate/gpu.rs); applying, writing and re-measuring stay as above. Others run on the
//!   CPU. A GPU failure is a warning and that perturbation falls back to the CPU; a GPU result
//!   whose SSIM the CPU does not reproduce (beyond `GPU_RECHECK_TOL`, 1e-3) is a warning and that
//!   image is calibrated again on the CPU, so a device error cannot reach the manifest.

use crate::calibrate::dataset::StrengthCache;
use crate::calibrate::policy::{self, Policy, Produced};
use crate::calibrate::{self, SearchOptions, Verdict};
use crate::error::{Error, Result};
use crate::image::{BitDepth, Image, Mask};
use crate::io::{self, InputItem};
use crate::perturb::{self, Category, Ctx, Modality, Perturbation};
use crate::run::records::{read_lines, RecordsFile};
use crate::ssim::{SsimReference, SsimVariant};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Search outcomes computed ahead by the GPU, by (index into the loaded images, perturbation id).
type Precomputed = HashMap<(usize, &'static str), Vec<calibrate::LevelOutcome>>;

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
    /// FNV-1a 64 of the source's bytes (and its mask's): a rerun reuses this record only while
    /// the files are unchanged.
    pub content: String,
    pub calibration: String,
    pub evaluations: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mask_output: Option<String>,
    #[serde(skip)]
    order: (usize, usize),
}

/// Where records go as units finish (fsynced, like the pipeline's records.jsonl); the sorted
/// manifest.jsonl replaces it when the run ends.
pub const PARTIAL_MANIFEST: &str = "manifest.partial.jsonl";

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
    /// (image, perturbation) units of the run.
    pub units: usize,
    /// Of those, the units whose records and outputs an earlier run left in OUT and that were
    /// kept as they were.
    pub resumed: usize,
}

impl Summary {
    pub fn written(&self) -> usize {
        self.records.iter().filter(|r| r.output.is_some()).count()
    }
    pub fn in_band(&self) -> usize {
        self.records.iter().filter(|r| r.in_band).count()
    }
}

/// Progress callback: (done, total) units of (image, perturbation).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

struct Loaded {
    item: InputItem,
    image: Image,
    depth: BitDepth,
    format: io::Format,
    mask: Option<Mask>,
    reference: SsimReference,
    ctx: Ctx,
    modality: Option<Modality>,
    perturbations: Vec<&'static dyn Perturbation>,
    content: String,
}

/// Largest |GPU SSIM - CPU SSIM| accepted for an on-GPU search result re-measured by the CPU
/// (the calibration parity bound of the kernels with device expf; the exact kernels agree to
/// 1e-6, spec/gpu.md). Beyond it the image is calibrated again on the CPU.
const GPU_RECHECK_TOL: f64 = 1e-3;

/// A loaded image with its warnings, or why it could not be loaded.
type LoadResult = Result<(Loaded, Vec<String>)>;

fn load(item: &InputItem, opts: &GenerateOptions) -> LoadResult {
    let loaded = io::read_image(&item.path)?;
    let image = loaded.image;
    let mask = match &item.mask {
        Some(m) => Some(io::read_mask(m, Some((image.width, image.height)))?),
        None => None,
    };
    let content =
        io::content_hash(std::iter::once(item.path.as_path()).chain(item.mask.as_deref()))?;
    let reference = SsimReference::new(&image, opts.variant).map_err(|e| match e {
        Error::TooSmall {
            width, height, win, ..
        } => Error::TooSmall {
            what: item.path.display().to_string(),
            width,
            height,
            win,
        },
        other => other,
    })?;
    let modality = opts.modality.or(item.modality);
    let perturbations = perturb::select(&opts.perturbations, modality)?;
    let ctx = Ctx::new(opts.seed, io::image_id(&item.relative));
    Ok((
        Loaded {
            item: item.clone(),
            image,
            depth: loaded.depth,
            format: loaded.format,
            mask,
            reference,
            ctx,
            modality,
            perturbations,
            content,
        },
        loaded.warnings,
    ))
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

/// [`generate`] on a selected engine (module docs: what runs on the GPU).
pub fn generate_on(
    items: &[InputItem],
    opts: &GenerateOptions,
    engine: &crate::backend::Engine,
    progress: Progress<'_>,
) -> Result<Summary> {
    std::fs::create_dir_all(&opts.out).map_err(|source| Error::Io {
        path: opts.out.clone(),
        source,
    })?;
    let mut summary = Summary::default();

    // Load every image (in parallel); bad inputs become failures, the rest goes on.
    let loaded: Vec<(usize, LoadResult)> = items
        .par_iter()
        .enumerate()
        .map(|(i, it)| (i, load(it, opts)))
        .collect();
    let mut good: Vec<(usize, Loaded)> = Vec::new();
    for (i, r) in loaded {
        match r {
            Ok((l, w)) => {
                summary.warnings.extend(w);
                good.push((i, l));
            }
            Err(e) => summary.failures.push(Failure {
                source: items[i].path.display().to_string(),
                perturbation: None,
                error: e.to_string(),
            }),
        }
    }

    // Per-dataset mode: strengths from the calibration subset of each modality group.
    let mut cache = match opts.calibration {
        CalibrationMode::PerDataset => {
            let path = opts
                .strength_cache
                .clone()
                .unwrap_or_else(|| opts.out.join("strengths.json"));
            Some(StrengthCache::open(&path)?)
        }
        CalibrationMode::PerImage => None,
    };
    if let Some(cache) = cache.as_mut() {
        calibrate_dataset(&good, opts, cache, &mut summary)?;
        cache.save()?;
    }

    let units: Vec<(usize, usize)> = good
        .iter()
        .enumerate()
        .flat_map(|(gi, (_, l))| (0..l.perturbations.len()).map(move |pi| (gi, pi)))
        .collect();
    // Manifest order of a unit: input position, then registry position.
    let order_of = |gi: usize, pi: usize| {
        let id = good[gi].1.perturbations[pi].id();
        let pos = perturb::all().iter().position(|q| q.id() == id);
        (good[gi].0, pos.unwrap_or(usize::MAX))
    };
    // Resume: the units an earlier run left written (manifest.jsonl, then the newer partial
    // manifest) are kept, and neither searched on the GPU nor produced again.
    let previous = previous_records(&opts.out)?;
    let reused: HashMap<(usize, usize), Vec<Record>> = units
        .iter()
        .filter_map(|&(gi, pi)| {
            let l = &good[gi].1;
            reusable(&previous, l, l.perturbations[pi], opts, order_of(gi, pi))
                .map(|r| ((gi, pi), r))
        })
        .collect();
    drop(previous);

    let pre: Precomputed = match (engine, &cache) {
        #[cfg(feature = "cuda")]
        (crate::backend::Engine::Cuda(e), None) => {
            gpu_search(e, &good, opts, &reused, &mut summary)
        }
        _ => Precomputed::new(),
    };

    let partial = std::sync::Mutex::new(RecordsFile::open(&opts.out.join(PARTIAL_MANIFEST))?);
    let total = units.len();
    let done = AtomicUsize::new(0);
    progress(0, total);
    let results: Vec<(Vec<Record>, Vec<Failure>, Option<String>)> = units
        .par_iter()
        .map(|&(gi, pi)| {
            let l = &good[gi].1;
            let p = l.perturbations[pi];
            if let Some(recs) = reused.get(&(gi, pi)) {
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                return (recs.clone(), vec![], None);
            }
            let order = order_of(gi, pi);
            let r = run_unit(l, p, opts, cache.as_ref(), pre.get(&(gi, p.id())), order);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            match r {
                Ok((recs, warning)) => {
                    let appended = {
                        let mut f = partial.lock().unwrap_or_else(|e| e.into_inner());
                        recs.iter().try_for_each(|rec| f.append(rec))
                    };
                    let failures = match appended {
                        Ok(()) => vec![],
                        Err(e) => vec![Failure {
                            source: l.item.path.display().to_string(),
                            perturbation: Some(p.id()),
                            error: format!("written, but not recorded in the manifest: {e}"),
                        }],
                    };
                    (recs, failures, warning)
                }
                Err(e) => (
                    vec![],
                    vec![Failure {
                        source: l.item.path.display().to_string(),
                        perturbation: Some(p.id()),
                        error: e.to_string(),
                    }],
                    None,
                ),
            }
        })
        .collect();
    summary.units = total;
    summary.resumed = reused.len();
    for (r, f, w) in results {
        summary.records.extend(r);
        summary.failures.extend(f);
        summary.warnings.extend(w);
    }
    summary
        .records
        .sort_by(|a, b| a.order.cmp(&b.order).then(a.level.cmp(&b.level)));
    let mut text = String::new();
    for r in &summary.records {
        text.push_str(
            &serde_json::to_string(r).map_err(|e| Error::other("manifest", e.to_string()))?,
        );
        text.push('\n');
    }
    io::write_atomic(&opts.out.join("manifest.jsonl"), text.as_bytes())?;
    // The sorted manifest holds everything the partial one did (and the records of units
    // reused from it), so the partial one goes.
    drop(partial);
    let _ = std::fs::remove_file(opts.out.join(PARTIAL_MANIFEST));
    if !summary.failures.is_empty() {
        let mut t = String::new();
        for f in &summary.failures {
            t.push_str(
                &serde_json::to_string(f).map_err(|e| Error::other("errors", e.to_string()))?,
            );
            t.push('\n');
        }
        io::write_atomic(&opts.out.join("errors.jsonl"), t.as_bytes())?;
    }
    Ok(summary)
}

/// Per-dataset mode: per modality group, the first N images calibrate each perturbation
/// ([`policy::calibrate_table`], the pipeline's own per-dataset calibration); levels already in
/// the cache are not searched again.
fn calibrate_dataset(
    good: &[(usize, Loaded)],
    opts: &GenerateOptions,
    cache: &mut StrengthCache,
    summary: &mut Summary,
) -> Result<()> {
    let mut groups: Vec<(Option<Modality>, Vec<&Loaded>)> = Vec::new();
    for (_, l) in good {
        match groups.iter_mut().find(|(m, _)| *m == l.modality) {
            Some((_, v)) => v.push(l),
            None => groups.push((l.modality, vec![l])),
        }
    }
    let search = search_options(opts);
    for (modality, members) in groups {
        let calib: Vec<&Loaded> = members
            .into_iter()
            .take(opts.calibration_images.max(1))
            .collect();
        let images: Vec<_> = calib
            .iter()
            .map(|l| (&l.image, &l.reference, l.depth, l.ctx))
            .collect();
        let mod_str = modality.map(|m| m.as_str());
        for p in perturb::select(&opts.perturbations, modality)? {
            let key = |lv| StrengthCache::key(p.id(), mod_str, lv, opts.variant);
            let missing: Vec<u8> = opts
                .levels
                .iter()
                .copied()
                .filter(|&lv| cache.get(&key(lv)).is_none())
                .collect();
            if missing.is_empty() {
                continue;
            }
            match policy::calibrate_table(p, &images, &missing, &search) {
                Ok(table) => {
                    for (lv, c) in table {
                        cache.insert(key(lv), c);
                    }
                }
                Err(e) => summary.failures.push(Failure {
                    source: calib
                        .iter()
                        .map(|l| l.item.path.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    perturbation: Some(p.id()),
                    error: format!("per-dataset calibration: {e}"),
                }),
            }
        }
    }
    Ok(())
}

fn search_options(opts: &GenerateOptions) -> SearchOptions {
    SearchOptions {
        variant: opts.variant,
        max_evals_per_band: opts.max_evals_per_band,
    }
}

/// The GPU stage of per-image mode: every supported perturbation, all images that use it.
#[cfg(feature = "cuda")]
fn gpu_search(
    e: &crate::backend::cuda::CudaEngine,
    good: &[(usize, Loaded)],
    opts: &GenerateOptions,
    reused: &HashMap<(usize, usize), Vec<Record>>,
    summary: &mut Summary,
) -> Precomputed {
    use calibrate::gpu::{calibrate_items, supported, GpuItem};
    let search = SearchOptions {
        variant: opts.variant,
        max_evals_per_band: opts.max_evals_per_band,
    };
    let mut pre = Precomputed::new();
    for p in perturb::all() {
        if !supported(p.id()) {
            continue;
        }
        let users: Vec<usize> = (0..good.len())
            .filter(|&gi| {
                let ps = &good[gi].1.perturbations;
                ps.iter()
                    .position(|q| q.id() == p.id())
                    .is_some_and(|pi| !reused.contains_key(&(gi, pi)))
            })
            .collect();
        if users.is_empty() {
            continue;
        }
        let items: Vec<GpuItem<'_>> = users
            .iter()
            .map(|&gi| GpuItem {
                image: &good[gi].1.image,
                image_id: good[gi].1.ctx.image_id,
                depth: good[gi].1.depth,
            })
            .collect();
        match calibrate_items(e, p.as_ref(), &items, opts.seed, &opts.levels, &search) {
            Ok(Some(outcomes)) => {
                for (gi, o) in users.into_iter().zip(outcomes) {
                    pre.insert((gi, p.id()), o);
                }
            }
            Ok(None) => {}
            Err(err) => summary.warnings.push(format!(
                "--device cuda: {}: {err}; searched on the CPU instead",
                p.id()
            )),
        }
    }
    pre
}

type Previous = HashMap<(String, String), BTreeMap<u8, Record>>;

/// The records an earlier run left in `out`, by (source, perturbation) and level; the partial
/// manifest (newer) overrides manifest.jsonl.
fn previous_records(out: &Path) -> Result<Previous> {
    let mut m = Previous::new();
    for name in ["manifest.jsonl", PARTIAL_MANIFEST] {
        // Only regular files are read (a device or folder in their place is refused when the
        // manifest is written). A line that is not a record of this version (an older tool, a
        // hand edit) is not reused: its unit is produced again and the manifest rewritten.
        if !out.join(name).is_file() {
            continue;
        }
        let recs: Vec<Option<Record>> = read_lines(&out.join(name), "a manifest record", |v| {
            Ok(serde_json::from_value(v).ok())
        })?;
        for r in recs.into_iter().flatten() {
            m.entry((r.source.clone(), r.perturbation.clone()))
                .or_default()
                .insert(r.level, r);
        }
    }
    Ok(m)
}

/// The records of an earlier run for this (image, perturbation), when they are exactly what
/// this run would write: the same levels, seed, SSIM variant, calibration mode and file
/// contents, and every output they name still on disk.
fn reusable(
    previous: &Previous,
    l: &Loaded,
    p: &dyn Perturbation,
    opts: &GenerateOptions,
    order: (usize, usize),
) -> Option<Vec<Record>> {
    let by_level = previous.get(&(l.item.path.display().to_string(), p.id().to_string()))?;
    let mut levels = opts.levels.clone();
    levels.sort_unstable();
    levels.dedup();
    if by_level.keys().copied().collect::<Vec<u8>>() != levels {
        return None;
    }
    let exists = |rel: &Option<String>| {
        rel.as_deref()
            .and_then(io::rel_path)
            .is_some_and(|r| opts.out.join(r).is_file())
    };
    // Written by this run: in band, or out of band with --write-out-of-band, or in band until
    // the written file's SSIM moved out (run_unit's reason says so).
    let should_write = |r: &Record| {
        r.in_band
            || opts.write_out_of_band
            || r.reason
                .as_deref()
                .is_some_and(|s| s.starts_with(WRITE_MOVED))
    };
    let ok = by_level.values().all(|r| {
        r.seed == opts.seed
            && r.ssim_variant == opts.variant
            && r.calibration == calibration_name(opts.calibration)
            && r.content == l.content
            && (r.output.is_none() || exists(&r.output))
            && (r.mask_output.is_none() || exists(&r.mask_output))
            && should_write(r) == r.output.is_some()
    });
    ok.then(|| {
        by_level
            .values()
            .cloned()
            .map(|mut r| {
                r.order = order;
                r
            })
            .collect()
    })
}

/// How the reason of a level that writing moved out of its band begins.
const WRITE_MOVED: &str = "writing (";

fn calibration_name(mode: CalibrationMode) -> &'static str {
    match mode {
        CalibrationMode::PerImage => "per-image",
        CalibrationMode::PerDataset => "per-dataset",
    }
}

/// The levels of one (image, perturbation): a GPU search result finished and rechecked by the
/// CPU, or the strength policy ([`policy::produce`]: per-image search, or the per-dataset table).
fn produce_unit(
    l: &Loaded,
    p: &'static dyn Perturbation,
    opts: &GenerateOptions,
    cache: Option<&StrengthCache>,
    pre: Option<&Vec<calibrate::LevelOutcome>>,
) -> Result<(Vec<Produced>, Option<String>)> {
    let policy = match cache {
        None => Policy::PerImage(search_options(opts)),
        Some(cache) => Policy::Table {
            strengths: opts
                .levels
                .iter()
                .map(|&lv| {
                    let key = StrengthCache::key(
                        p.id(),
                        l.modality.map(|m| m.as_str()),
                        lv,
                        opts.variant,
                    );
                    (lv, cache.get(&key).and_then(|c| c.strength))
                })
                .collect(),
            source: "per-dataset",
            warp_masks: true,
        },
    };
    let produce = || {
        policy::produce(
            &policy,
            p,
            &l.image,
            &l.reference,
            l.mask.as_ref(),
            l.depth,
            &l.ctx,
            &opts.levels,
        )
    };
    let Some(outcomes) = pre.filter(|_| cache.is_none()) else {
        return Ok((produce()?, None));
    };
    let levels = calibrate::perturb_image_from_outcomes(
        p,
        &l.image,
        &l.reference,
        l.mask.as_ref(),
        l.depth,
        &l.ctx,
        outcomes.clone(),
    )?;
    // The GPU's SSIM at its strength, re-measured here by the CPU oracle: a disagreement beyond
    // the parity tolerance means the device got this image wrong, so it is calibrated again on
    // the CPU and the run says so.
    if let Some(bad) = levels
        .iter()
        .find(|pl| (pl.ssim_written - pl.outcome.ssim).abs() > GPU_RECHECK_TOL)
    {
        let warning = format!(
            "--device cuda: {} on {}: GPU SSIM {:.6} at strength {} but the CPU measures {:.6} (L{}); calibrated on the CPU instead",
            p.id(),
            l.item.path.display(),
            bad.outcome.ssim,
            bad.outcome.strength,
            bad.ssim_written,
            bad.outcome.level
        );
        return Ok((produce()?, Some(warning)));
    }
    let levels = levels
        .into_iter()
        .map(|pl| policy::from_searched(pl, l.mask.as_ref(), &policy))
        .collect::<Result<_>>()?;
    Ok((levels, None))
}

fn run_unit(
    l: &Loaded,
    p: &'static dyn Perturbation,
    opts: &GenerateOptions,
    cache: Option<&StrengthCache>,
    pre: Option<&Vec<calibrate::LevelOutcome>>,
    order: (usize, usize),
) -> Result<(Vec<Record>, Option<String>)> {
    let info = p.info();
    let (levels, warning) = produce_unit(l, p, opts, cache, pre)?;
    let source = l.item.path.display().to_string();
    let rel = &l.item.relative;
    let mut records = Vec::with_capacity(levels.len());
    for pl in levels {
        let b = calibrate::band(pl.level)?;
        let mut rec = Record {
            source: source.clone(),
            output: None,
            perturbation: info.id.to_string(),
            category: info.category,
            modality: info.modality.or(l.modality),
            level: pl.level,
            strength: pl.strength,
            strength_name: info.strength_name.to_string(),
            ssim: pl.ssim,
            target: [b.lo, b.hi],
            in_band: pl.verdict.in_band(),
            verdict: pl.verdict,
            reason: pl.reason,
            seed: opts.seed,
            ssim_variant: opts.variant,
            image_id: l.ctx.image_id,
            content: l.content.clone(),
            calibration: calibration_name(opts.calibration).to_string(),
            evaluations: pl.evaluations,
            mask_output: None,
            order,
        };
        if rec.in_band || opts.write_out_of_band {
            let rel_out = Path::new(info.id).join(format!("L{}", pl.level)).join(rel);
            let out_path = opts.out.join(&rel_out);
            let bytes = io::encode_image(&pl.image, l.depth, l.format, &out_path)?;
            // Re-measure on the written file exactly as a reader will see it (lossy formats move
            // the SSIM): the record's ssim and verdict are those of the file.
            let back = io::decode_image(&bytes, &out_path)?;
            let measured = l.reference.ssim(&back.image)?;
            io::write_atomic(&out_path, &bytes)?;
            rec.ssim = measured;
            if rec.in_band && !b.contains(measured) {
                rec.in_band = false;
                rec.verdict = Verdict::Skipped;
                rec.reason = Some(format!(
                    "{WRITE_MOVED}{:?}) moved SSIM to {measured:.4}, outside the band",
                    l.format
                ));
            }
            rec.output = Some(io::rel_string(&rel_out));
            if info.geometric {
                if let Some(m) = &pl.mask {
                    let rel_mask = Path::new(info.id)
                        .join(format!("L{}", pl.level))
                        .join("_masks")
                        .join(rel)
                        .with_extension("png");
                    io::write_mask(&opts.out.join(&rel_mask), m)?;
                    rec.mask_output = Some(io::rel_string(&rel_mask));
                }
            }
        }
        records.push(rec);
    }
    Ok((records, warning))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An on-GPU search result the CPU cannot reproduce (here: a fabricated outcome whose SSIM is
    /// 0.1 off) is replaced by the CPU's own calibration, with a warning naming the item; a
    /// faithful one is kept as it is.
    #[test]
    fn gpu_outcomes_are_rechecked_by_the_cpu() {
        let dir = tempfile::tempdir().unwrap();
        let img = crate::phantom::phantom(Modality::Ct, 64, 64, 1, 3).image;
        let path = dir.path().join("a.png");
        io::write_image(&path, &img, BitDepth::U8, io::Format::Png).unwrap();
        let item = InputItem {
            path: path.clone(),
            relative: "a.png".into(),
            mask: None,
            modality: Some(Modality::Ct),
        };
        let opts = GenerateOptions {
            out: dir.path().join("out"),
            perturbations: "gaussian_noise".into(),
            modality: None,
            levels: vec![2, 4],
            seed: 1,
            variant: SsimVariant::Wang,
            calibration: CalibrationMode::PerImage,
            calibration_images: 0,
            strength_cache: None,
            write_out_of_band: false,
            max_evals_per_band: 20,
        };
        let (l, _) = load(&item, &opts).unwrap();
        let p = l.perturbations[0];
        let search = SearchOptions {
            variant: opts.variant,
            max_evals_per_band: opts.max_evals_per_band,
        };
        let prepared = p.prepare(&l.image, &l.ctx).unwrap();
        let cpu = calibrate::calibrate_prepared(
            prepared.as_ref(),
            p,
            &l.reference,
            l.depth,
            &opts.levels,
            &search,
        )
        .unwrap();
        // faithful: kept, no warning
        let (recs, warning) = run_unit(&l, p, &opts, None, Some(&cpu), (0, 0)).unwrap();
        assert!(warning.is_none(), "{warning:?}");
        assert_eq!(
            recs.iter().map(|r| r.strength).collect::<Vec<_>>(),
            cpu.iter().map(|o| o.strength).collect::<Vec<_>>()
        );
        // wrong: a strength whose SSIM is not the one claimed
        let mut wrong = cpu.clone();
        wrong[1].strength = wrong[0].strength * 0.5;
        let (recs, warning) = run_unit(&l, p, &opts, None, Some(&wrong), (0, 0)).unwrap();
        let w = warning.expect("a warning");
        assert!(
            w.contains("gaussian_noise")
                && w.contains("a.png")
                && w.contains("calibrated on the CPU"),
            "{w}"
        );
        assert_eq!(
            recs.iter().map(|r| r.strength).collect::<Vec<_>>(),
            cpu.iter().map(|o| o.strength).collect::<Vec<_>>()
        );
        assert!(recs.iter().all(|r| r.in_band));
    }
}
