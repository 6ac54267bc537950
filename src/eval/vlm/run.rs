//! The evaluation loop: every sample clean and under each (perturbation, level), one request each,
//! one record each, then the summary (clean metric and the drop per category and level, Eq. 3).
//!
//! Contract:
//! - `records.jsonl` gets exactly one line per (sample, variant), including failures (`error` set),
//!   in a fixed order (sample order, then clean, then the perturbations in registry order, then
//!   levels), whatever the concurrency: workers hand results to one writer that reorders them;
//!   each line is flushed when written;
//! - the image sent for a perturbed variant is the quantised output of [`levels::variants`]
//!   (calibrated: exactly what `perturb` writes);
//! - medical perturbations apply only to samples of their modality (the sample's own, else
//!   `--modality`); base perturbations apply to all;
//! - the API key never reaches a record, the summary, the cache or an error message.

use super::cache::{self, Cache};
use super::client::{ChatRequest, Client};
use super::config::ModelConfig;
use super::images;
use super::levels::{self, Strengths};
use super::parse::{self, letter, ChoiceRule};
use super::prompts::{self, Compat};
use super::tasks::{self, GroundTruth, Item, ItemKind, Task};
use crate::error::{Error, Result};
use crate::image::{Image, Mask};
use crate::metrics::caption::{self as capm, Tokenisation};
use crate::perturb::{Ctx, Modality, Perturbation};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Everything `eval-vlm` needs besides the model.
pub struct RunOptions<'a> {
    pub task: Task,
    pub data: PathBuf,
    pub image_root: Option<PathBuf>,
    /// Dataset label in records (default: the data file's stem).
    pub dataset: Option<String>,
    pub modality: Option<Modality>,
    pub perturbations: Vec<&'a dyn Perturbation>,
    pub levels: Vec<u8>,
    pub limit: Option<usize>,
    /// Sampling seed (Python `random.sample` semantics; the authors used 42).
    pub seed: u64,
    /// Perturbation seed (the RNG key with the image id), as `perturb --seed` (default 0 there).
    pub perturb_seed: u64,
    pub strengths: Strengths,
    pub compat: Compat,
    /// Optional LLM judge for VQA (decides `correct` when set).
    pub judge: Option<ModelConfig>,
    pub out: PathBuf,
    /// Response cache folder (default OUT/cache).
    pub cache_dir: Option<PathBuf>,
    /// Overrides the model's `concurrency`.
    pub concurrency: Option<usize>,
    pub progress: bool,
}

/// One line of records.jsonl.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub unit: String,
    pub model: String,
    pub task: &'static str,
    pub dataset: String,
    pub sample: String,
    pub image: String,
    pub modality: Option<&'static str>,
    pub perturbation: String,
    pub category: String,
    pub level: u8,
    pub strength: Option<f32>,
    pub ssim: Option<f64>,
    pub in_band: Option<bool>,
    pub prompt_hash: Option<String>,
    pub reply: Option<String>,
    pub parsed: Value,
    pub parse_rule: Option<&'static str>,
    pub truth: Value,
    pub correct: Option<bool>,
    pub iou: Option<f64>,
    pub judge_score: Option<f64>,
    pub prediction: Option<String>,
    pub references: Option<Vec<String>>,
    pub cached: bool,
    pub attempts: u32,
    pub error: Option<String>,
}

/// Metrics of one (perturbation, level) group.
#[derive(Clone, Debug, Serialize)]
pub struct Group {
    pub perturbation: String,
    pub category: String,
    pub level: u8,
    pub n: usize,
    pub errors: usize,
    pub metrics: BTreeMap<String, f64>,
    /// Clean metric minus this group's, over the same samples.
    pub drop: BTreeMap<String, f64>,
}

/// Mean drop over the perturbations of one category at one level (Eq. 3).
#[derive(Clone, Debug, Serialize)]
pub struct CategoryDrop {
    pub category: String,
    pub level: u8,
    pub perturbations: usize,
    pub drop: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub model: String,
    pub task: &'static str,
    pub dataset: String,
    pub samples: usize,
    pub records: usize,
    pub errors: usize,
    pub requests: u64,
    pub retries: u64,
    pub cache_hits: u64,
    pub clean: Group,
    pub groups: Vec<Group>,
    pub categories: Vec<CategoryDrop>,
}

struct Job<'a> {
    item: usize,
    pert: Option<&'a dyn Perturbation>,
}

struct Ctx2<'a> {
    model: &'a ModelConfig,
    o: &'a RunOptions<'a>,
    client: &'a Client,
    judge: Option<&'a Client>,
    dataset: &'a str,
    box_format: parse::BoxFormat,
}

