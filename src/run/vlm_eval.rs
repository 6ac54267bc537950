//! The VLM evaluator of the pipeline: one request per unit to an OpenAI-compatible endpoint
//! (crate::eval::vlm: client, cache, prompts, parsing), the reply scored per task.
//!
//! Per-unit metrics (`metrics` of the record): vqa `correct` (0/1); grounding `iou` and
//! `correct` (IoU >= 0.5); captioning has none per item: BLEU/ROUGE-L/CIDEr are corpus-level and
//! computed from the records' `prediction` and `references` by the aggregation. Task-specific
//! record fields: `image`, `prompt_hash`, `reply`, `parsed`, `parse_rule`, `truth`,
//! `judge_score`, `prediction`, `references`, `tokenisation`, `cached`, `attempts`.
//!
//! A failed request is a unit error (excluded from every metric, counted separately). A judge
//! that fails after the model replied keeps the reply in the record and fails the unit.
//! Requests of a batch run concurrently (the model's `concurrency`); results keep input order.

use super::config::{ModelConfig, Profile};
use super::eval::{Measured, UnitEvaluator, UnitInput};
use crate::error::{Error, Result};
use crate::eval::vlm::parse::{self, letter, ChoiceRule};
use crate::eval::vlm::tasks::ItemKind;
use crate::eval::vlm::{self, cache, images, prompts, ChatRequest, Client, Compat};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct VlmEvaluator {
    name: String,
    task: &'static str,
    client: Client,
    judge: Option<Client>,
    compat: Compat,
    box_format: parse::BoxFormat,
    concurrency: usize,
}

/// The quirk switches of the authors' VLM protocol (`--compat` of eval-vlm, `vlm_compat` of a
/// model): all, vqa-no-options, box-first-four, raw-captions.
pub fn compat_flags(list: &[String]) -> Result<Compat> {
    let mut c = Compat::default();
    for f in list.iter().map(|s| s.trim()) {
        match f {
            "all" | "medfm-robust" | "medfm-robust-compat" => c = Compat::all(),
            "vqa-no-options" => c.vqa_without_options = true,
            "box-first-four" => c.box_first_four = true,
            "raw-captions" => c.raw_captions = true,
            "" => {}
            other => {
                return Err(Error::invalid(
                    "compat",
                    format!(
                    "unknown switch '{other}' (all, vqa-no-options, box-first-four, raw-captions)"
                ),
                ))
            }
        }
    }
    Ok(c)
}

/// What a VLM model entry describes, read and checked: its MODEL.toml, box format, judge and
/// quirk switches. Opens nothing.
struct Checked {
    cfg: vlm::ModelConfig,
    box_format: parse::BoxFormat,
    judge: Option<vlm::ModelConfig>,
    compat: Compat,
}

fn read(m: &ModelConfig) -> Result<Checked> {
    let what = format!("model '{}'", m.name);
    let path = m
        .model
        .as_ref()
        .ok_or_else(|| Error::other(what.clone(), "needs `model = \"MODEL.toml\"`"))?;
    let cfg =
        vlm::ModelConfig::load(path).map_err(|e| Error::other(what.clone(), e.to_string()))?;
    let box_format = cfg
        .box_format()
        .map_err(|e| Error::other(what.clone(), e.to_string()))?;
    let judge = match &m.judge {
        Some(j) => Some(
            vlm::ModelConfig::load(j)
                .map_err(|e| Error::other(format!("{what} judge"), e.to_string()))?,
        ),
        None => None,
    };
    let compat = compat_flags(&m.vlm_compat).map_err(|e| Error::other(what, e.to_string()))?;
    Ok(Checked {
        cfg,
        box_format,
        judge,
        compat,
    })
}

/// The validation pass's check of a VLM model: its MODEL.toml (and judge) load, its box
/// format and quirk switches are known. Opens nothing.
pub fn check(m: &ModelConfig) -> Result<()> {
    read(m).map(|_| ())
}

