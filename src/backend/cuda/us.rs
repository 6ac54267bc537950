//! Launch wrappers of kernels/us.cu for a whole batch.
//! - us_acoustic_shadow: the cone planes and the per-image parameter record are the CPU's own
//!   `perturb::us::shadow_setup`, packed by `backend::packing::us_shadow` (= [`shadow_prepare`]); the kernel math is checked bit for
//!   bit against the CPU output by tests/cuda_host_math_us.rs.
//! - us_reverberation ([`ReverberationPrepared`]): the CPU's own
//!   [`reverberation_fields`] (cone depth/angle, soft support, Rayleigh speckle, echo list) are
//!   packed by `backend::packing` and uploaded once per batch; everything that depends on s
//!   (amplitude, band thickening and widening) is evaluated per pixel on the device, so the on-GPU
//!   search needs no host work per strength. Device expf: <= 2 ulp, hence the 1e-5 tolerance.

use super::fields::{self, PackedFields};
use super::{batch, err, CudaEngine, DeviceBatch};
use crate::backend::packing::{us_reverb_planes, us_reverb_record, US_REVERB_PARAMS};
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::device::Family;
use crate::perturb::us::reverberation_fields;
use crate::perturb::Ctx;
use cudarc::driver::CudaSlice;

/// Threads per block (kernels/us.cu `US_THREADS`).
const THREADS: u32 = 256;

pub use crate::backend::packing::us_shadow as shadow_prepare;

/// us_acoustic_shadow of every image of `input` at its strength; `prepared[i]` is
/// [`shadow_prepare`] of image i.
pub fn acoustic_shadow(
    engine: &CudaEngine,
    input: &DeviceBatch,
    strengths: &[f32],
    prepared: &[(Vec<f32>, [f32; 20])],
) -> Result<DeviceBatch, BackendError> {
    let k = ShadowKernel::new(engine, input, prepared)?;
    batch::apply_with(engine, "us_acoustic_shadow", input, strengths, |out, s| {
        k.launch(engine, input, out, s)
    })
}

/// us_acoustic_shadow prepared for one batch: cone planes and shadow records uploaded once;
/// [`ShadowKernel::launch`] reads the strengths from the device (the on-GPU search's entry).
pub struct ShadowKernel {
    params: CudaSlice<f32>,
    packed: fields::PackedFields,
}

impl ShadowKernel {
    pub fn new(
        engine: &CudaEngine,
        input: &DeviceBatch,
        prepared: &[(Vec<f32>, [f32; 20])],
    ) -> Result<Self, BackendError> {
        let id = "us_acoustic_shadow";
        if prepared.len() != input.len() {
            return Err(BackendError::cuda(
                id,
                "one prepared record per image is required",
            ));
        }
        for (d, (f, _)) in input.descs.iter().zip(prepared) {
            if f.len() != 2 * d.width as usize * d.height as usize {
                return Err(BackendError::cuda(
                    id,
                    "prepared cone planes have the wrong length",
                ));
            }
        }
        let planes: Vec<Vec<f32>> = prepared.iter().map(|(f, _)| f.clone()).collect();
        let mut params: Vec<f32> = prepared
            .iter()
            .flat_map(|(_, p)| p.iter().copied())
            .collect();
        params.push(0.0); // never an empty allocation
        let params = engine
            .stream()
            .clone_htod(&params)
            .map_err(err("parameter upload"))?;
        let packed = fields::upload(engine, &planes, input.len())?;
        Ok(ShadowKernel { params, packed })
    }