/// Run the evaluation; writes OUT/records.jsonl and OUT/summary.json.
pub fn run(model: &ModelConfig, o: &RunOptions) -> Result<RunSummary> {
    if o.levels.iter().any(|&l| !(1..=5).contains(&l)) {
        return Err(Error::invalid("--levels", "levels are 1 to 5"));
    }
    let items = tasks::read(o.task, &o.data, o.image_root.as_deref())?;
    let items = tasks::select(items, o.modality, o.limit, o.seed);
    if items.is_empty() {
        return Err(Error::invalid(o.data.display().to_string(), "no samples to evaluate"));
    }
    let dataset = o.dataset.clone().unwrap_or_else(|| {
        o.data.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "data".into())
    });
    std::fs::create_dir_all(&o.out).map_err(|e| Error::Io { path: o.out.clone(), source: e })?;
    let cache_dir = o.cache_dir.clone().unwrap_or_else(|| o.out.join("cache"));
    let client = Client::new(model.clone(), Some(Cache::open(&cache_dir)?))?;
    let judge = match &o.judge {
        Some(j) => Some(Client::new(j.clone(), Some(Cache::open(&cache_dir.join("judge"))?))?),
        None => None,
    };
    let cx = Ctx2 { model, o, client: &client, judge: judge.as_ref(), dataset: &dataset, box_format: model.box_format()? };

    let mut jobs: Vec<Job> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        jobs.push(Job { item: i, pert: None });
        let m = it.modality.or(o.modality);
        for &p in &o.perturbations {
            if p.info().modality.is_none_or(|pm| Some(pm) == m) {
                jobs.push(Job { item: i, pert: Some(p) });
            }
        }
    }

    let path = o.out.join("records.jsonl");
    let file = std::fs::File::create(&path).map_err(|e| Error::Io { path: path.clone(), source: e })?;
    let mut writer = std::io::BufWriter::new(file);
    let bar = if o.progress {
        let b = indicatif::ProgressBar::new(jobs.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{prefix} {bar:30} {pos}/{len} jobs [{elapsed_precise}<{eta_precise}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_prefix(format!("{} {}", model.name, o.task.as_str()));
        b
    } else {
        indicatif::ProgressBar::hidden()
    };

    let next = AtomicUsize::new(0);
    let workers = o.concurrency.unwrap_or(model.concurrency).max(1).min(jobs.len());
    let mut all: Vec<Record> = Vec::new();
    let mut write_err: Option<Error> = None;
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel::<(usize, Vec<Record>)>();
        for _ in 0..workers {
            let tx = tx.clone();
            let (jobs, items, next, cx) = (&jobs, &items, &next, &cx);
            s.spawn(move || loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                if j >= jobs.len() {
                    break;
                }
                let (item, pert) = (&items[jobs[j].item], jobs[j].pert);
                // A panic inside a perturbation still leaves a record per variant.
                let recs = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| process(cx, item, pert)))
                    .unwrap_or_else(|p| failed(cx, item, pert, format!("panicked: {}", panic_text(&p))));
                if tx.send((j, recs)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending: HashMap<usize, Vec<Record>> = HashMap::new();
        let mut want = 0usize;
        for (j, recs) in rx {
            pending.insert(j, recs);
            while let Some(recs) = pending.remove(&want) {
                for r in &recs {
                    let line = serde_json::to_string(r).unwrap_or_default();
                    if let Err(e) = writeln!(writer, "{line}").and_then(|_| writer.flush()) {
                        write_err.get_or_insert(Error::Io { path: path.clone(), source: e });
                    }
                }
                all.extend(recs);
                want += 1;
                bar.inc(1);
            }
        }
    });
    bar.finish_and_clear();
    if let Some(e) = write_err {
        return Err(e);
    }

    let summary = summarise(&cx, &items, &all, &client, judge.as_ref());
    let sp = o.out.join("summary.json");
    let text = serde_json::to_string_pretty(&summary).map_err(|e| Error::other("summary", e.to_string()))?;
    std::fs::write(&sp, text + "\n").map_err(|e| Error::Io { path: sp, source: e })?;
    Ok(summary)
}

/// Truth of a grounding sample: its box in pixels and the mask that moves with the image.
fn grounding_truth(truth: &GroundTruth, img: &Image) -> Result<([f64; 4], Mask)> {
    match truth {
        GroundTruth::Box(b) => Ok((*b, images::box_mask(*b, img.width, img.height))),
        GroundTruth::Mask(p) => {
            let m = images::read_mask(p)?;
            if m.width != img.width || m.height != img.height {
                return Err(Error::Shape {
                    what: p.display().to_string(),
                    expected: format!("{}x{}", img.width, img.height),
                    found: format!("{}x{}", m.width, m.height),
                });
            }
            let b = images::mask_box(&m).ok_or_else(|| Error::invalid(p.display().to_string(), "empty mask"))?;
            Ok((b, m))
        }
    }
}

