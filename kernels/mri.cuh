// Per-pixel math of mri_bias_field, shared by kernels/mri.cu and the host-math shim
// (kernels/host/shim_mri.cpp). Twin: src/perturb/mri/bias_field.rs `apply`:
// x exp(s l), l the f32 log bias field at s = 1 (prepared on the host), finished by `mfr_finish`.
// expf: bit-identical on the host (same libm as Rust's f32::exp); on the device CUDA's expf is
// within 2 ulp (tolerance of spec/gpu.md).
// The k-space perturbations (mri_ghosting, mri_motion) have no kernel yet.
#pragma once
#include "pointwise.cuh"

MFR_HD float mfr_mri_bias_field(float v, float l, float s) { return v * expf(s * l); }
