//! Launch wrappers of kernels/endoscopy.cu (endo_overexposure, endo_specular, endo_blood,
//! endo_bubbles). The strength-independent inputs (blob field, spot list, blood thickness
//! sprites, rendered bubbles) are made on the host by the CPU's own functions
//! (src/backend/object_prep.rs) from each image's (seed, image id) and uploaded once
//! ([`EndoPrepared::new`]); every [`EndoPrepared::apply`] is one launch for the whole batch, image
//! i at `strengths[i]`.
//!
//! Parity (tests/cuda_parity_endoscopy.rs): endo_overexposure and endo_bubbles use only f32
//! arithmetic and are bit-identical to the CPU; endo_specular and endo_blood call the device expf
//! (<= 2 ulp), so they match to 1e-5.

use super::objects::DeviceObjects;
use super::{batch, member, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::device::Family;
use cudarc::driver::CudaSlice;

/// A batch's uploaded inputs for one endoscopy perturbation.
pub struct EndoPrepared {
    objects: DeviceObjects,
}

impl EndoPrepared {
    /// Prepare `id` for `batch`: `images[i]` is the image uploaded as entry i (its pixels are
    /// needed by endo_bubbles, whose interiors are rendered from the clean image), drawn with
    /// `Ctx::new(seed, batch.descs[i].image_id)` as the CPU `prepare`.
    pub fn new(
        engine: &CudaEngine,
        id: &str,
        batch: &DeviceBatch,
        images: &[&Image],
        seed: u64,
    ) -> Result<Self, BackendError> {
        let (id, _) = member(id, Family::Endoscopy)?;
        Ok(EndoPrepared {
            objects: DeviceObjects::new(engine, id, batch, images, seed)?,
        })
    }

    /// Perturb every image of `input` (the batch given to `new`) at its strength.
    pub fn apply(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        strengths: &[f32],
    ) -> Result<DeviceBatch, BackendError> {
        batch::apply_with(engine, self.objects.id, input, strengths, |out, s| {
            self.launch(engine, input, out, s)
        })
    }

    /// Launch into `out` with the strengths already on the device (`strength.len() >= n`); used by
    /// the on-GPU search, which keeps the strengths on the device.
    pub fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        let o = &self.objects;
        // `check` verifies, for every SAFETY note below: out.total == input.total, >= n strengths,
        // and input image shapes equal to the prepared ones, so every prepared field, sprite layer
        // and channel constant the kernel indexes by pixel and channel was sized for this input.
        let Some(cfg) = o.check(input, out, strength)? else {
            return Ok(());
        };
        let n = input.len() as u32;
        let f = engine.kernel(o.id, Family::Endoscopy)?;
        let s = engine.stream();
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength);
        match o.id {
            "endo_overexposure" => {
                l.arg(&o.fields.data).arg(&o.fields.offsets).arg(&n);
                // SAFETY (with the checks above): matches `endo_overexposure(const float* in, float* out, const
                // MfrImageDesc* descs, const float* strength, const float* field, const uint64_t*
                // field_off, uint32_t n_images)`. in/out share the layout (checked totals, `out`
                // from zeros_like), strength has >= n entries, field_off n entries and every field
                // w * h values (fields::check in DeviceObjects::new); grid.y = n, grid.x * 256 >=
                // every plane, threads past a plane return, each thread writes only its pixel.
                unsafe { l.launch(cfg) }?;
            }
            "endo_specular" => {
                l.arg(&o.floats).arg(&n);
                // SAFETY (with the checks above): matches `endo_specular(const float* in, float* out, const MfrImageDesc*
                // descs, const float* strength, const float* spots, uint32_t n_images)`. in/out
                // share the layout, strength has >= n entries, spots n * 48 * 6 floats (checked by
                // DeviceObjects::check); grid as above.
                unsafe { l.launch(cfg) }?;
            }
            "endo_blood" => {
                l.arg(&o.boxes)
                    .arg(&o.offsets)
                    .arg(&o.data)
                    .arg(&o.floats)
                    .arg(&n);
                // SAFETY (with the checks above): matches `endo_blood(const float* in, float* out, const MfrImageDesc*
                // descs, const float* strength, const uint32_t* boxes, const uint64_t* offsets,
                // const float* data, const float* log_t, uint32_t n_images)`. boxes has n * 24 * 4
                // entries, offsets n * 24, log_t n * 4 (checked); every box lies inside its image
                // and its one layer inside `data` (ObjectPrep's SpriteTable::push checks), so
                // the kernel's reads stay in bounds; grid as above.
                unsafe { l.launch(cfg) }?;
            }
            _ => {
                l.arg(&o.boxes).arg(&o.offsets).arg(&o.data).arg(&n);
                // SAFETY (with the checks above): matches `endo_bubbles(const float* in, float* out, const MfrImageDesc*
                // descs, const float* strength, const uint32_t* boxes, const uint64_t* offsets,
                // const float* data, uint32_t n_images)`. boxes has n * 64 * 4 entries, offsets
                // n * 64 (checked); every box lies inside its image with 2 + channels layers inside
                // `data` (SpriteTable::push checks); grid as above.
                unsafe { l.launch(cfg) }?;
            }
        }
        Ok(())
    }
}
