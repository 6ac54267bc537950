//! The segmentation evaluation loop: for every sample, the clean image and every
//! (perturbation, level) output go through the model; each becomes one [`Record`].
//!
//! Contract:
//! - One record per (sample, perturbation, level), clean included (perturbation "clean", level 0),
//!   always: a failure (unreadable file, missing or mis-sized mask, empty mask with a box-prompted
//!   model, a perturbation error, an inference error) is a record with `error` set, and the run
//!   goes on.
//! - `unit` = "<dataset>/<sample>/<perturbation>/<level>" is the same for every model, so runs
//!   can be joined; records come in a fixed order (samples, then clean, then perturbations in
//!   registry order, levels ascending), independent of thread count.
//! - Box prompts come from the item's own mask (the warped one for geometric perturbations),
//!   optionally jittered (seeded by (seed, sample)); each record stores the box it used, and a
//!   replay map (unit -> box) overrides them.
//! - Encoder calls are batched per group (clean, or all levels of one perturbation) when the
//!   encoder's batch dimension is dynamic.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::model::Model;
use super::sam::BoxPrompt;
use crate::calibrate::SearchOptions;
use crate::dataset::{read_image, read_mask, SegDataset, SegSample};
use crate::error::{Error, Result};
use crate::image::{BitDepth, Image, Mask};
use crate::metrics::seg::Overlap;
use crate::perturb::{Ctx, Perturbation};

/// How the strength of each level is chosen.
#[derive(Clone, Debug)]
pub enum Strengths {
    /// SSIM-calibrated per image ([`crate::calibrate::perturb_image`]): the benchmark's mode.
    Calibrated(SearchOptions),
    /// Level L at strength lo + (hi - lo) * L / 5 of the perturbation's range, uncalibrated
    /// (`in_band` null; `ssim` is the Wang SSIM of the written image, null if the image is too
    /// small for the window): for smoke tests and benches of the model path alone.
    Fixed,
}

#[derive(Clone)]
pub struct EvalOptions {
    pub model_name: String,
    pub strategy: String,
    pub dataset: String,
    pub perturbations: Vec<&'static dyn Perturbation>,
    pub levels: Vec<u8>,
    pub seed: u64,
    /// Box jitter: each side widened by up to this many pixels (0 = tight box).
    pub jitter: u32,
    pub strengths: Strengths,
    /// Boxes to reuse, by unit (from an earlier records.jsonl).
    pub replay: HashMap<String, [usize; 4]>,
}

/// One line of records.jsonl.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub unit: String,
    pub model: String,
    pub strategy: String,
    pub preset: String,
    pub dataset: String,
    pub sample: String,
    pub perturbation: String,
    /// "clean", "base", "medical" or "extra".
    pub category: String,
    pub level: u8,
    pub strength: Option<f32>,
    pub ssim: Option<f64>,
    pub in_band: Option<bool>,
    pub iou: Option<f64>,
    pub dice: Option<f64>,
    /// The box prompt used, (x0, y0, x1, y1) inclusive, on this item's image.
    pub prompt: Option<[usize; 4]>,
    pub mask_index: Option<usize>,
    pub error: Option<String>,
}

/// Wall time per stage, summed over the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct StageTimes {
    pub load: Duration,
    pub perturb: Duration,
    pub preprocess: Duration,
    pub encode: Duration,
    pub decode: Duration,
    /// Images that went through the model.
    pub images: u64,
}

/// One image ready for the model.
struct Item {
    perturbation: String,
    category: String,
    level: u8,
    strength: Option<f32>,
    ssim: Option<f64>,
    in_band: Option<bool>,
    image: Image,
    mask: Mask,
}