    /// Perturb `input` (the batch given to `new`) into `out` at `strength[i]` (device, >= n values).
    pub fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        let id = "us_acoustic_shadow";
        if strength.len() < input.len()
            || out.total != input.total
            || self.params.len() < 20 * input.len()
            || self.packed.offsets.len() < input.len()
        {
            return Err(BackendError::cuda(
                id,
                "batch, strengths and prepared records differ in size",
            ));
        }
        let Some(cfg) = input.sample_grid(THREADS, id)? else {
            return Ok(());
        };
        let s = engine.stream();
        let n = input.len() as u32;
        let f = engine.kernel("us_acoustic_shadow", Family::UsShadow)?;
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength)
            .arg(&self.params)
            .arg(&self.packed.data)
            .arg(&self.packed.offsets)
            .arg(&n);
        // SAFETY: matches `us_acoustic_shadow(const float* in, float* out, const MfrImageDesc*, const
        // float* strength, const float* params, const float* field, const uint64_t* field_off,
        // uint32_t n)`; in/out share the layout (checked totals), strength/field_off have >= n
        // entries, params >= 20 n, each image's field 2 w h (checked in `new`); grid.y = n,
        // grid.x * 256 >= every image's samples, threads past them return.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}

/// A batch's uploaded us_reverberation data: 4 planes per image and one record per image.
pub struct ReverberationPrepared {
    planes: PackedFields,
    params: CudaSlice<f32>,
}

impl ReverberationPrepared {
    /// Draw each image's [`reverberation_fields`] (seed, `batch.descs[i].image_id`) from the host
    /// images `batch` was uploaded from, and upload them once.
    pub fn new(
        engine: &CudaEngine,
        images: &[&Image],
        batch: &DeviceBatch,
        seed: u64,
    ) -> Result<Self, BackendError> {
        let id = "us_reverberation";
        if images.len() != batch.len()
            || images.iter().zip(&batch.descs).any(|(im, d)| {
                (im.width, im.height, im.channels)
                    != (d.width as usize, d.height as usize, d.channels as usize)
            })
        {
            return Err(BackendError::cuda(id, "host images differ from the batch"));
        }
        let mut planes = Vec::with_capacity(images.len());
        let mut params = Vec::with_capacity(images.len() * US_REVERB_PARAMS + 1);
        for (im, d) in images.iter().zip(&batch.descs) {
            let f = reverberation_fields(im, &Ctx::new(seed, d.image_id));
            params.extend_from_slice(&us_reverb_record(&f)?);
            planes.push(us_reverb_planes(&f));
        }
        params.push(0.0); // never an empty allocation
        let planes = fields::upload(engine, &planes, batch.len())?;
        let params = engine
            .stream()
            .clone_htod(&params)
            .map_err(err("us_reverberation parameter upload"))?;
        Ok(ReverberationPrepared { planes, params })
    }

    /// Perturb every image of `input` (the batch given to `new`) at its strength.
    pub fn apply(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        strengths: &[f32],
    ) -> Result<DeviceBatch, BackendError> {
        batch::apply_with(engine, "us_reverberation", input, strengths, |out, s| {
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
        let id = "us_reverberation";
        if strength.len() < input.len()
            || out.total != input.total
            || self.planes.offsets.len() < input.len()
            || self.params.len() < input.len() * US_REVERB_PARAMS
        {
            return Err(BackendError::cuda(
                id,
                "batch, strengths and prepared data differ in size",
            ));
        }
        let Some(cfg) = input.sample_grid(THREADS, id)? else {
            return Ok(());
        };
        let n = input.len() as u32;
        let f = engine.kernel(id, Family::UsReverberation)?;
        let s = engine.stream();
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength)
            .arg(&self.params)
            .arg(&self.planes.data)
            .arg(&self.planes.offsets)
            .arg(&n);
        // SAFETY: matches `us_reverberation(const float* in, float* out, const MfrImageDesc*, const
        // float* strength, const float* params, const float* field, const uint64_t* field_off,
        // uint32_t n)`; in/out share the layout (checked totals), strength and field_off have >= n
        // entries, params >= 32 n (checked); `new` uploaded image i's 4 w h planes at
        // field_off[i] from the same descs; grid.y = n, grid.x * 256 >= every image's samples,
        // threads past them return.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}