fn base_record(cx: &Ctx2, item: &Item, pert: Option<&dyn Perturbation>, level: u8) -> Record {
    let (pname, category) = match pert {
        Some(p) => (p.id().to_string(), p.info().category.as_str().to_string()),
        None => ("clean".to_string(), "clean".to_string()),
    };
    let unit = cache::key(&[&cx.model.name, cx.dataset, cx.o.task.as_str(), &item.id, &pname, &level.to_string()]);
    Record {
        unit: unit[..16].to_string(),
        model: cx.model.name.clone(),
        task: cx.o.task.as_str(),
        dataset: cx.dataset.to_string(),
        sample: item.id.clone(),
        image: item.relative.to_string_lossy().replace('\\', "/"),
        modality: item.modality.or(cx.o.modality).map(|m| m.as_str()),
        perturbation: pname,
        category,
        level,
        strength: if pert.is_none() { Some(0.0) } else { None },
        ssim: if pert.is_none() { Some(1.0) } else { None },
        in_band: None,
        prompt_hash: None,
        reply: None,
        parsed: Value::Null,
        parse_rule: None,
        truth: Value::Null,
        correct: None,
        iou: None,
        judge_score: None,
        prediction: None,
        references: match &item.kind {
            ItemKind::Caption { references } => Some(references.clone()),
            _ => None,
        },
        cached: false,
        attempts: 0,
        error: None,
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

/// One failed record per level of a job.
fn failed(cx: &Ctx2, item: &Item, pert: Option<&dyn Perturbation>, msg: String) -> Vec<Record> {
    let levels: Vec<u8> = if pert.is_some() { cx.o.levels.clone() } else { vec![0] };
    levels
        .iter()
        .map(|&l| {
            let mut r = base_record(cx, item, pert, l);
            r.error = Some(msg.clone());
            finish_failed(&mut r, item);
            r
        })
        .collect()
}

/// All records of one job (one sample, clean or one perturbation at every level).
fn process(cx: &Ctx2, item: &Item, pert: Option<&dyn Perturbation>) -> Vec<Record> {
    let fail = |msg: String| failed(cx, item, pert, msg);
    let (img, depth) = match images::read_image(&item.image) {
        Ok(x) => x,
        Err(e) => return fail(e.to_string()),
    };
    let truth = match &item.kind {
        ItemKind::Grounding { truth, .. } => match grounding_truth(truth, &img) {
            Ok(t) => Some(t),
            Err(e) => return fail(e.to_string()),
        },
        _ => None,
    };
    let variants = match pert {
        None => vec![levels::Variant {
            level: 0,
            strength: 0.0,
            ssim: Some(1.0),
            in_band: None,
            image: img.clone(),
            mask: truth.as_ref().map(|t| t.1.clone()),
        }],
        Some(p) => {
            let rel = item.relative.clone();
            let ctx = Ctx::new(cx.o.perturb_seed, crate::io::image_id(&rel));
            match levels::variants(p, &img, truth.as_ref().map(|t| &t.1), depth, &ctx, &cx.o.levels, &cx.o.strengths) {
                Ok(v) => v,
                Err(e) => return fail(format!("{}: {e}", p.id())),
            }
        }
    };
    variants
        .into_iter()
        .map(|v| {
            let mut r = base_record(cx, item, pert, v.level);
            if pert.is_some() {
                r.strength = Some(v.strength);
                r.ssim = v.ssim;
                r.in_band = v.in_band;
            }
            // Truth box for this variant: moved with the image for geometric perturbations.
            let gt_box = truth.as_ref().map(|(b, _)| match (pert, &v.mask) {
                (Some(p), Some(m)) if p.info().geometric => images::mask_box(m),
                _ => Some(*b),
            });
            if let Err(e) = ask(cx, item, &v.image, gt_box.flatten(), &mut r) {
                r.error = Some(e.to_string());
                finish_failed(&mut r, item);
            }
            r
        })
        .collect()
}

/// Fill the metric fields of a failed record (counted as wrong; captions as empty).
fn finish_failed(r: &mut Record, item: &Item) {
    match &item.kind {
        ItemKind::Vqa { answer, .. } => {
            r.truth = json!(letter(*answer).to_string());
            r.correct = Some(false);
        }
        ItemKind::Grounding { .. } => r.correct = Some(false),
        ItemKind::Caption { .. } => {}
    }
}

/// Send one variant and fill `r`.
fn ask(cx: &Ctx2, item: &Item, img: &Image, gt_box: Option<[f64; 4]>, r: &mut Record) -> Result<()> {
    let compat = cx.o.compat;
    let prompt = match &item.kind {
        ItemKind::Vqa { question, options, .. } => prompts::vqa(question, options, compat),
        ItemKind::Caption { .. } => prompts::caption(),
        ItemKind::Grounding { question, .. } => prompts::grounding(question, compat),
    };
    r.prompt_hash = Some(cache::sha256_hex(
        format!("{}\u{0}{}", cx.model.system_prompt.as_deref().unwrap_or(""), prompt).as_bytes(),
    )[..16]
        .to_string());
    if let ItemKind::Grounding { .. } = item.kind {
        if gt_box.is_none() {
            return Err(Error::invalid(item.id.clone(), "the object left the image under this perturbation"));
        }
    }
    let png = images::encode_png(img)?;
    let reply = cx.client.complete(&ChatRequest { prompt: &prompt, png: Some(&png) })?;
    r.cached = reply.cached;
    r.attempts = reply.attempts;
    let text = reply.text;
    match &item.kind {
        ItemKind::Vqa { question, options, answer, .. } => {
            let c = parse::parse_choice(&text, options);
            r.truth = json!(letter(*answer).to_string());
            r.parsed = c.index.map_or(Value::Null, |i| json!(letter(i).to_string()));
            r.parse_rule = Some(rule_name(c.rule));
            r.correct = Some(c.index == Some(*answer));
            if let Some(j) = cx.judge {
                let jp = prompts::judge(question, options, &format!("{}. {}", letter(*answer), options[*answer]), &text);
                let jr = j.complete(&ChatRequest { prompt: &jp, png: None })?;
                let score = parse::box_numbers(&format!("{} 0 0 0 0", jr.text)).map(|v| v[0]);
                r.judge_score = score;
                r.correct = Some(score.is_some_and(|s| s >= 0.5));
                r.parse_rule = Some("judge");
            }
        }
        ItemKind::Caption { .. } => r.prediction = Some(text.clone()),
        ItemKind::Grounding { .. } => {
            let gt = gt_box.unwrap_or([0.0; 4]);
            let (w, h) = (img.width as f64, img.height as f64);
            let (pred, truth) = if compat.box_first_four {
                (parse::compat_box(&text), [gt[0] / w, gt[1] / h, gt[2] / w, gt[3] / h])
            } else {
                (parse::parse_box(&text, cx.box_format, img.width, img.height), gt)
            };
            r.truth = json!(truth);
            r.parsed = pred.map_or(Value::Null, |b| json!(b));
            r.parse_rule = Some(if pred.is_some() { "box" } else { "none" });
            let iou = pred.map_or(0.0, |b| parse::iou(b, truth));
            r.iou = Some(iou);
            r.correct = Some(iou >= 0.5);
        }
    }
    r.reply = Some(text);
    Ok(())
}

fn rule_name(r: ChoiceRule) -> &'static str {
    match r {
        ChoiceRule::Letter => "letter",
        ChoiceRule::Text => "text",
        ChoiceRule::Similarity => "similarity",
        ChoiceRule::Judge => "judge",
        ChoiceRule::None => "none",
    }
}

/// Metrics of a set of records (all of one group).
fn metrics(task: Task, recs: &[&Record], tok: Tokenisation) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    let n = recs.len().max(1) as f64;
    match task {
        Task::Vqa => {
            m.insert("accuracy".into(), recs.iter().filter(|r| r.correct == Some(true)).count() as f64 / n);
        }
        Task::Grounding => {
            m.insert("acc_iou50".into(), recs.iter().filter(|r| r.correct == Some(true)).count() as f64 / n);
            m.insert("acc_iou75".into(), recs.iter().filter(|r| r.iou.is_some_and(|i| i >= 0.75)).count() as f64 / n);
            m.insert("mean_iou".into(), recs.iter().map(|r| r.iou.unwrap_or(0.0)).sum::<f64>() / n);
        }
        Task::Caption => {
            let preds: Vec<String> =
                recs.iter().map(|r| capm::normalise(r.prediction.as_deref().unwrap_or(""), tok)).collect();
            let refs: Vec<Vec<String>> = recs
                .iter()
                .map(|r| r.references.iter().flatten().map(|s| capm::normalise(s, tok)).collect())
                .collect();
            if let Ok((s, _)) = capm::score(&preds, &refs) {
                for (k, v) in [
                    ("bleu1", s.bleu1),
                    ("bleu2", s.bleu2),
                    ("bleu3", s.bleu3),
                    ("bleu4", s.bleu4),
                    ("rouge_l", s.rouge_l),
                    ("cider", s.cider),
                ] {
                    m.insert(k.into(), v);
                }
            }
        }
    }
    m
}


