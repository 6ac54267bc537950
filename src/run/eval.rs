//! What a work unit measures: the [`UnitEvaluator`] trait and its segmentation implementation.
//!
//! [`SegEvaluator`] drives any [`Segmenter`] (box-prompted or not) and scores IoU and Dice against
//! the ground-truth mask of the evaluated image (the warped mask for geometric perturbations in the
//! default profile; the original mask in the compat profile). Two built-in stand-in segmenters make
//! the whole run/report pipeline testable without model files:
//! - `builtin-threshold`: inside the box prompt, a pixel is foreground when its luminance is
//!   closer to the box centre's mean than to the box border's mean;
//! - `builtin-threshold-smoothed`: the same after a 5x5 mean filter (a more noise-robust
//!   "strategy").
//!
//! Every other preset (medsam, sam-med2d, litemedsam, generic) is an ONNX model of
//! crate::eval::seg, loaded by [`load_segmenter`] and driven through [`OnnxSegmenter`].

use super::config::ModelConfig;
use super::data::Sample;
use super::exec::{Item, Source};
use super::records::Record;
use crate::calibrate::Verdict;
use crate::error::{Error, Result};
use crate::eval::seg::ort::{Device, TrtOptions};
use crate::eval::seg::sam::BoxPrompt;
use crate::eval::seg::{Model, ModelSpec};
use crate::image::{Image, Mask};
use crate::perturb::Perturbation;
use std::collections::BTreeMap;

/// A segmentation model: an image (values in [0, 1]) and an optional inclusive box prompt
/// (x0, y0, x1, y1) in, a binary mask of the image's size out.
pub trait Segmenter: Send {
    /// Preset name recorded with each unit.
    fn preset(&self) -> String;
    /// Whether the model needs a box prompt (then an empty ground truth is an error).
    fn needs_box(&self) -> bool;
    fn predict(&mut self, img: &Image, prompt: Option<[usize; 4]>) -> Result<Mask>;
}

/// What a unit evaluation produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measured {
    pub metrics: BTreeMap<String, f64>,
    pub prompt: Option<[usize; 4]>,
    /// Task-specific record fields (reply, parsed, parse_rule, truth, ...).
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Set when the unit failed after producing some fields (e.g. the judge failed after the
    /// model replied): the record keeps the fields, has no metrics, and carries this error.
    pub error: Option<String>,
    /// Set by an evaluator that re-measured the image as it left the pipeline (`perturb` writes
    /// it, encoded, and measures the decoded file): the record's ssim, verdict and reason.
    pub remeasured: Option<Remeasured>,
}

/// The SSIM of what a unit delivered, when it differs from the produced image's (lossy writing).
#[derive(Clone, Debug, PartialEq)]
pub struct Remeasured {
    pub ssim: f64,
    pub verdict: Verdict,
    pub reason: Option<String>,
}

/// The input of one unit evaluation.
pub struct UnitInput<'a> {
    pub sample: &'a Sample,
    /// The evaluated image (clean: level 0) with its ground truth (segmentation mask; grounding
    /// box as a mask) moved with the image by geometric perturbations, its strength and verdict.
    pub item: &'a Item,
    /// What the sample's file was (bit depth, format, clean SSIM reference).
    pub source: &'a Source,
    /// None for the clean image.
    pub perturbation: Option<&'static dyn Perturbation>,
    /// RNG key of the sample (box jitter).
    pub seed: u64,
    /// The unit's id (box prompt replay).
    pub unit: &'a str,
}

impl UnitInput<'_> {
    pub fn image(&self) -> &Image {
        &self.item.image
    }
    pub fn truth(&self) -> Option<&Mask> {
        self.item.truth.as_ref()
    }
}

