//! A generic single-graph segmenter: image -> logits (a U-Net, a fine-tuned SegFormer export, ...).
//!
//! Pre-processing: grey repeated to 3 channels (or luminance when `channels = 1`), Pillow bilinear
//! squash to `size` (w, h), values `v * scale` then `(v - mean[c]) / std[c]`. The graph has one
//! f32 input [B, C, h, w] and its first (or named) output is logits [B, 1, h', w'] or [B, h', w'];
//! logits are resized to the original size with PyTorch bilinear (align_corners=False) and the
//! mask is `logit > threshold` (0 for logits; use 0.5 for a graph that ends in a sigmoid).
//! No prompt: the box is ignored.

use std::path::Path;

use ort::session::Session;
use ort::value::TensorRef;
use serde::Deserialize;

use super::model::{ort_err, run_err};
use super::ort::{inputs, open_session_with, outputs, Device, OrtError, TrtOptions};
use super::resize::{bilinear_logits, resample, Filter};
use super::sam::threshold;
use crate::error::{Error, Result};
use crate::image::{Image, Mask};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GenericSpec {
    /// Input (width, height).
    pub size: [usize; 2],
    /// 3 (RGB; grey repeated) or 1 (luminance).
    pub channels: usize,
    /// Multiplier applied to the [0,1] image before mean/std (255 for models trained on 0-255).
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub threshold: f32,
    /// Output to read; the first output when absent.
    pub output: Option<String>,
}

impl Default for GenericSpec {
    fn default() -> Self {
        GenericSpec {
            size: [256, 256],
            channels: 3,
            scale: 1.0,
            mean: [0.0; 3],
            std: [1.0; 3],
            threshold: 0.0,
            output: None,
        }
    }
}

impl GenericSpec {
    /// Preprocessing parameters that give finite tensors: 1 or 3 channels, sides 1..=8192, `scale`
    /// finite and non-zero, `mean` finite, `std` finite and positive, `threshold` finite. A
    /// config error naming the model and the key otherwise.
    pub fn validate(&self, name: &str) -> Result<()> {
        let bad = |key: &str, reason: String| {
            Err(Error::invalid(
                format!("model {name}: generic.{key}"),
                reason,
            ))
        };
        if self.channels != 1 && self.channels != 3 {
            return bad("channels", format!("must be 1 or 3, got {}", self.channels));
        }
        if self.size.iter().any(|&s| !(1..=8192).contains(&s)) {
            return bad(
                "size",
                format!("{:?}: each side must be in 1..=8192", self.size),
            );
        }
        if !self.scale.is_finite() || self.scale == 0.0 {
            return bad(
                "scale",
                format!("{}: must be a finite, non-zero number", self.scale),
            );
        }
        if let Some(m) = self.mean.iter().find(|m| !m.is_finite()) {
            return bad(
                "mean",
                format!("{m} in {:?}: every value must be finite", self.mean),
            );
        }
        if self.std.iter().any(|s| !s.is_finite() || *s <= 0.0) {
            return bad(
                "std",
                format!(
                    "{:?}: every value must be finite and > 0 (it divides the input)",
                    self.std
                ),
            );
        }
        if !self.threshold.is_finite() {
            return bad("threshold", format!("{}: must be finite", self.threshold));
        }
        Ok(())
    }
}

pub struct GenericModel {
    pub name: String,
    pub spec: GenericSpec,
    session: Session,
    input: String,
    output: String,
}

impl GenericModel {
    pub fn load(
        name: &str,
        graph: &Path,
        spec: GenericSpec,
        device: Device,
        trt: &TrtOptions,
        intra_threads: usize,
    ) -> Result<GenericModel> {
        spec.validate(name)?;
        let session = open_session_with(graph, device, trt, intra_threads).map_err(ort_err)?;
        let label = graph.display().to_string();
        let ins = inputs(&session);
        let outs = outputs(&session);
        let iface = |d: String| {
            ort_err(OrtError::Interface {
                model: label.clone(),
                preset: "generic".into(),
                details: d,
            })
        };
        let [input] = ins.as_slice() else {
            return Err(iface(format!(
                "  expected one input [B, {}, {}, {}], found {}",
                spec.channels,
                spec.size[1],
                spec.size[0],
                ins.len()
            )));
        };
        let want = [
            spec.channels as i64,
            spec.size[1] as i64,
            spec.size[0] as i64,
        ];
        let ok = input.shape.len() == 4
            && input.shape[1..]
                .iter()
                .zip(want)
                .all(|(&have, w)| have < 0 || have == w);
        if !ok {
            return Err(iface(format!(
                "  input {}: expected [B, {}, {}, {}], found {}",
                input.name,
                want[0],
                want[1],
                want[2],
                input.describe()
            )));
        }
        let output = match &spec.output {
            Some(o) if outs.iter().any(|p| &p.name == o) => o.clone(),
            Some(o) => {
                return Err(iface(format!(
                    "  output {o}: missing; found {}",
                    outs.iter()
                        .map(|p| p.name.clone())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
            None => outs
                .first()
                .map(|p| p.name.clone())
                .ok_or_else(|| iface("  no outputs".into()))?,
        };
        Ok(GenericModel {
            name: name.to_string(),
            spec,
            session,
            input: input.name.clone(),
            output,
        })
    }

    pub fn preprocess(&self, img: &Image) -> Vec<f32> {
        let [w, h] = self.spec.size;
        let src = if self.spec.channels == 3 {
            img.to_rgb()
        } else {
            Image::from_planes(img.width, img.height, 1, img.luminance())
        };
        let mut out = Vec::with_capacity(self.spec.channels * w * h);
        for c in 0..self.spec.channels {
            let scaled: Vec<f32> = src.plane(c).iter().map(|v| v * self.spec.scale).collect();
            let r = resample(&scaled, img.width, img.height, w, h, Filter::Bilinear);
            out.extend(
                r.into_iter()
                    .map(|v| (v - self.spec.mean[c]) / self.spec.std[c]),
            );
        }
        out
    }

    pub fn predict(&mut self, img: &Image) -> Result<Mask> {
        let [w, h] = self.spec.size;
        let t = self.preprocess(img);
        let shape = [1i64, self.spec.channels as i64, h as i64, w as i64];
        let name = self.name.clone();
        let input =
            TensorRef::from_array_view((shape, t.as_slice())).map_err(|e| run_err(&name, &e))?;
        let outs = self
            .session
            .run(ort::inputs![self.input.as_str() => input])
            .map_err(|e| run_err(&name, &e))?;
        let (shape, logits) = outs[self.output.as_str()]
            .try_extract_tensor::<f32>()
            .map_err(|e| run_err(&name, &e))?;
        let dims: Vec<i64> = shape.iter().copied().collect();
        let (lh, lw) = match dims.as_slice() {
            [1, 1, a, b] | [1, a, b] => (*a as usize, *b as usize),
            _ => {
                return Err(Error::Shape {
                    what: format!("{name}: output {}", self.output),
                    expected: "[1, 1, h, w] or [1, h, w]".into(),
                    found: format!("{dims:?}"),
                })
            }
        };
        if logits.len() != lh * lw {
            return Err(Error::Shape {
                what: format!("{name}: output {}", self.output),
                expected: format!("{lh}x{lw} values"),
                found: format!("{}", logits.len()),
            });
        }
        super::model::check_finite(&format!("{name}: output {}", self.output), logits)?;
        let full = bilinear_logits(logits, lw, lh, img.width, img.height);
        Ok(threshold(&full, img.width, img.height, self.spec.threshold))
    }
}
