//! Launch wrappers of kernels/xray.cu: the X-ray perturbations (xray_overexposure,
//! xray_underexposure, xray_haze, xray_grid, xray_scatter) for a whole batch. The
//! strength-independent fields are prepared on the host by [`prepare_field`] (the same building
//! blocks and order as the CPU `prepare` of src/perturb/xray/), uploaded once, and the kernel
//! evaluates `apply(s)` per sample (bit-identical per-pixel math: tests/cuda_host_math_xray.rs).

use super::fields::{self, FIELD_FULL, FIELD_NONE, FIELD_PLANE, FIELD_ROW};
use super::{batch, member, op_of, CudaEngine, DeviceBatch};
use crate::backend::params::RngKey;
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::common::field::smooth_field;
use crate::perturb::common::filter::gaussian_blur_plane;
use crate::perturb::device::Family;
use crate::perturb::Ctx;
use cudarc::driver::CudaSlice;

/// Threads per block (kernels/xray.cu `XRAY_THREADS`).
const THREADS: u32 = 256;

/// The field layout of `id`.
pub fn field_mode(id: &str) -> u32 {
    match id {
        "xray_haze" => FIELD_PLANE,
        "xray_grid" => FIELD_ROW,
        "xray_scatter" => FIELD_FULL,
        _ => FIELD_NONE,
    }
}

/// The prepared field of `id` for `img` (empty when the perturbation has none): twin of the CPU
/// `prepare` (haze: smooth_field(3 cells)^0.7; grid: (1 + cos(2 pi y / p)) / 2 per row with
/// p = U(3, 8) from param 0; scatter: Gaussian veil of sigma 0.06 min(w, h), truncate 4).
pub fn prepare_field(id: &str, img: &Image, ctx: &Ctx) -> Vec<f32> {
    let (w, h) = (img.width, img.height);
    let rng = ctx.rng(id);
    match id {
        "xray_haze" => smooth_field(&rng, 0, w, h, 3)
            .iter()
            .map(|v| v.powf(0.7))
            .collect(),
        "xray_grid" => {
            let p = rng.param_range(0, 3.0, 8.0);
            (0..h)
                .map(|y| 1.0 - (1.0 - (1.0 + (std::f32::consts::TAU * y as f32 / p).cos()) / 2.0))
                .collect()
        }
        "xray_scatter" => {
            let sigma = 0.06 * w.min(h) as f64;
            img.planes()
                .flat_map(|pl| gaussian_blur_plane(pl, w, h, sigma, 4.0))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Perturb every image of `input` with X-ray perturbation `id` at its strength. `fields` holds
/// one [`prepare_field`] result per image (ignored for ids without a field); `key` is the run's
/// RNG key with `id`'s perturbation hash (underexposure noise).
pub fn apply(
    engine: &CudaEngine,
    id: &str,
    input: &DeviceBatch,
    strengths: &[f32],
    fields_: &[Vec<f32>],
    key: RngKey,
) -> Result<DeviceBatch, BackendError> {
    let k = XrayKernel::new(engine, id, input, fields_, key)?;
    batch::apply_with(engine, id, input, strengths, |out, s| {
        k.launch(engine, input, out, s)
    })
}

/// An X-ray kernel prepared for one batch: its fields uploaded once; [`XrayKernel::launch`]
/// reads the strengths from the device (the on-GPU search's entry).
pub struct XrayKernel {
    id: &'static str,
    op: u32,
    /// The kernel (the registry entry's symbol).
    symbol: &'static str,
    mode: u32,
    packed: fields::PackedFields,
    key: RngKey,
}

impl XrayKernel {
    pub fn new(
        engine: &CudaEngine,
        id: &str,
        input: &DeviceBatch,
        fields_: &[Vec<f32>],
        key: RngKey,
    ) -> Result<Self, BackendError> {
        let (id, kernel) = member(id, Family::Xray)?;
        let op = op_of(id, &kernel)?;
        let mode = field_mode(id);
        let dims: Vec<_> = input
            .descs
            .iter()
            .map(|d| (d.width as usize, d.height as usize, d.channels as usize))
            .collect();
        fields::check(id, mode, fields_, &dims)?;
        let packed = fields::upload(
            engine,
            if mode == FIELD_NONE { &[] } else { fields_ },
            input.len(),
        )?;
        Ok(XrayKernel {
            id,
            op,
            symbol: kernel.symbol,
            mode,
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
            || self.packed.offsets.len() < input.len()
        {
            return Err(BackendError::cuda(
                id,
                "batch, strengths and fields differ in size",
            ));
        }
        let Some(cfg) = input.sample_grid(THREADS, id)? else {
            return Ok(());
        };
        let s = engine.stream();
        let n = input.len() as u32;
        let f = engine.function(Family::Xray.module(), self.symbol)?;
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength);
        l.arg(&self.packed.data)
            .arg(&self.packed.offsets)
            .arg(&self.mode)
            .arg(&self.key)
            .arg(&self.op)
            .arg(&n);
        // SAFETY: matches `xray_pointwise(const float* in, float* out, const MfrImageDesc*, const
        // float* strength, const float* field, const uint64_t* field_off, uint32_t field_mode,
        // MfrRngKey, uint32_t op, uint32_t n)`; in/out share the layout (checked totals), strength
        // and field_off have >= n entries, every field has the length its mode needs (checked in
        // `new` for this batch) so field_off + index stays inside the packed buffer; grid.y = n,
        // grid.x * 256 >= every image's samples, threads past them return.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}