/// Produces the metric values of one unit. Implementations may keep state (sessions, caches).
pub trait UnitEvaluator: Send {
    fn task(&self) -> &'static str;
    fn preset(&self) -> String;
    fn evaluate(&mut self, input: &UnitInput<'_>) -> Result<Measured>;
    /// Several units at once, results in input order. I/O-bound evaluators (VLM endpoints)
    /// override this to run requests concurrently; the default evaluates one after another.
    fn evaluate_batch(&mut self, inputs: &[UnitInput<'_>]) -> Vec<Result<Measured>> {
        inputs.iter().map(|i| self.evaluate(i)).collect()
    }
    /// Whether a finished unit's record still stands on resume (a writer checks that its files
    /// are still there); the default keeps every finished record.
    fn keeps(&self, _record: &Record) -> bool {
        true
    }
}

/// Segmentation: IoU and Dice of the predicted mask against the ground truth.
pub struct SegEvaluator {
    pub name: String,
    pub model: Box<dyn Segmenter>,
    /// Box prompt jitter in pixels (0: the tight box).
    pub jitter: u32,
    /// Box prompts to reuse, by unit id (from an earlier records.jsonl).
    pub replay: BTreeMap<String, [usize; 4]>,
}

impl UnitEvaluator for SegEvaluator {
    fn task(&self) -> &'static str {
        "segmentation"
    }
    fn preset(&self) -> String {
        self.model.preset()
    }
    fn evaluate(&mut self, input: &UnitInput<'_>) -> Result<Measured> {
        let sample = &input.sample.id;
        let truth = input
            .truth()
            .ok_or_else(|| Error::other(format!("sample {sample}"), "no ground-truth mask"))?;
        let replayed = self.replay.get(input.unit).copied();
        let prompt = replayed.or_else(|| {
            truth.bbox().map(|(a, b, c, d)| {
                if self.jitter == 0 {
                    return [a, b, c, d];
                }
                let bx = crate::eval::seg::sam::BoxPrompt {
                    x0: a,
                    y0: b,
                    x1: c,
                    y1: d,
                };
                let id = crate::io::image_id(&input.sample.relative);
                let j = bx.jittered(
                    self.jitter,
                    input.seed,
                    id,
                    "box",
                    input.image().width,
                    input.image().height,
                );
                [j.x0, j.y0, j.x1, j.y1]
            })
        });
        if prompt.is_none() && self.model.needs_box() {
            return Err(Error::other(
                format!("sample {sample}"),
                "empty ground-truth mask: no box prompt (documented rule: not scored)",
            ));
        }
        let pred = self.model.predict(input.image(), prompt)?;
        let (iou, dice) = overlap(&pred, truth)
            .map_err(|e| Error::other(format!("model {}", self.name), e.to_string()))?;
        Ok(Measured {
            metrics: BTreeMap::from([("iou".to_string(), iou), ("dice".to_string(), dice)]),
            prompt,
            ..Default::default()
        })
    }
}

/// IoU and Dice; both 1 when prediction and truth are empty (rule of metrics::seg).
pub fn overlap(pred: &Mask, truth: &Mask) -> Result<(f64, f64)> {
    if (pred.width, pred.height) != (truth.width, truth.height) {
        return Err(Error::Shape {
            what: "predicted mask vs ground truth".into(),
            expected: format!("{}x{}", truth.width, truth.height),
            found: format!("{}x{}", pred.width, pred.height),
        });
    }
    let (mut i, mut p, mut t) = (0u64, 0u64, 0u64);
    for (&a, &b) in pred.data.iter().zip(&truth.data) {
        let (a, b) = (a != 0, b != 0);
        i += (a && b) as u64;
        p += a as u64;
        t += b as u64;
    }
    let u = p + t - i;
    if u == 0 {
        return Ok((1.0, 1.0));
    }
    Ok((i as f64 / u as f64, 2.0 * i as f64 / (p + t) as f64))
}

/// The built-in stand-in segmenter (see the module docs).
pub struct BoxThreshold {
    pub smooth: bool,
}

impl Segmenter for BoxThreshold {
    fn preset(&self) -> String {
        if self.smooth {
            "builtin-threshold-smoothed"
        } else {
            "builtin-threshold"
        }
        .into()
    }
    fn needs_box(&self) -> bool {
        true
    }
    fn predict(&mut self, img: &Image, prompt: Option<[usize; 4]>) -> Result<Mask> {
        let (w, h) = (img.width, img.height);
        let [x0, y0, x1, y1] =
            prompt.ok_or_else(|| Error::other("builtin-threshold", "needs a box prompt"))?;
        let (x1, y1) = (x1.min(w - 1), y1.min(h - 1));
        let mut lum = img.luminance();
        if self.smooth {
            lum = mean_filter(&lum, w, h, 2);
        }
        // Border ring of the box = background estimate; central half = object estimate.
        let (mut bs, mut bn, mut cs, mut cn) = (0f64, 0usize, 0f64, 0usize);
        let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let v = lum[y * w + x] as f64;
                if y == y0 || y == y1 || x == x0 || x == x1 {
                    bs += v;
                    bn += 1;
                }
                if (x - x0) * 4 >= bw
                    && (x - x0) * 4 < 3 * bw
                    && (y - y0) * 4 >= bh
                    && (y - y0) * 4 < 3 * bh
                {
                    cs += v;
                    cn += 1;
                }
            }
        }
        let mut m = Mask::new(w, h);
        if bn == 0 || cn == 0 {
            return Ok(m);
        }
        let (bg, fg) = (bs / bn as f64, cs / cn as f64);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let v = lum[y * w + x] as f64;
                m.data[y * w + x] = u8::from((v - fg).abs() < (v - bg).abs());
            }
        }
        Ok(m)
    }
}

