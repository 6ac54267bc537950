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
use super::{batch, err, member, op_of, CudaEngine, DeviceBatch};
use crate::backend::params::RngKey;
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::ct::{cupping_field, metal_streak_field};
use crate::perturb::device::Family;
use crate::perturb::Ctx;
use cudarc::driver::CudaSlice;

/// Threads per block (kernels/ct.cu `CT_THREADS`).
const THREADS: u32 = 256;

/// The per-image scalar of `id` (window_level: u = +-U(0.25, 0.5); others 0).
pub fn prepare_param(id: &str, ctx: &Ctx) -> f32 {
    if id == "ct_window_level" {
        let rng = ctx.rng(id);
        rng.param_sign(1) * rng.param_range(0, 0.25, 0.5)
    } else {
        0.0
    }
}

/// The prepared per-pixel field of `id` (beam_hardening: the cup depth q = 1 - (r / R)^2 inside
/// the body outline, 0 outside, from the CPU's own [`cupping_field`]; others empty).
pub fn prepare_field(id: &str, img: &Image) -> Vec<f32> {
    if id != "ct_beam_hardening" {
        return Vec::new();
    }
    cupping_field(img)
}

/// Perturb every image of `input` with CT perturbation `id` at its strength; `params` and
/// `fields_` hold one [`prepare_param`] / [`prepare_field`] result per image.
pub fn apply(
    engine: &CudaEngine,
    id: &str,
    input: &DeviceBatch,
    strengths: &[f32],
    params: &[f32],
    fields_: &[Vec<f32>],
    key: RngKey,
) -> Result<DeviceBatch, BackendError> {
    let k = CtKernel::new(engine, id, input, params, fields_, key)?;
    batch::apply_with(engine, id, input, strengths, |out, s| {
        k.launch(engine, input, out, s)
    })
}

/// A CT kernel prepared for one batch: parameters and fields uploaded once; [`CtKernel::launch`]
/// reads the strengths from the device (the on-GPU search's entry).
pub struct CtKernel {
    id: &'static str,
    op: u32,
    /// The kernel (the registry entry's symbol).
    symbol: &'static str,
    mode: u32,
    param: CudaSlice<f32>,
    packed: fields::PackedFields,
    key: RngKey,
}

impl CtKernel {
    pub fn new(
        engine: &CudaEngine,
        id: &str,
        input: &DeviceBatch,
        params: &[f32],
        fields_: &[Vec<f32>],
        key: RngKey,
    ) -> Result<Self, BackendError> {
        // ct_metal_streaks (its own family, for its prepared field) shares the kernel
        let (id, kernel) =
            member(id, Family::Ct).or_else(|_| member(id, Family::CtMetalStreaks))?;
        let op = op_of(id, &kernel)?;
        if params.len() != input.len() {
            return Err(BackendError::cuda(
                id,
                "one parameter per image is required",
            ));
        }
        let mode = if id == "ct_beam_hardening" || kernel.family == Family::CtMetalStreaks {
            FIELD_PLANE
        } else {
            FIELD_NONE
        };
        let dims: Vec<_> = input
            .descs
            .iter()
            .map(|d| (d.width as usize, d.height as usize, d.channels as usize))
            .collect();
        fields::check(id, mode, fields_, &dims)?;
        let s = engine.stream();
        let mut host_params = params.to_vec();
        host_params.push(0.0); // never an empty allocation
        let param = s
            .clone_htod(&host_params)
            .map_err(err("parameter upload"))?;
        let packed = fields::upload(
            engine,
            if mode == FIELD_NONE { &[] } else { fields_ },
            input.len(),
        )?;
        Ok(CtKernel {
            id,
            op,
            symbol: kernel.symbol,
            mode,
            param,
            packed,
            key,
        })
    }

    /// Perturb `input` (the batch given to `new`) into `out` at `strength[i]` (device, >= n values).
    pub fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        let id = self.id;
        if strength.len() < input.len()
            || out.total != input.total
            || self.param.len() < input.len()
            || self.packed.offsets.len() < input.len()
        {
            return Err(BackendError::cuda(
                id,
                "batch, strengths, parameters and fields differ in size",
            ));
        }
        let Some(cfg) = input.sample_grid(THREADS, id)? else {
            return Ok(());
        };
        let s = engine.stream();
        let n = input.len() as u32;
        let f = engine.function(Family::Ct.module(), self.symbol)?;
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength)
            .arg(&self.param);
        l.arg(&self.packed.data)
            .arg(&self.packed.offsets)
            .arg(&self.mode)
            .arg(&self.key)
            .arg(&self.op)
            .arg(&n);
        // SAFETY: matches `ct_pointwise(const float* in, float* out, const MfrImageDesc*, const float*
        // strength, const float* param, const float* field, const uint64_t* field_off, uint32_t
        // field_mode, MfrRngKey, uint32_t op, uint32_t n)`; in/out share the layout (checked
        // totals), strength/param/field_off have >= n entries (checked), every field has the
        // length its mode needs (checked in `new`); grid.y = n, grid.x * 256 >= every image's
        // samples, threads past them return.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}

/// ct_metal_streaks prepared for one batch: [`CtKernel`] (op 3) with each image's streak field
/// drawn by the CPU's own [`metal_streak_field`] (seed, `batch.descs[i].image_id`, body geometry
/// of the host image) and uploaded once.
pub struct MetalStreaksPrepared(CtKernel);

impl MetalStreaksPrepared {
    pub fn new(
        engine: &CudaEngine,
        images: &[&Image],
        batch: &DeviceBatch,
        seed: u64,
    ) -> Result<Self, BackendError> {
        let id = "ct_metal_streaks";
        if images.len() != batch.len()
            || images.iter().zip(&batch.descs).any(|(im, d)| {
                (im.width, im.height, im.channels)
                    != (d.width as usize, d.height as usize, d.channels as usize)
            })
        {
            return Err(BackendError::cuda(id, "host images differ from the batch"));
        }
        let planes: Vec<Vec<f32>> = images
            .iter()
            .zip(&batch.descs)
            .map(|(im, d)| metal_streak_field(im, &Ctx::new(seed, d.image_id)))
            .collect();
        // op 3 reads no parameter and draws no noise
        Ok(MetalStreaksPrepared(CtKernel::new(
            engine,
            id,
            batch,
            &vec![0.0; batch.len()],
            &planes,
            RngKey::new(0, 0),
        )?))
    }

    /// Perturb every image of `input` (the batch given to `new`) at its strength.
    pub fn apply(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        strengths: &[f32],
    ) -> Result<DeviceBatch, BackendError> {
        batch::apply_with(engine, "ct_metal_streaks", input, strengths, |out, s| {
            self.launch(engine, input, out, s)
        })
    }

    /// Launch into `out` with the strengths already on the device (the on-GPU search's entry).
    pub fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        self.0.launch(engine, input, out, strength)
    }
}
