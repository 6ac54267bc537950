//! Launch wrappers of kernels/ct.cu: ct_window_level, ct_photon_starvation and ct_beam_hardening
//! for a whole batch. Per-image parameters and fields are prepared on the host by
//! [`prepare_param`] / [`prepare_field`] (the same building blocks and order as the CPU `prepare`
//! of src/perturb/ct/); the kernel evaluates `apply(s)` per sample (bit-identical per-pixel math:
//! tests/cuda_host_math_ct.rs). ct_metal_streaks has no kernel yet.

use super::fields::{self, FIELD_NONE, FIELD_PLANE};
use super::{err, CudaEngine, DeviceBatch};
use crate::backend::params::RngKey;
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::common::body::{mean_plane, BodyGeometry};
use crate::perturb::Ctx;
use cudarc::driver::{LaunchConfig, PushKernelArg};

/// Threads per block (kernels/ct.cu `CT_THREADS`).
const THREADS: u32 = 256;

/// The perturbations of kernels/ct.cu, in `op` order (kernels/ct.cuh `MFR_CT_*`).
pub const IDS: [&str; 3] = ["ct_window_level", "ct_photon_starvation", "ct_beam_hardening"];

/// The per-image scalar of `id` (window_level: u = +-U(0.25, 0.5); others 0).
pub fn prepare_param(id: &str, ctx: &Ctx) -> f32 {
    if id == "ct_window_level" {
        let rng = ctx.rng(id);
        rng.param_sign(1) * rng.param_range(0, 0.25, 0.5)
    } else {
        0.0
    }
}

/// The prepared per-pixel field of `id` (beam_hardening: q = (r / r_max)^2 about the body
/// centre, rounded as the CPU twin rounds it; others empty).
pub fn prepare_field(id: &str, img: &Image) -> Vec<f32> {
    if id != "ct_beam_hardening" {
        return Vec::new();
    }
    let (w, h) = (img.width, img.height);
    let geom = BodyGeometry::of(&mean_plane(&img.data, w, h, img.channels), w, h);
    (0..w * h)
        .map(|i| {
            let dx = (i % w) as f64 - geom.cx;
            let dy = (i / w) as f64 - geom.cy;
            let q = (dx * dx + dy * dy) / (geom.r_max * geom.r_max);
            1.0 - (1.0 - q as f32)
        })
        .collect()
}

/// Perturb every image of `input` with CT perturbation `id` at its strength; `params` and
/// `fields_` hold one [`prepare_param`] / [`prepare_field`] result per image.
pub fn apply(engine: &CudaEngine, id: &str, input: &DeviceBatch, strengths: &[f32], params: &[f32], fields_: &[Vec<f32>], key: RngKey) -> Result<DeviceBatch, BackendError> {
    let op = IDS.iter().position(|&x| x == id).ok_or_else(|| BackendError::cuda(id, "no CUDA kernel for this perturbation"))? as u32;
    if strengths.len() != input.len() || params.len() != input.len() {
        return Err(BackendError::cuda(id, "one strength and one parameter per image are required"));
    }
    let mode = if id == "ct_beam_hardening" { FIELD_PLANE } else { FIELD_NONE };
    let dims: Vec<_> = input.descs.iter().map(|d| (d.width as usize, d.height as usize, d.channels as usize)).collect();
    fields::check(id, mode, fields_, &dims)?;
    let mut out = DeviceBatch::zeros_like(engine, input)?;
    let most = dims.iter().map(|&(w, h, c)| w * h * c).max().unwrap_or(0);
    if input.is_empty() || most == 0 {
        return Ok(out);
    }
    let s = engine.stream();
    let d_strength = s.clone_htod(strengths).map_err(err("strength upload"))?;
    let d_param = s.clone_htod(params).map_err(err("parameter upload"))?;
    let packed = fields::upload(engine, if mode == FIELD_NONE { &[] } else { fields_ }, input.len())?;
    let n = input.len() as u32;
    let blocks_x = u32::try_from(most.div_ceil(THREADS as usize)).map_err(|_| BackendError::cuda(id, "image too large for one launch"))?;
    let cfg = LaunchConfig { grid_dim: (blocks_x, n, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
    let f = engine.function("ct", "ct_pointwise")?;
    let mut l = s.launch_builder(&f);
    l.arg(&input.data).arg(&mut out.data).arg(&input.d_descs).arg(&d_strength).arg(&d_param);
    l.arg(&packed.data).arg(&packed.offsets).arg(&mode).arg(&key).arg(&op).arg(&n);
    // SAFETY: matches `ct_pointwise(const float* in, float* out, const MfrImageDesc*, const float*
    // strength, const float* param, const float* field, const uint64_t* field_off, uint32_t
    // field_mode, MfrRngKey, uint32_t op, uint32_t n)`; in/out share the layout `descs`
    // (zeros_like), strength/param/field_off have n entries, every field has the length its mode
    // needs (fields::check); grid.y = n, grid.x * 256 >= every image's samples, threads past them
    // return; each thread writes only its own sample.
    unsafe { l.launch(cfg) }.map_err(err("ct launch"))?;
    Ok(out)
}
