//! Segmentation models through ONNX Runtime (SAM-family presets, generic graphs).
