//! A segmentation model: its description (CLI flags or a small TOML file) and its loaded ONNX
//! sessions, with the interface checked at load.
//!
//! Model TOML (paths relative to the file):
//! ```toml
//! name = "medsam-lora"        # reports group by name and strategy
//! strategy = "lora"           # full, encoder-only, decoder-only, decoder+prompt, lora, adapter, ...
//! preset = "medsam"           # medsam | sam-med2d | sam-med2d:best-iou | litemedsam | generic
//! encoder = "medsam_encoder.onnx"
//! decoder = "medsam_decoder.onnx"
//! # preset = "generic" instead takes one graph and a [generic] table (see generic.rs):
//! # graph = "unet.onnx"
//! # [generic]
//! # size = [256, 256]
//! ```

use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::TensorRef;
use serde::Deserialize;

use super::generic::{GenericModel, GenericSpec};
use super::ort::{
    check_ports, inputs, open_session_with, outputs, Device, Expect, OrtError, TrtOptions,
};
use super::sam::{BoxPrompt, Preset, PromptInputs};
use crate::error::{Error, Result};
use crate::image::{Image, Mask};

/// What a model is, before loading.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub name: String,
    #[serde(default = "default_strategy")]
    pub strategy: String,
    pub preset: String,
    #[serde(default)]
    pub encoder: Option<PathBuf>,
    #[serde(default)]
    pub decoder: Option<PathBuf>,
    #[serde(default)]
    pub graph: Option<PathBuf>,
    #[serde(default)]
    pub generic: Option<GenericSpec>,
    /// TensorRT provider settings (`[tensorrt]`; used with device tensorrt only).
    #[serde(default)]
    pub tensorrt: TrtOptions,
}

fn default_strategy() -> String {
    "full".into()
}

impl ModelSpec {
    /// Read a model TOML; relative graph paths are resolved against its directory.
    pub fn from_toml(path: &Path) -> Result<ModelSpec> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let mut spec: ModelSpec = toml::from_str(&text)
            .map_err(|e| Error::invalid(path.display().to_string(), e.to_string()))?;
        if let Some(g) = &spec.generic {
            g.validate(&format!("{} ({})", spec.name, path.display()))?;
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        spec.tensorrt = std::mem::take(&mut spec.tensorrt).resolved(dir);
        for p in [&mut spec.encoder, &mut spec.decoder, &mut spec.graph]
            .into_iter()
            .flatten()
        {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        Ok(spec)
    }
}

/// A loaded SAM-family model: encoder + prompt decoder sessions (one pair per worker thread).
pub struct SamModel {
    pub name: String,
    pub preset: Preset,
    encoder: Session,
    decoder: Session,
    encoder_input: String,
    /// The encoder's batch dimension is dynamic.
    pub batchable: bool,
    /// Side e of `image_embeddings` (e x e).
    pub embed_side: usize,
}

/// One decoded prediction.
#[derive(Clone, Debug)]
pub struct Prediction {
    pub mask: Mask,
    /// Index of the decoder mask used.
    pub mask_index: usize,
    pub iou_prediction: f32,
}

pub enum Model {
    Sam(Box<SamModel>),
    Generic(Box<GenericModel>),
}

impl Model {
    pub fn load(spec: &ModelSpec, device: Device, intra_threads: usize) -> Result<Model> {
        if spec.preset.trim().eq_ignore_ascii_case("generic") {
            let graph = spec
                .graph
                .as_ref()
                .ok_or_else(|| Error::invalid(&spec.name, "preset generic needs `graph`"))?;
            let g = spec.generic.clone().unwrap_or_default();
            return Ok(Model::Generic(Box::new(GenericModel::load(
                &spec.name,
                graph,
                g,
                device,
                &spec.tensorrt,
                intra_threads,
            )?)));
        }
        let preset = Preset::parse(&spec.preset)?;
        let enc = spec.encoder.as_ref().ok_or_else(|| {
            Error::invalid(
                &spec.name,
                "a SAM preset needs an encoder graph (--encoder)",
            )
        })?;
        let dec = spec.decoder.as_ref().ok_or_else(|| {
            Error::invalid(&spec.name, "a SAM preset needs a decoder graph (--decoder)")
        })?;
        Ok(Model::Sam(Box::new(SamModel::load(
            &spec.name,
            preset,
            enc,
            dec,
            device,
            &spec.tensorrt,
            intra_threads,
        )?)))
    }