/// Evaluate `ds` on `model`; every record goes to `sink` as soon as it is complete.
pub fn evaluate(model: &mut Model, ds: &SegDataset, opts: &EvalOptions, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<StageTimes> {
    let mut times = StageTimes::default();
    for sample in &ds.samples {
        evaluate_sample(model, sample, ds, opts, &mut times, sink)?;
    }
    Ok(times)
}

fn base_record(model: &Model, opts: &EvalOptions, sample: &str, pert: &str, category: &str, level: u8) -> Record {
    Record {
        unit: format!("{}/{sample}/{pert}/{level}", opts.dataset),
        model: opts.model_name.clone(),
        strategy: opts.strategy.clone(),
        preset: model.preset_name(),
        dataset: opts.dataset.clone(),
        sample: sample.to_string(),
        perturbation: pert.to_string(),
        category: category.to_string(),
        level,
        strength: None,
        ssim: None,
        in_band: None,
        iou: None,
        dice: None,
        prompt: None,
        mask_index: None,
        error: None,
    }
}

fn load(sample: &SegSample) -> Result<(Image, BitDepth, Mask)> {
    let mask_path = sample.mask.as_ref().ok_or_else(|| Error::invalid(sample.image.display().to_string(), "no mask found for this image"))?;
    let (img, depth) = read_image(&sample.image)?;
    let mask = read_mask(mask_path)?;
    if (mask.width, mask.height) != (img.width, img.height) {
        return Err(Error::Shape {
            what: format!("{}: mask", mask_path.display()),
            expected: format!("{}x{} (the image's size)", img.width, img.height),
            found: format!("{}x{}", mask.width, mask.height),
        });
    }
    Ok((img, depth, mask))
}

fn evaluate_sample(
    model: &mut Model,
    sample: &SegSample,
    ds: &SegDataset,
    opts: &EvalOptions,
    times: &mut StageTimes,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<()> {
    let _ = ds;
    let t0 = Instant::now();
    let loaded = load(sample);
    times.load += t0.elapsed();
    let (img, depth, mask) = match loaded {
        Ok(v) => v,
        Err(e) => {
            // Every unit of this sample fails with the same, named error.
            let msg = e.to_string();
            let mut r = base_record(model, opts, &sample.id, "clean", "clean", 0);
            r.error = Some(msg.clone());
            sink(r)?;
            for p in &opts.perturbations {
                for &l in &opts.levels {
                    let mut r = base_record(model, opts, &sample.id, p.id(), p.info().category.as_str(), l);
                    r.error = Some(msg.clone());
                    sink(r)?;
                }
            }
            return Ok(());
        }
    };
    evaluate_image(model, &sample.id, &img, depth, &mask, opts, times, sink)
}

/// Evaluate one in-memory image and mask (clean + all perturbations and levels).
#[allow(clippy::too_many_arguments)]
pub fn evaluate_image(
    model: &mut Model,
    sample_id: &str,
    img: &Image,
    depth: BitDepth,
    mask: &Mask,
    opts: &EvalOptions,
    times: &mut StageTimes,
    sink: &mut dyn FnMut(Record) -> Result<()>,
) -> Result<()> {
    let ctx = Ctx::new(opts.seed, crate::io::image_id(Path::new(sample_id)));
    let clean = Item {
        perturbation: "clean".into(),
        category: "clean".into(),
        level: 0,
        strength: Some(0.0),
        ssim: Some(1.0),
        in_band: None,
        image: img.clone(),
        mask: mask.clone(),
    };
    run_group(model, sample_id, vec![clean], opts, times, sink)?;
    for &p in &opts.perturbations {
        let t = Instant::now();
        let produced = perturb(p, img, depth, mask, &ctx, opts);
        times.perturb += t.elapsed();
        match produced {
            Ok(items) => run_group(model, sample_id, items, opts, times, sink)?,
            Err(e) => {
                for &l in &opts.levels {
                    let mut r = base_record(model, opts, sample_id, p.id(), p.info().category.as_str(), l);
                    r.error = Some(format!("{}: {e}", p.id()));
                    sink(r)?;
                }
            }
        }
    }
    Ok(())
}

fn perturb(p: &dyn Perturbation, img: &Image, depth: BitDepth, mask: &Mask, ctx: &Ctx, opts: &EvalOptions) -> Result<Vec<Item>> {
    let category = p.info().category.as_str().to_string();
    match &opts.strengths {
        Strengths::Calibrated(search) => {
            let levels = crate::calibrate::perturb_image(p, img, Some(mask), depth, ctx, &opts.levels, search)?;
            Ok(levels
                .into_iter()
                .map(|l| Item {
                    perturbation: p.id().to_string(),
                    category: category.clone(),
                    level: l.outcome.level,
                    strength: Some(l.outcome.strength),
                    ssim: Some(l.ssim_written),
                    in_band: Some(l.outcome.in_band),
                    image: l.image,
                    mask: l.mask.unwrap_or_else(|| mask.clone()),
                })
                .collect())
        }
        Strengths::Fixed => {
            let prepared = p.prepare(img, ctx)?;
            let reference = crate::ssim::SsimReference::new(img, crate::ssim::SsimVariant::Wang).ok();
            let (lo, hi) = p.info().strength_range;
            Ok(opts
                .levels
                .iter()
                .map(|&l| {
                    let s = lo + (hi - lo) * l as f32 / 5.0;
                    let warped = if p.info().geometric { prepared.warp_mask(mask, s) } else { mask.clone() };
                    let image = prepared.apply(s).quantised(depth);
                    Item {
                        perturbation: p.id().to_string(),
                        category: category.clone(),
                        level: l,
                        strength: Some(s),
                        ssim: reference.as_ref().and_then(|r| r.ssim(&image).ok()),
                        in_band: None,
                        image,
                        mask: warped,
                    }
                })
                .collect())
        }
    }
}

/// Run a group of items (one encoder batch where allowed) and emit their records in order.
fn run_group(model: &mut Model, sample_id: &str, items: Vec<Item>, opts: &EvalOptions, times: &mut StageTimes, sink: &mut dyn FnMut(Record) -> Result<()>) -> Result<()> {
    let mut records: Vec<Record> = items
        .iter()
        .map(|it| {
            let mut r = base_record(model, opts, sample_id, &it.perturbation, &it.category, it.level);
            r.strength = it.strength;
            r.ssim = it.ssim;
            r.in_band = it.in_band;
            r
        })
        .collect();
    match model {
        Model::Generic(g) => {
            for (it, r) in items.iter().zip(records.iter_mut()) {
                let t = Instant::now();
                let pred = g.predict(&it.image);
                times.decode += t.elapsed();
                times.images += 1;
                match pred.and_then(|p| Overlap::of(&p, &it.mask)) {
                    Ok(o) => {
                        r.iou = Some(o.iou());
                        r.dice = Some(o.dice());
                    }
                    Err(e) => r.error = Some(e.to_string()),
                }
            }
        }
        Model::Sam(m) => {
            // Prompts first: an item without one (empty mask) is an error and is not encoded.
            let mut todo: Vec<(usize, BoxPrompt)> = Vec::new();
            for (i, (it, r)) in items.iter().zip(records.iter_mut()).enumerate() {
                let replayed = opts.replay.get(&r.unit).map(|b| BoxPrompt { x0: b[0], y0: b[1], x1: b[2], y1: b[3] });
                let bx = replayed.or_else(|| {
                    BoxPrompt::from_mask(&it.mask).map(|b| {
                        let id = crate::io::image_id(Path::new(sample_id));
                        b.jittered(opts.jitter, opts.seed, id, "box", it.image.width, it.image.height)
                    })
                });
                match bx {
                    Some(b) => {
                        r.prompt = Some([b.x0, b.y0, b.x1, b.y1]);
                        todo.push((i, b));
                    }
                    None => r.error = Some(format!("{sample_id}: empty ground-truth mask: no box prompt (documented rule: not scored)")),
                }
            }
            let t = Instant::now();
            let tensors: Vec<Result<Vec<f32>>> = todo.iter().map(|(i, _)| m.preset.preprocess(&items[*i].image)).collect();
            times.preprocess += t.elapsed();
            let mut ok_idx = Vec::new();
            let mut batch = Vec::new();
            for ((i, b), t) in todo.into_iter().zip(tensors) {
                match t {
                    Ok(t) => {
                        ok_idx.push((i, b));
                        batch.push(t);
                    }
                    Err(e) => records[i].error = Some(e.to_string()),
                }
            }
            let t = Instant::now();
            let embs = m.encode(&batch);
            times.encode += t.elapsed();
            times.images += batch.len() as u64;
            match embs {
                Err(e) => {
                    for (i, _) in &ok_idx {
                        records[*i].error = Some(e.to_string());
                    }
                }
                Ok(embs) => {
                    let t = Instant::now();
                    for ((i, b), emb) in ok_idx.into_iter().zip(embs) {
                        let it = &items[i];
                        let res = m.decode(&emb, b, it.image.width, it.image.height).and_then(|(p, _)| Ok((p.mask_index, Overlap::of(&p.mask, &it.mask)?)));
                        match res {
                            Ok((k, o)) => {
                                records[i].iou = Some(o.iou());
                                records[i].dice = Some(o.dice());
                                records[i].mask_index = Some(k);
                            }
                            Err(e) => records[i].error = Some(e.to_string()),
                        }
                    }
                    times.decode += t.elapsed();
                }
            }
        }
    }
    for r in records {
        sink(r)?;
    }
    Ok(())
}

/// Mean scores and drops, from records.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub clean_iou: Option<f64>,
    pub clean_dice: Option<f64>,
    pub clean_n: usize,
    /// category -> (mean IoU drop, mean Dice drop, n), drop = clean - perturbed per item.
    pub drop_by_category: BTreeMap<String, (f64, f64, usize)>,
    pub drop_by_level: BTreeMap<u8, (f64, f64, usize)>,
    pub records: usize,
    pub failed: usize,
}

impl Summary {
    pub fn from_records(records: &[Record]) -> Summary {
        let mut s = Summary { records: records.len(), ..Default::default() };
        let mut clean: HashMap<(&str, &str), (f64, f64)> = HashMap::new();
        let (mut si, mut sd) = (0.0, 0.0);
        for r in records.iter().filter(|r| r.perturbation == "clean") {
            if let (Some(i), Some(d)) = (r.iou, r.dice) {
                clean.insert((&r.model, &r.sample), (i, d));
                si += i;
                sd += d;
                s.clean_n += 1;
            }
        }
        if s.clean_n > 0 {
            s.clean_iou = Some(si / s.clean_n as f64);
            s.clean_dice = Some(sd / s.clean_n as f64);
        }
        let mut cat: BTreeMap<String, (f64, f64, usize)> = BTreeMap::new();
        let mut lvl: BTreeMap<u8, (f64, f64, usize)> = BTreeMap::new();
        for r in records {
            if r.error.is_some() {
                s.failed += 1;
            }
            if r.perturbation == "clean" {
                continue;
            }
            if let (Some(i), Some(d), Some((ci, cd))) = (r.iou, r.dice, clean.get(&(r.model.as_str(), r.sample.as_str()))) {
                for e in [cat.entry(r.category.clone()).or_default(), lvl.entry(r.level).or_default()] {
                    e.0 += ci - i;
                    e.1 += cd - d;
                    e.2 += 1;
                }
            }
        }
        let mean = |(a, b, n): (f64, f64, usize)| (a / n.max(1) as f64, b / n.max(1) as f64, n);
        s.drop_by_category = cat.into_iter().map(|(k, v)| (k, mean(v))).collect();
        s.drop_by_level = lvl.into_iter().map(|(k, v)| (k, mean(v))).collect();
        s
    }

    /// Human-readable table.
    pub fn render(&self) -> String {
        let f = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
        let mut out = format!(
            "clean: IoU {}  Dice {}  (n = {})\nrecords: {}  failed: {}\n",
            f(self.clean_iou),
            f(self.clean_dice),
            self.clean_n,
            self.records,
            self.failed
        );
        if !self.drop_by_category.is_empty() {
            out.push_str("mean drop by category (clean - perturbed):\n");
            for (k, (i, d, n)) in &self.drop_by_category {
                out.push_str(&format!("  {k:<8} IoU {i:+.4}  Dice {d:+.4}  (n = {n})\n"));
            }
            out.push_str("mean drop by level:\n");
            for (k, (i, d, n)) in &self.drop_by_level {
                out.push_str(&format!("  L{k:<7} IoU {i:+.4}  Dice {d:+.4}  (n = {n})\n"));
            }
        }
        out
    }
}
