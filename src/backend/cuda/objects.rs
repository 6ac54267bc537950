//! Device copies of an [`ObjectPrep`] (the host-prepared inputs of the endoscopy and pathology
//! kernels, packed by src/backend/object_prep.rs), shared by the launch wrappers
//! src/backend/cuda/{endoscopy,pathology}.rs: built once per batch, then every launch only reads
//! them.

use super::fields::{self, PackedFields};
use super::{err, nonempty, CudaEngine, DeviceBatch};
use crate::backend::object_prep::{floats_per_image, has_field, sprites_per_image, ObjectPrep};
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::Ctx;
use cudarc::driver::{CudaSlice, LaunchConfig};

/// Threads per block (kernels/endoscopy.cu `ENDO_THREADS`, kernels/pathology.cu `PATH_THREADS`).
pub const THREADS: u32 = 256;

/// One id's uploaded inputs for a batch of `n` images. Every buffer holds at least one element
/// (never an empty allocation); the lengths are checked against `n` by [`DeviceObjects::check`].
pub struct DeviceObjects {
    pub id: &'static str,
    pub n: usize,
    /// (width, height, channels) of every prepared image: a launch's input must have the same
    /// shapes, since fields, sprite layers and channel constants were sized for them
    pub shapes: Vec<(u32, u32, u32)>,
    /// per-image floats at `i * floats_per_image(id)` (spots, draws, ln T, background)
    pub floats: CudaSlice<f32>,
    /// per-image w * h fields (kernels/pointwise.cuh packing: data + per-image offsets)
    pub fields: PackedFields,
    /// sprite table (kernels/objects.cuh): 4 u32 per entry, 1 u64 offset per entry, the layers
    pub boxes: CudaSlice<u32>,
    pub offsets: CudaSlice<u64>,
    pub data: CudaSlice<f32>,
}

impl DeviceObjects {
    /// Prepare `id` for `batch` on the host ([`ObjectPrep`], image i with
    /// `Ctx::new(seed, batch.descs[i].image_id)`, `images[i]` its pixels: the same images that were
    /// uploaded into `batch`, checked by shape) and upload the result.
    pub fn new(
        engine: &CudaEngine,
        id: &str,
        batch: &DeviceBatch,
        images: &[&Image],
        seed: u64,
    ) -> Result<Self, BackendError> {
        let mut prep = ObjectPrep::new(id)?;
        if images.len() != batch.len() {
            return Err(BackendError::cuda(
                prep.id,
                "one image per batch entry is required",
            ));
        }
        for (img, d) in images.iter().zip(&batch.descs) {
            if (img.width, img.height, img.channels)
                != (d.width as usize, d.height as usize, d.channels as usize)
            {
                return Err(BackendError::cuda(
                    prep.id,
                    format!("image {} differs from its batch entry", img.shape_str()),
                ));
            }
            prep.push(img, &Ctx::new(seed, d.image_id))?;
        }
        if has_field(prep.id) {
            let dims: Vec<_> = images
                .iter()
                .map(|i| (i.width, i.height, i.channels))
                .collect();
            fields::check(prep.id, fields::FIELD_PLANE, &prep.fields, &dims)?;
        }
        let shapes = batch
            .descs
            .iter()
            .map(|d| (d.width, d.height, d.channels))
            .collect();
        Self::upload(engine, &prep, shapes)
    }

    /// Upload a finished host preparation (made by `new`, so its packing is consistent).
    fn upload(
        engine: &CudaEngine,
        prep: &ObjectPrep,
        shapes: Vec<(u32, u32, u32)>,
    ) -> Result<Self, BackendError> {
        let s = engine.stream();
        let floats = s
            .clone_htod(&nonempty(prep.floats.clone()))
            .map_err(err("object list upload"))?;
        let fields = fields::upload(engine, &prep.fields, prep.len())?;
        let boxes = s
            .clone_htod(&nonempty(prep.table.boxes.clone()))
            .map_err(err("sprite table upload"))?;
        let offsets = s
            .clone_htod(&nonempty(prep.table.offsets.clone()))
            .map_err(err("sprite table upload"))?;
        let data = s
            .clone_htod(&nonempty(prep.table.data.clone()))
            .map_err(err("sprite data upload"))?;
        Ok(DeviceObjects {
            id: prep.id,
            n: prep.len(),
            shapes,
            floats,
            fields,
            boxes,
            offsets,
            data,
        })
    }

    /// Check a launch over `input` into `out` with `strength` against this preparation and return
    /// its configuration (grid.y = images, grid.x * 256 >= every plane), or None when there is
    /// nothing to do.
    pub fn check(
        &self,
        input: &DeviceBatch,
        out: &DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<Option<LaunchConfig>, BackendError> {
        let n = input.len();
        let k = sprites_per_image(self.id).unwrap_or(0);
        let f = floats_per_image(self.id);
        let same_shapes = input
            .descs
            .iter()
            .map(|d| (d.width, d.height, d.channels))
            .eq(self.shapes.iter().copied());
        let sized = self.n == n
            && same_shapes
            && strength.len() >= n
            && out.total == input.total
            && self.floats.len() >= n * f
            && self.boxes.len() >= n * k * 4
            && self.offsets.len() >= n * k
            && (!has_field(self.id) || self.fields.offsets.len() >= n);
        if !sized {
            return Err(BackendError::cuda(
                self.id,
                "batch, strengths and prepared inputs differ in size or image shapes",
            ));
        }
        if input.is_empty() || input.max_plane() == 0 {
            return Ok(None);
        }
        let blocks_x = u32::try_from(input.max_plane().div_ceil(THREADS as usize))
            .map_err(|_| BackendError::cuda(self.id, "image too large for one launch"))?;
        Ok(Some(LaunchConfig {
            grid_dim: (blocks_x, n as u32, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        }))
    }
}
