// Per-pixel math of mri_bias_field, shared by kernels/mri.cu and the host-math shim
// (kernels/host/shim_mri.cpp). Twin: src/perturb/mri/bias_field.rs `apply`:
// x exp(s l), l the f32 log bias field at s = 1 (prepared on the host), finished by `mfr_finish`.
// expf: bit-identical on the host (same libm as Rust's f32::exp); on the device CUDA's expf is
// within 2 ulp (tolerance of spec/gpu.md).
// mri_ghosting: twin of src/perturb/mri/ghosting.rs `apply`: v - s g, with g the f32 ghost
// component of the sample's channel (k-space work done once on the host by `ghost_field`), then
// `mfr_finish`; bit-identical (no transcendental). mri_motion (k-space per strength): mri_motion.cuh.
#pragma once
#include "pointwise.cuh"

MFR_HD float mfr_mri_bias_field(float v, float l, float s) { return v * expf(s * l); }

MFR_HD float mfr_mri_ghosting(float v, float g, float s) { return v - s * g; }
