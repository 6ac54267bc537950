//! Model evaluation: segmentation through ONNX Runtime ([`seg`]) and VLMs over
//! OpenAI-compatible HTTP APIs ([`vlm`]).

pub mod seg;
pub mod vlm;