    pub fn preset_name(&self) -> String {
        match self {
            Model::Sam(m) => m.preset.name(),
            Model::Generic(_) => "generic".into(),
        }
    }
}

pub(crate) fn ort_err(e: OrtError) -> Error {
    Error::other("onnxruntime", e.to_string())
}

impl SamModel {
    pub fn load(
        name: &str,
        preset: Preset,
        encoder: &Path,
        decoder: &Path,
        device: Device,
        trt: &TrtOptions,
        intra_threads: usize,
    ) -> Result<SamModel> {
        let enc = open_session_with(encoder, device, trt, intra_threads).map_err(ort_err)?;
        let dec = open_session_with(decoder, device, trt, intra_threads).map_err(ort_err)?;
        let s = preset.input_size() as i64;
        let pname = preset.name();
        let enc_label = encoder.display().to_string();
        let dec_label = decoder.display().to_string();

        // Encoder: one f32 input [B, 3, S, S] (any name), output image_embeddings [B, 256, e, e].
        let ein = inputs(&enc);
        let input_name = match ein.as_slice() {
            [one] => one.name.clone(),
            _ => "image".to_string(),
        };
        let want_in = [Expect::new(&input_name, &[None, Some(3), Some(s), Some(s)])];
        check_ports(&enc_label, &pname, "input", &want_in, &ein, false).map_err(ort_err)?;
        let eout = outputs(&enc);
        check_ports(
            &enc_label,
            &pname,
            "output",
            &[Expect::new(
                "image_embeddings",
                &[None, Some(256), None, None],
            )],
            &eout,
            true,
        )
        .map_err(ort_err)?;
        let emb = eout
            .iter()
            .find(|p| p.name == "image_embeddings")
            .map(|p| p.shape.clone())
            .unwrap_or_default();
        let batch = ein[0].shape[0];
        let embed_side = match (emb[2], emb[3]) {
            (a, b) if a > 0 && a == b => a as usize,
            // Dynamic: SAM's rule, S / 16.
            _ => (s / 16) as usize,
        };
        let e = embed_side as i64;

        // Decoder: segment-anything's ONNX layout.
        let want_dec_in = [
            Expect::new("image_embeddings", &[Some(1), Some(256), Some(e), Some(e)]),
            Expect::new("point_coords", &[Some(1), None, Some(2)]),
            Expect::new("point_labels", &[Some(1), None]),
            Expect::new("mask_input", &[Some(1), Some(1), Some(4 * e), Some(4 * e)]),
            Expect::new("has_mask_input", &[Some(1)]),
            Expect::new("orig_im_size", &[Some(2)]),
        ];
        check_ports(
            &dec_label,
            &pname,
            "input",
            &want_dec_in,
            &inputs(&dec),
            false,
        )
        .map_err(ort_err)?;
        let want_dec_out = [
            Expect::new("masks", &[None, None, None, None]),
            Expect::new("iou_predictions", &[None, None]),
            Expect::new("low_res_masks", &[None, None, None, None]),
        ];
        let dout = outputs(&dec);
        check_ports(&dec_label, &pname, "output", &want_dec_out, &dout, true).map_err(ort_err)?;
        if preset.mask_choice == super::sam::MaskChoice::BestIou {
            let n = dout
                .iter()
                .find(|p| p.name == "low_res_masks")
                .map(|p| p.shape[1])
                .unwrap_or(-1);
            if (0..4).contains(&n) {
                return Err(ort_err(OrtError::Interface {
                    model: dec_label,
                    preset: pname,
                    details: format!("  output low_res_masks: best-iou needs 4 masks (export without single-mask selection), found {n}"),
                }));
            }
        }
        Ok(SamModel {
            name: name.to_string(),
            preset,
            encoder: enc,
            decoder: dec,
            encoder_input: input_name,
            batchable: batch < 0,
            embed_side,
        })
    }

    /// Run the encoder on preprocessed inputs (each 3 x S x S); batched when the graph allows.
    pub fn encode(&mut self, tensors: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        let s = self.preset.input_size();
        let per = 3 * s * s;
        let emb_len = 256 * self.embed_side * self.embed_side;
        let mut out = Vec::with_capacity(tensors.len());
        let chunk = if self.batchable {
            tensors.len().max(1)
        } else {
            1
        };
        for group in tensors.chunks(chunk) {
            let mut data = Vec::with_capacity(per * group.len());
            for t in group {
                data.extend_from_slice(t);
            }
            let shape = [group.len() as i64, 3, s as i64, s as i64];
            let input = TensorRef::from_array_view((shape, data.as_slice()))
                .map_err(|e| self.run_err(&e))?;
            let outputs = self
                .encoder
                .run(ort::inputs![self.encoder_input.as_str() => input])
                .map_err(|e| run_err(&self.name, &e))?;
            let (shape, emb) = outputs["image_embeddings"]
                .try_extract_tensor::<f32>()
                .map_err(|e| run_err(&self.name, &e))?;
            if emb.len() != emb_len * group.len() {
                return Err(Error::Shape {
                    what: format!("{}: image_embeddings", self.name),
                    expected: format!("[{}, 256, {e}, {e}]", group.len(), e = self.embed_side),
                    found: format!("{shape:?}"),
                });
            }
            check_finite(
                &format!("{}: encoder output image_embeddings", self.name),
                emb,
            )?;
            out.extend(emb.chunks_exact(emb_len).map(<[f32]>::to_vec));
        }
        Ok(out)
    }

