//! Launch wrappers of kernels/mri.cu for a whole batch. mri_bias_field: the log bias field at
//! s = 1 is the CPU's own `perturb::mri::unit_log_field` (= [`log_field`]; torchio order-3
//! polynomial, coefficients U(-0.5, 0.5) from params 0..19), uploaded once; the kernel math is
//! checked bit for bit against the CPU output by tests/cuda_host_math_mri.rs.
//! mri_ghosting: the ghost component (k-space work) is computed once per image on the host by the
//! CPU's own `perturb::mri::ghost_field` and uploaded ([`GhostingKernel`]); the kernel evaluates
//! `clip(x - s G)`. mri_motion (an inverse DFT per strength) is in [`super::mri_motion`].

use super::fields;
use super::{batch, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::device::Family;
use cudarc::driver::CudaSlice;

/// Threads per block (kernels/mri.cu `MRI_THREADS`).
const THREADS: u32 = 256;

pub use crate::perturb::mri::unit_log_field as log_field;

/// mri_bias_field of every image of `input` at its strength; `fields_` holds one [`log_field`]
/// per image.
pub fn bias_field(
    engine: &CudaEngine,
    input: &DeviceBatch,
    strengths: &[f32],
    fields_: &[Vec<f32>],
) -> Result<DeviceBatch, BackendError> {
    let k = BiasFieldKernel::new(engine, input, fields_)?;
    batch::apply_with(engine, "mri_bias_field", input, strengths, |out, s| {
        k.launch(engine, input, out, s)
    })
}

/// mri_bias_field prepared for one batch: the log fields uploaded once; [`BiasFieldKernel::launch`]
/// reads the strengths from the device (the on-GPU search's entry).
pub struct BiasFieldKernel {
    packed: fields::PackedFields,
}

impl BiasFieldKernel {
    pub fn new(
        engine: &CudaEngine,
        input: &DeviceBatch,
        fields_: &[Vec<f32>],
    ) -> Result<Self, BackendError> {
        let dims: Vec<_> = input
            .descs
            .iter()
            .map(|d| (d.width as usize, d.height as usize, d.channels as usize))
            .collect();
        fields::check("mri_bias_field", fields::FIELD_PLANE, fields_, &dims)?;
        Ok(BiasFieldKernel {
            packed: fields::upload(engine, fields_, input.len())?,
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
        let id = "mri_bias_field";
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
        let f = engine.kernel("mri_bias_field", Family::MriBiasField)?;
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength)
            .arg(&self.packed.data)
            .arg(&self.packed.offsets)
            .arg(&n);
        // SAFETY: matches `mri_bias_field(const float* in, float* out, const MfrImageDesc*, const
        // float* strength, const float* field, const uint64_t* field_off, uint32_t n)`; in/out
        // share the layout (checked totals), strength/field_off have >= n entries, every field
        // has w * h values (checked in `new`); grid.y = n, grid.x * 256 >= every image's samples,
        // threads past them return.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}

/// mri_ghosting prepared for one batch: each image's ghost component (c x w x h, from the CPU's
/// `ghost_field`) uploaded once; [`GhostingKernel::launch`] reads the strengths from the device.
pub struct GhostingKernel {
    packed: fields::PackedFields,
}

impl GhostingKernel {
    /// `fields[i]` = `perturb::mri::ghost_field(image i, ctx i)`.
    pub fn new(
        engine: &CudaEngine,
        input: &DeviceBatch,
        fields_: &[Vec<f32>],
    ) -> Result<Self, BackendError> {
        let dims: Vec<_> = input
            .descs
            .iter()
            .map(|d| (d.width as usize, d.height as usize, d.channels as usize))
            .collect();
        fields::check("mri_ghosting", fields::FIELD_FULL, fields_, &dims)?;
        Ok(GhostingKernel {
            packed: fields::upload(engine, fields_, input.len())?,
        })
    }

    /// Perturb every image of `input` (the batch given to `new`) at its strength.
    pub fn apply(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        strengths: &[f32],
    ) -> Result<DeviceBatch, BackendError> {
        batch::apply_with(engine, "mri_ghosting", input, strengths, |out, s| {
            self.launch(engine, input, out, s)
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
        let id = "mri_ghosting";
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
        let f = engine.kernel("mri_ghosting", Family::MriGhosting)?;
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength)
            .arg(&self.packed.data)
            .arg(&self.packed.offsets)
            .arg(&n);
        // SAFETY: matches `mri_ghosting(const float* in, float* out, const MfrImageDesc*, const
        // float* strength, const float* field, const uint64_t* field_off, uint32_t n)`; in/out
        // share the layout (checked totals), strength/field_off have >= n entries, every field
        // has c * w * h values (checked in `new`) indexed by the sample's index in its image;
        // grid.y = n, grid.x * 256 >= every image's samples, threads past them return.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}