/// Mean over a (2r+1)^2 window, borders clamped (replicate).
fn mean_filter(v: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for y in 0..h {
        for x in 0..w {
            let mut s = 0f32;
            for dy in 0..=2 * r {
                let yy = (y + dy).saturating_sub(r).min(h - 1);
                for dx in 0..=2 * r {
                    let xx = (x + dx).saturating_sub(r).min(w - 1);
                    s += v[yy * w + xx];
                }
            }
            out[y * w + x] = s / ((2 * r + 1) * (2 * r + 1)) as f32;
        }
    }
    out
}

/// Load the model of `m` (the validation pass calls this for every model before any work).
/// Built-in presets need no files. Every other preset must name existing graph files and load in
/// ONNX Runtime with the interface its preset expects.
pub fn load_segmenter(m: &ModelConfig, device: &str) -> Result<Box<dyn Segmenter>> {
    let what = format!("model '{}' (strategy '{}')", m.name, m.strategy);
    match m.preset.as_str() {
        "builtin-threshold" | "builtin-threshold-smoothed" => {
            if !m.graphs.is_empty() {
                return Err(Error::other(
                    what,
                    format!("preset '{}' takes no graphs", m.preset),
                ));
            }
            Ok(Box::new(BoxThreshold {
                smooth: m.preset.ends_with("smoothed"),
            }))
        }
        "builtin-fail" => Err(Error::other(
            what,
            "preset 'builtin-fail' always fails to load (for tests)",
        )),
        _ if m.model.is_some() => {
            let path = m.model.as_ref().expect("checked");
            let mut spec = ModelSpec::from_toml(path)
                .map_err(|e| Error::other(what.clone(), e.to_string()))?;
            spec.name = m.name.clone();
            spec.strategy = m.strategy.clone();
            if !m.preset.is_empty() {
                spec.preset = m.preset.clone();
            }
            if let Some(t) = &m.tensorrt {
                spec.tensorrt = t.clone();
            }
            let dev = Device::parse(device).map_err(|e| Error::invalid("device", e))?;
            let model = Model::load(&spec, dev, m.threads)
                .map_err(|e| Error::other(what, e.to_string()))?;
            Ok(Box::new(OnnxSegmenter(model)))
        }
        preset => {
            if m.graphs.is_empty() {
                return Err(Error::other(what, format!("preset '{preset}' needs graphs = {{ encoder = ..., decoder = ... }} or {{ model = ... }}")));
            }
            let missing: Vec<String> = m
                .graphs
                .iter()
                .filter(|(_, p)| !p.is_file())
                .map(|(role, p)| format!("graph '{role}': {} does not exist", p.display()))
                .collect();
            if !missing.is_empty() {
                return Err(Error::other(what, missing.join("; ")));
            }
            let unknown: Vec<&String> = m
                .graphs
                .keys()
                .filter(|k| !["encoder", "decoder", "model"].contains(&k.as_str()))
                .collect();
            if !unknown.is_empty() {
                return Err(Error::other(what, format!("unknown graph role(s) {unknown:?}; expected encoder + decoder (SAM presets) or model (generic)")));
            }
            let spec = ModelSpec {
                name: m.name.clone(),
                strategy: m.strategy.clone(),
                preset: preset.to_string(),
                encoder: m.graphs.get("encoder").cloned(),
                decoder: m.graphs.get("decoder").cloned(),
                graph: m.graphs.get("model").cloned(),
                generic: None,
                // default: trt_cache next to the graphs
                tensorrt: m.tensorrt.clone().unwrap_or_else(|| {
                    let dir = m.graphs.values().next().and_then(|g| g.parent());
                    TrtOptions::default().resolved(dir.unwrap_or(std::path::Path::new(".")))
                }),
            };
            let dev = Device::parse(device).map_err(|e| Error::invalid("device", e))?;
            let model = Model::load(&spec, dev, m.threads)
                .map_err(|e| Error::other(what, e.to_string()))?;
            Ok(Box::new(OnnxSegmenter(model)))
        }
    }
}