impl VlmEvaluator {
    /// Load the MODEL.toml (and judge) of `m`; responses are cached under `out/cache/`.
    pub fn load(m: &ModelConfig, profile: Profile, out: &Path) -> Result<VlmEvaluator> {
        let Checked {
            cfg,
            box_format,
            judge,
            mut compat,
        } = read(m)?;
        let cache_dir = out.join("cache");
        let concurrency = m.concurrency.unwrap_or(cfg.concurrency).max(1);
        let client = Client::new(cfg, Some(cache::Cache::open(&cache_dir)?))?;
        let judge = match judge {
            Some(jc) => Some(Client::new(
                jc,
                Some(cache::Cache::open(&cache_dir.join("judge"))?),
            )?),
            None => None,
        };
        if profile == Profile::Compat {
            compat = Compat::all();
        }
        let task = match m.task.as_str() {
            "vqa" => "vqa",
            "caption" => "caption",
            "grounding" => "grounding",
            other => {
                return Err(Error::other(
                    format!("model '{}'", m.name),
                    format!("task '{other}' is not a VLM task"),
                ))
            }
        };
        Ok(VlmEvaluator {
            name: m.name.clone(),
            task,
            client,
            judge,
            compat,
            box_format,
            concurrency,
        })
    }

    /// Requests sent, retries and cache hits so far (model and judge together).
    pub fn stats(&self) -> (u64, u64, u64) {
        let s = |c: &Client| {
            (
                c.stats.requests.load(Ordering::Relaxed),
                c.stats.retries.load(Ordering::Relaxed),
                c.stats.cache_hits.load(Ordering::Relaxed),
            )
        };
        let (a, b, c) = s(&self.client);
        let (d, e, f) = self.judge.as_ref().map_or((0, 0, 0), s);
        (a + d, b + e, c + f)
    }

    /// One unit: a failure after the prompt was built keeps the fields gathered so far (prompt
    /// hash, the reply when the judge failed) in the record, with the error and no metrics.
    fn ask(&self, input: &UnitInput<'_>) -> Result<Measured> {
        let mut m = Measured::default();
        if let Err(e) = self.fill(input, &mut m) {
            m.metrics.clear();
            m.error = Some(e.to_string());
        }
        Ok(m)
    }

    fn fill(&self, input: &UnitInput<'_>, m: &mut Measured) -> Result<()> {
        let item = input.sample.vlm.as_deref().ok_or_else(|| {
            Error::other(
                format!("sample {}", input.sample.id),
                "not a VLM sample (wrong dataset reader for this model)",
            )
        })?;
        let f = &mut m.fields;
        f.insert(
            "image".into(),
            json!(item.relative.to_string_lossy().replace('\\', "/")),
        );
        let prompt = match &item.kind {
            ItemKind::Vqa {
                question, options, ..
            } => prompts::vqa(question, options, self.compat),
            ItemKind::Caption { .. } => prompts::caption(),
            ItemKind::Grounding { question, .. } => prompts::grounding(question, self.compat),
        };
        let system = self
            .client
            .config()
            .system_prompt
            .clone()
            .unwrap_or_default();
        f.insert(
            "prompt_hash".into(),
            json!(cache::sha256_hex(format!("{system}\u{0}{prompt}").as_bytes())[..16].to_string()),
        );
        let gt_box = match &item.kind {
            ItemKind::Grounding { .. } => {
                let truth = input.truth().ok_or_else(|| {
                    Error::other(item.id.clone(), "grounding sample without its truth box")
                })?;
                Some(images::mask_box(truth).ok_or_else(|| {
                    Error::invalid(
                        item.id.clone(),
                        "the object left the image under this perturbation",
                    )
                })?)
            }
            _ => None,
        };
        if let ItemKind::Caption { references } = &item.kind {
            f.insert("references".into(), json!(references));
            f.insert(
                "tokenisation".into(),
                json!(if self.compat.raw_captions {
                    "raw"
                } else {
                    "words"
                }),
            );
        }
        if let ItemKind::Vqa { answer, .. } = &item.kind {
            f.insert("truth".into(), json!(letter(*answer).to_string()));
        }
        let png = images::encode_png(input.image())?;
        let reply = self.client.complete(&ChatRequest {
            prompt: &prompt,
            png: Some(&png),
        })?;
        f.insert("cached".into(), json!(reply.cached));
        f.insert("attempts".into(), json!(reply.attempts));
        f.insert("reply".into(), json!(reply.text));
        let text = reply.text;
        match &item.kind {
            ItemKind::Vqa {
                question,
                options,
                answer,
                ..
            } => {
                let c = parse::parse_choice(&text, options);
                f.insert(
                    "parsed".into(),
                    c.index
                        .map_or(Value::Null, |i| json!(letter(i).to_string())),
                );
                f.insert("parse_rule".into(), json!(rule_name(c.rule)));
                let mut correct = c.index == Some(*answer);
                if let Some(j) = &self.judge {
                    let jp = prompts::judge(
                        question,
                        options,
                        &format!("{}. {}", letter(*answer), options[*answer]),
                        &text,
                    );
                    match j.complete(&ChatRequest {
                        prompt: &jp,
                        png: None,
                    }) {
                        Ok(jr) => {
                            let score =
                                parse::box_numbers(&format!("{} 0 0 0 0", jr.text)).map(|v| v[0]);
                            f.insert("judge_score".into(), json!(score));
                            f.insert("parse_rule".into(), json!("judge"));
                            correct = score.is_some_and(|s| s >= 0.5);
                        }
                        Err(e) => return Err(Error::other("judge", e.to_string())),
                    }
                }
                m.metrics
                    .insert("correct".into(), f64::from(u8::from(correct)));
            }
            ItemKind::Caption { .. } => {
                f.insert("prediction".into(), json!(text));
            }
            ItemKind::Grounding { .. } => {
                let gt = gt_box.unwrap_or([0.0; 4]);
                let (w, h) = (input.image().width as f64, input.image().height as f64);
                let (pred, truth) = if self.compat.box_first_four {
                    (
                        parse::compat_box(&text),
                        [gt[0] / w, gt[1] / h, gt[2] / w, gt[3] / h],
                    )
                } else {
                    (
                        parse::parse_box(
                            &text,
                            self.box_format,
                            input.image().width,
                            input.image().height,
                        ),
                        gt,
                    )
                };
                f.insert("truth".into(), json!(truth));
                f.insert("parsed".into(), pred.map_or(Value::Null, |b| json!(b)));
                f.insert(
                    "parse_rule".into(),
                    json!(if pred.is_some() { "box" } else { "none" }),
                );
                let iou = pred.map_or(0.0, |b| parse::iou(b, truth));
                m.metrics.insert("iou".into(), iou);
                m.metrics
                    .insert("correct".into(), f64::from(u8::from(iou >= 0.5)));
            }
        }
        Ok(())
    }
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

impl VlmEvaluator {
    /// `ask` of the inputs at `which`, by up to `workers` request threads, keyed by index.
    fn ask_concurrently(
        &self,
        inputs: &[UnitInput<'_>],
        which: &[usize],
        workers: usize,
    ) -> BTreeMap<usize, Result<Measured>> {
        let next = AtomicUsize::new(0);
        let mut slots = BTreeMap::new();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers.min(which.len()))
                .map(|_| {
                    s.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let k = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&i) = which.get(k) else { break };
                            done.push((i, self.ask(&inputs[i])));
                        }
                        done
                    })
                })
                .collect();
            for h in handles {
                if let Ok(done) = h.join() {
                    slots.extend(done)
                }
            }
        });
        slots
    }
}

