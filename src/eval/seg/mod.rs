//! Segmentation models through ONNX Runtime (SAM-family presets, generic graphs).
//!
//! - [`ort`]: finding the ONNX Runtime library, the process-wide environment, sessions and
//!   execution providers, interface checks;
//! - [`sam`]: the presets (medsam, sam-med2d, litemedsam): pre-processing, prompts, post-processing;
//! - [`resize`]: the resamplers those presets use (Pillow, PyTorch semantics);
//! - [`generic`]: a single-graph image -> logits model;
//! - [`model`]: model description (flags or TOML) and loaded sessions.
//!
//! The evaluation loop is the pipeline's (crate::run); its segmentation evaluator is
//! crate::run::eval::SegEvaluator.
//!
//! User documentation: docs/segmentation.md.

pub mod generic;
pub mod model;
pub mod ort;
pub mod resize;
pub mod sam;

pub use model::{Model, ModelSpec, SamModel};
