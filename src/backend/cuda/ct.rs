//! Launch wrappers of kernels/ct.cu: ct_window_level, ct_photon_starvation and ct_beam_hardening
//! for a whole batch. Per-image parameters and fields are prepared on the host by
//! [`prepare_param`] / [`prepare_field`] (the same building blocks and order as the CPU `prepare`
//! of src/perturb/ct/); the kernel evaluates `apply(s)` per sample (bit-identical per-pixel math:
//! tests/cuda_host_math_ct.rs).
//!
//! ct_metal_streaks ([`MetalStreaksPrepared`]) runs on the same `ct_pointwise` kernel (op 3): its
//! streak field is drawn on the host by the CPU's own [`metal_streak_field`] and uploaded once
//! per batch; `x + s F` is evaluated per pixel on the device, so the on-GPU search needs no host
//! work per strength. Bit-identical arithmetic (no transcendental on the device).

use super::fields::{self, FIELD_NONE, FIELD_PLANE};
use super::{err, CudaEngine, DeviceBatch};
use crate::backend::params::RngKey;
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::common::body::{mean_plane, BodyGeometry};
use crate::perturb::ct::metal_streak_field;
use crate::perturb::Ctx;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

/// Threads per block (kernels/ct.cu `CT_THREADS`).
const THREADS: u32 = 256;

/// The perturbations of kernels/ct.cu, in `op` order (kernels/ct.cuh `MFR_CT_*`).
pub const IDS: [&str; 4] = ["ct_window_level", "ct_photon_starvation", "ct_beam_hardening", "ct_metal_streaks"];

/// kernels/ct.cuh `MFR_CT_METAL_STREAKS`.
const OP_METAL_STREAKS: u32 = 3;

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
    if op == OP_METAL_STREAKS {
        return Err(BackendError::cuda(id, "ct_metal_streaks needs its drawn field: use MetalStreaksPrepared"));
    }
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

/// A batch's uploaded ct_metal_streaks fields (one w h plane per image).
pub struct MetalStreaksPrepared {
    fields: fields::PackedFields,
    dummy: CudaSlice<f32>,
}

impl MetalStreaksPrepared {
    /// Draw each image's streak field with the CPU's own [`metal_streak_field`] (seed,
    /// `batch.descs[i].image_id`; the body geometry comes from the host images `batch` was
    /// uploaded from) and upload them once.
    pub fn new(engine: &CudaEngine, images: &[&Image], batch: &DeviceBatch, seed: u64) -> Result<Self, BackendError> {
        let id = "ct_metal_streaks";
        if images.len() != batch.len() || images.iter().zip(&batch.descs).any(|(im, d)| (im.width, im.height, im.channels) != (d.width as usize, d.height as usize, d.channels as usize)) {
            return Err(BackendError::cuda(id, "host images differ from the batch"));
        }
        let planes: Vec<Vec<f32>> = images.iter().zip(&batch.descs).map(|(im, d)| metal_streak_field(im, &Ctx::new(seed, d.image_id))).collect();
        let fields = fields::upload(engine, &planes, batch.len())?;
        let dummy = engine.stream().alloc_zeros::<f32>(batch.len().max(1)).map_err(err("ct parameter alloc"))?;
        Ok(MetalStreaksPrepared { fields, dummy })
    }

    /// Perturb every image of `input` (the batch given to `new`) at its strength.
    pub fn apply(&self, engine: &CudaEngine, input: &DeviceBatch, strengths: &[f32]) -> Result<DeviceBatch, BackendError> {
        if strengths.len() != input.len() {
            return Err(BackendError::cuda("ct_metal_streaks", "one strength per image is required"));
        }
        let strength = engine.stream().clone_htod(strengths).map_err(err("strength upload"))?;
        let mut out = DeviceBatch::zeros_like(engine, input)?;
        self.launch(engine, input, &mut out, &strength)?;
        Ok(out)
    }

    /// Launch into `out` with the strengths already on the device (the on-GPU search's entry).
    pub fn launch(&self, engine: &CudaEngine, input: &DeviceBatch, out: &mut DeviceBatch, strength: &CudaSlice<f32>) -> Result<(), BackendError> {
        let id = "ct_metal_streaks";
        if strength.len() < input.len() || out.total != input.total || self.fields.offsets.len() < input.len() || self.dummy.len() < input.len() {
            return Err(BackendError::cuda(id, "batch, strengths and prepared fields differ in size"));
        }
        let most = input.descs.iter().map(|d| d.width as usize * d.height as usize * d.channels as usize).max().unwrap_or(0);
        if input.is_empty() || most == 0 {
            return Ok(());
        }
        let n = input.len() as u32;
        let blocks_x = u32::try_from(most.div_ceil(THREADS as usize)).map_err(|_| BackendError::cuda(id, "image too large for one launch"))?;
        let cfg = LaunchConfig { grid_dim: (blocks_x, n, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
        let (mode, op, key) = (FIELD_PLANE, OP_METAL_STREAKS, RngKey::new(0, 0));
        let f = engine.function("ct", "ct_pointwise")?;
        let s = engine.stream();
        let mut l = s.launch_builder(&f);
        l.arg(&input.data).arg(&mut out.data).arg(&input.d_descs).arg(strength).arg(&self.dummy);
        l.arg(&self.fields.data).arg(&self.fields.offsets).arg(&mode).arg(&key).arg(&op).arg(&n);
        // SAFETY: matches `ct_pointwise(const float* in, float* out, const MfrImageDesc*, const
        // float* strength, const float* param, const float* field, const uint64_t* field_off,
        // uint32_t field_mode, MfrRngKey, uint32_t op, uint32_t n)`; in/out share the layout
        // (checked totals), strength/param/field_off have >= n entries (checked); `new` uploaded
        // image i's w h plane at field_off[i] from the same descs (mode FIELD_PLANE); op 3 draws
        // no noise; grid.y = n, grid.x * 256 >= every image's samples, threads past them return.
        unsafe { l.launch(cfg) }.map_err(err("ct_metal_streaks launch"))?;
        Ok(())
    }
}
