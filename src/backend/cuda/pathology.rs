//! Launch wrappers of kernels/pathology.cu (path_stain_hsv, path_bubbles). The
//! strength-independent inputs (stain draws and smooth field; bubble sprites and background
//! colour) are made on the host by the CPU's own functions (src/backend/object_prep.rs) from each
//! image's (seed, image id) and uploaded once ([`PathPrepared::new`]); every
//! [`PathPrepared::apply`] is one launch for the whole batch, image i at `strengths[i]`.
//!
//! Parity (tests/cuda_parity_pathology.rs): path_bubbles uses only f32 arithmetic and is
//! bit-identical to the CPU; path_stain_hsv calls the device expf (<= 2 ulp) and powf (<= 4 ulp),
//! so it matches to 1e-5.

use super::objects::DeviceObjects;
use super::{batch, member, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::device::Family;
use cudarc::driver::CudaSlice;

/// A batch's uploaded inputs for one pathology perturbation.
pub struct PathPrepared {
    objects: DeviceObjects,
}

impl PathPrepared {
    /// Prepare `id` for `batch`: `images[i]` is the image uploaded as entry i (path_bubbles needs
    /// its pixels for the background colour), drawn with `Ctx::new(seed, batch.descs[i].image_id)`
    /// as the CPU `prepare`.
    pub fn new(
        engine: &CudaEngine,
        id: &str,
        batch: &DeviceBatch,
        images: &[&Image],
        seed: u64,
    ) -> Result<Self, BackendError> {
        let (id, _) = member(id, Family::Pathology)?;
        Ok(PathPrepared {
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
        let f = engine.kernel(o.id, Family::Pathology)?;
        let s = engine.stream();
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength);
        if o.id == "path_stain_hsv" {
            l.arg(&o.fields.data)
                .arg(&o.fields.offsets)
                .arg(&o.floats)
                .arg(&n);
            // SAFETY (with the checks above): matches `path_stain_hsv(const float* in, float* out, const MfrImageDesc*
            // descs, const float* strength, const float* field, const uint64_t* field_off, const
            // float* draws, uint32_t n_images)`. in/out share the layout (checked totals, `out`
            // from zeros_like), strength has >= n entries, field_off n entries with w * h values
            // per field (fields::check in DeviceObjects::new), draws n * 4 floats (checked);
            // grid.y = n, grid.x * 256 >= every plane, threads past a plane return, each thread
            // writes only its pixel.
            unsafe { l.launch(cfg) }?;
        } else {
            l.arg(&o.boxes)
                .arg(&o.offsets)
                .arg(&o.data)
                .arg(&o.floats)
                .arg(&n);
            // SAFETY (with the checks above): matches `path_bubbles(const float* in, float* out, const MfrImageDesc*
            // descs, const float* strength, const uint32_t* boxes, const uint64_t* offsets, const
            // float* data, const float* bg, uint32_t n_images)`. boxes has n * 28 * 4 entries,
            // offsets n * 28, bg n * 4 (checked; channels <= 4 by ObjectPrep::push); every box
            // lies inside its image with its 3 layers inside `data` (SpriteTable::push checks);
            // grid as above.
            unsafe { l.launch(cfg) }?;
        }
        Ok(())
    }
}