/// The ONNX segmentation models of crate::eval::seg (SAM presets take the box prompt; generic
/// graphs ignore it).
pub struct OnnxSegmenter(pub Model);

impl Segmenter for OnnxSegmenter {
    fn preset(&self) -> String {
        self.0.preset_name()
    }
    fn needs_box(&self) -> bool {
        matches!(self.0, Model::Sam(_))
    }
    fn predict(&mut self, img: &Image, prompt: Option<[usize; 4]>) -> Result<Mask> {
        match &mut self.0 {
            Model::Sam(m) => {
                let [x0, y0, x1, y1] = prompt.ok_or_else(|| {
                    Error::other(m.name.clone(), "a SAM preset needs a box prompt")
                })?;
                Ok(m.predict(img, BoxPrompt { x0, y0, x1, y1 })?.mask)
            }
            Model::Generic(g) => g.predict(img),
        }
    }
}

/// The evaluator of a model config: a segmenter, or a VLM endpoint for vqa/caption/grounding.
/// `out` holds the response cache (OUT/cache/<model>/).
pub fn load_evaluator(
    m: &ModelConfig,
    device: &str,
    profile: super::Profile,
    out: &std::path::Path,
) -> Result<Box<dyn UnitEvaluator>> {
    if m.task == "segmentation" {
        let replay = match &m.replay {
            Some(p) => super::records::read_records(p)?
                .into_iter()
                .filter_map(|r| r.prompt.map(|b| (r.unit, b)))
                .collect(),
            None => BTreeMap::new(),
        };
        return Ok(Box::new(SegEvaluator {
            name: m.name.clone(),
            model: load_segmenter(m, device)?,
            jitter: m.jitter,
            replay,
        }));
    }
    Ok(Box::new(super::vlm_eval::VlmEvaluator::load(
        m, profile, out,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_counts() {
        let mut a = Mask::new(4, 1);
        let mut b = Mask::new(4, 1);
        a.data = vec![1, 1, 0, 0];
        b.data = vec![0, 1, 1, 0];
        let (iou, dice) = overlap(&a, &b).unwrap();
        assert!((iou - 1.0 / 3.0).abs() < 1e-12);
        assert!((dice - 0.5).abs() < 1e-12);
        assert_eq!(
            overlap(&Mask::new(2, 2), &Mask::new(2, 2)).unwrap(),
            (1.0, 1.0)
        );
    }

    #[test]
    fn threshold_segments_a_bright_disc() {
        let (w, h) = (40, 40);
        let mut img = Image::new(w, h, 1);
        let mut truth = Mask::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let inside = (x as f32 - 20.0).powi(2) + (y as f32 - 20.0).powi(2) < 64.0;
                img.data[y * w + x] = if inside { 0.8 } else { 0.3 };
                truth.data[y * w + x] = inside as u8;
            }
        }
        let sample = Sample {
            id: "s".into(),
            image: "s.png".into(),
            mask: None,
            modality: None,
            vlm: None,
            relative: "s.png".into(),
            frame: None,
            volume: false,
        };
        let item = super::super::exec::Item::clean(img, Some(truth));
        let source = Source::default();
        let input = UnitInput {
            sample: &sample,
            item: &item,
            source: &source,
            perturbation: None,
            seed: 0,
            unit: "u",
        };
        for smooth in [false, true] {
            let mut ev = SegEvaluator {
                name: "t".into(),
                model: Box::new(BoxThreshold { smooth }),
                jitter: 0,
                replay: BTreeMap::new(),
            };
            let m = ev.evaluate(&input).unwrap();
            assert!(m.metrics["iou"] > 0.6, "{smooth}: {:?}", m.metrics);
        }
        let mut ev = SegEvaluator {
            name: "t".into(),
            model: Box::new(BoxThreshold { smooth: false }),
            jitter: 0,
            replay: BTreeMap::new(),
        };
        let m = ev.evaluate(&input).unwrap();
        assert!((m.metrics["iou"] - 1.0).abs() < 1e-12, "{:?}", m.metrics);
    }
}