fn summarise(cx: &Ctx2, items: &[Item], all: &[Record], client: &Client, judge: Option<&Client>) -> RunSummary {
    let task = cx.o.task;
    let tok = if cx.o.compat.raw_captions { Tokenisation::Raw } else { Tokenisation::Words };
    let clean: Vec<&Record> = all.iter().filter(|r| r.perturbation == "clean").collect();
    let clean_by_sample: HashMap<&str, &Record> = clean.iter().map(|r| (r.sample.as_str(), *r)).collect();
    let clean_group = Group {
        perturbation: "clean".into(),
        category: "clean".into(),
        level: 0,
        n: clean.len(),
        errors: clean.iter().filter(|r| r.error.is_some()).count(),
        metrics: metrics(task, &clean, tok),
        drop: BTreeMap::new(),
    };
    // Groups in record order of first appearance.
    let mut order: Vec<(String, u8)> = Vec::new();
    let mut by: HashMap<(String, u8), Vec<&Record>> = HashMap::new();
    for r in all.iter().filter(|r| r.perturbation != "clean") {
        let k = (r.perturbation.clone(), r.level);
        if !by.contains_key(&k) {
            order.push(k.clone());
        }
        by.entry(k).or_default().push(r);
    }
    let mut groups = Vec::new();
    for k in order {
        let recs = &by[&k];
        let same_clean: Vec<&Record> = recs.iter().filter_map(|r| clean_by_sample.get(r.sample.as_str()).copied()).collect();
        let gm = metrics(task, recs, tok);
        let cm = metrics(task, &same_clean, tok);
        let drop = gm.iter().filter_map(|(name, v)| cm.get(name).map(|c| (name.clone(), c - v))).collect();
        groups.push(Group {
            perturbation: k.0.clone(),
            category: recs[0].category.clone(),
            level: k.1,
            n: recs.len(),
            errors: recs.iter().filter(|r| r.error.is_some()).count(),
            metrics: gm,
            drop,
        });
    }
    let mut cats: BTreeMap<(String, u8), Vec<&Group>> = BTreeMap::new();
    for g in &groups {
        cats.entry((g.category.clone(), g.level)).or_default().push(g);
    }
    let categories = cats
        .into_iter()
        .map(|((category, level), gs)| {
            let mut drop: BTreeMap<String, f64> = BTreeMap::new();
            for g in &gs {
                for (k, v) in &g.drop {
                    *drop.entry(k.clone()).or_insert(0.0) += v / gs.len() as f64;
                }
            }
            CategoryDrop { category, level, perturbations: gs.len(), drop }
        })
        .collect();
    let stat = |c: &Client, f: fn(&super::client::Stats) -> &std::sync::atomic::AtomicU64| f(&c.stats).load(Ordering::Relaxed);
    let sum = |f: fn(&super::client::Stats) -> &std::sync::atomic::AtomicU64| stat(client, f) + judge.map_or(0, |j| stat(j, f));
    RunSummary {
        model: cx.model.name.clone(),
        task: task.as_str(),
        dataset: cx.dataset.to_string(),
        samples: items.len(),
        records: all.len(),
        errors: all.iter().filter(|r| r.error.is_some()).count(),
        requests: sum(|s| &s.requests),
        retries: sum(|s| &s.retries),
        cache_hits: sum(|s| &s.cache_hits),
        clean: clean_group,
        groups,
        categories,
    }
}

/// The printed summary: the clean metrics and the drop per category and level.
pub fn render(s: &RunSummary) -> String {
    let fmt = |m: &BTreeMap<String, f64>| m.iter().map(|(k, v)| format!("{k}={v:.4}")).collect::<Vec<_>>().join(" ");
    let mut out = format!(
        "{} {} on {}: {} samples, {} records, {} errors, {} requests ({} retries), {} cache hits\n",
        s.model, s.task, s.dataset, s.samples, s.records, s.errors, s.requests, s.retries, s.cache_hits
    );
    out.push_str(&format!("clean: {}\n", fmt(&s.clean.metrics)));
    for c in &s.categories {
        out.push_str(&format!("drop {} L{} ({} perturbations): {}\n", c.category, c.level, c.perturbations, fmt(&c.drop)));
    }
    out
}