    /// Decode one box on one embedding and post-process to a mask on the original `w x h` grid.
    pub fn decode(
        &mut self,
        embedding: &[f32],
        bx: BoxPrompt,
        w: usize,
        h: usize,
    ) -> Result<(Prediction, PromptInputs)> {
        let e = self.embed_side as i64;
        let p = self.preset.prompt(bx, w, h, self.embed_side);
        let coords = [
            p.point_coords[0][0],
            p.point_coords[0][1],
            p.point_coords[1][0],
            p.point_coords[1][1],
        ];
        let side = p.mask_input_side;
        let mask_input = vec![0.0f32; side * side];
        let has = [p.has_mask_input];
        let name = self.name.clone();
        let re = |e: &dyn std::fmt::Display| run_err(&name, e);
        let inputs = ort::inputs![
            "image_embeddings" => TensorRef::from_array_view(([1i64, 256, e, e], embedding)).map_err(|x| re(&x))?,
            "point_coords" => TensorRef::from_array_view(([1i64, 2, 2], &coords[..])).map_err(|x| re(&x))?,
            "point_labels" => TensorRef::from_array_view(([1i64, 2], &p.point_labels[..])).map_err(|x| re(&x))?,
            "mask_input" => TensorRef::from_array_view(([1i64, 1, side as i64, side as i64], mask_input.as_slice())).map_err(|x| re(&x))?,
            "has_mask_input" => TensorRef::from_array_view(([1i64], &has[..])).map_err(|x| re(&x))?,
            "orig_im_size" => TensorRef::from_array_view(([2i64], &p.orig_im_size[..])).map_err(|x| re(&x))?,
        ];
        let outputs = self.decoder.run(inputs).map_err(|x| re(&x))?;
        let (ishape, iou) = outputs["iou_predictions"]
            .try_extract_tensor::<f32>()
            .map_err(|x| re(&x))?;
        let (lshape, low) = outputs["low_res_masks"]
            .try_extract_tensor::<f32>()
            .map_err(|x| re(&x))?;
        if lshape.len() != 4 || lshape[0] != 1 || ishape.iter().product::<i64>() != lshape[1] {
            return Err(Error::Shape {
                what: format!("{}: decoder outputs", self.name),
                expected: "low_res_masks [1, n, h, w] with iou_predictions [1, n]".into(),
                found: format!("{lshape:?} and {ishape:?}"),
            });
        }
        let (lh, lw) = (lshape[2] as usize, lshape[3] as usize);
        check_finite(&format!("{}: decoder output low_res_masks", self.name), low)?;
        check_finite(
            &format!("{}: decoder output iou_predictions", self.name),
            iou,
        )?;
        let k = self.preset.choose(iou)?;
        let plane = &low[k * lh * lw..(k + 1) * lh * lw];
        let logits = self.preset.logits_to_original(plane, lw, lh, w, h);
        let mask = super::sam::threshold(&logits, w, h, 0.0);
        Ok((
            Prediction {
                mask,
                mask_index: k,
                iou_prediction: iou[k],
            },
            p,
        ))
    }

    fn run_err(&self, e: &dyn std::fmt::Display) -> Error {
        run_err(&self.name, e)
    }

    /// Preprocess + encode + decode one image with one box (convenience for tests and tools).
    pub fn predict(&mut self, img: &Image, bx: BoxPrompt) -> Result<Prediction> {
        let t = self.preset.preprocess(img)?;
        let emb = self.encode(&[t])?;
        Ok(self.decode(&emb[0], bx, img.width, img.height)?.0)
    }
}

pub(crate) fn run_err(model: &str, e: &dyn std::fmt::Display) -> Error {
    ort_err(OrtError::Run {
        model: model.to_string(),
        reason: e.to_string(),
    })
}

/// Model output must be finite: NaN logits would silently threshold to an empty mask (IoU 0).
pub(crate) fn check_finite(what: &str, values: &[f32]) -> Result<()> {
    let count = values.iter().filter(|v| !v.is_finite()).count();
    if count == 0 {
        Ok(())
    } else {
        Err(Error::NonFinite {
            what: what.to_string(),
            count,
            total: values.len(),
        })
    }
}