/// What makes two units' requests the same: the sample (its prompt) and the image's size and
/// sample bits.
fn request_identity(input: &UnitInput<'_>) -> (String, u64) {
    use std::hash::{Hash, Hasher};
    let img = input.image();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (img.width, img.height, img.channels).hash(&mut h);
    for v in &img.data {
        v.to_bits().hash(&mut h);
    }
    (input.sample.id.clone(), h.finish())
}

impl UnitEvaluator for VlmEvaluator {
    fn task(&self) -> &'static str {
        self.task
    }
    fn preset(&self) -> String {
        format!("vlm:{}", self.client.config().model)
    }
    fn evaluate(&mut self, input: &UnitInput<'_>) -> Result<Measured> {
        self.ask(input)
    }
    fn evaluate_batch(&mut self, inputs: &[UnitInput<'_>]) -> Vec<Result<Measured>> {
        let workers = self.concurrency.min(inputs.len()).max(1);
        if workers == 1 {
            return inputs.iter().map(|i| self.ask(i)).collect();
        }
        // A request that repeats an earlier one of the batch (the same sample and image: an
        // unreachable level's image is the level before it) is sent after all the first ones,
        // so that it reads their cached reply whatever the timing, instead of racing them (the
        // records' `cached` and `attempts` would then depend on which worker ran first).
        let mut seen = std::collections::HashSet::new();
        let (first, repeats): (Vec<usize>, Vec<usize>) =
            (0..inputs.len()).partition(|&i| seen.insert(request_identity(&inputs[i])));
        let mut slots = self.ask_concurrently(inputs, &first, workers);
        slots.extend(self.ask_concurrently(inputs, &repeats, workers));
        let this = &*self;
        (0..inputs.len())
            .map(|i| {
                slots.remove(&i).unwrap_or_else(|| {
                    Err(Error::other(
                        format!("model {}", this.name),
                        "request worker panicked",
                    ))
                })
            })
            .collect()
    }
}
