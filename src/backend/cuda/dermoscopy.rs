//! Launch wrappers of kernels/dermoscopy.cu: one launch perturbs a whole batch, image i at
//! `strengths[i]`.
//! - derm_vignette: closed form, nothing to prepare ([`apply`] / [`launch`]);
//! - derm_light_reflection: the glare plane of the CPU's own [`glare_field`], uploaded once per
//!   batch ([`DermPrepared`]);
//! - derm_hair: the hair list of the CPU's own [`hair_list`] (coverage sprites, list index, shade,
//!   colour), packed by [`PackedHairs`] and uploaded once per batch ([`DermPrepared`]).
//!
//! Nothing depends on the strength on the host: the on-GPU search calls [`DermPrepared::launch`]
//! with device strengths. Parity: bit-identical host math (tests/cuda_host_math_dermoscopy.rs);
//! derm_light_reflection uses CUDA's expf on the device (<= 2 ulp), hence the 1e-5 tolerance of
//! tests/cuda_parity_dermoscopy.rs.

use super::fields::{self, PackedFields};
use super::{batch, err, member, CudaEngine, DeviceBatch};
use crate::backend::packing::PackedHairs;
use crate::backend::BackendError;
use crate::perturb::dermoscopy::{glare_field, hair_list};
use crate::perturb::device::Family;
use crate::perturb::Ctx;
use crate::Image;
use cudarc::driver::{CudaSlice, LaunchConfig};

/// Threads per block (kernels/dermoscopy.cu `DERM_THREADS`).
const THREADS: u32 = 256;

/// Perturb every image of `input` with `id` at its strength; returns a new batch.
pub fn apply(
    engine: &CudaEngine,
    id: &str,
    input: &DeviceBatch,
    strengths: &[f32],
) -> Result<DeviceBatch, BackendError> {
    batch::apply_with(engine, id, input, strengths, |out, s| {
        launch(engine, id, input, out, s)
    })
}

/// Launch into `out` with the strengths already on the device (the on-GPU search's entry).
pub fn launch(
    engine: &CudaEngine,
    id: &str,
    input: &DeviceBatch,
    out: &mut DeviceBatch,
    strength: &CudaSlice<f32>,
) -> Result<(), BackendError> {
    let (id, kernel) = member(id, Family::DermClosedForm)?;
    if strength.len() < input.len() || out.total != input.total {
        return Err(BackendError::cuda(
            id.to_string(),
            "batch and strengths differ in size",
        ));
    }
    if input.is_empty() || input.max_plane() == 0 {
        return Ok(());
    }
    let n = input.len() as u32;
    let blocks_x = u32::try_from(input.max_plane().div_ceil(THREADS as usize))
        .map_err(|_| BackendError::cuda(id.to_string(), "image too large for one launch"))?;
    let cfg = LaunchConfig {
        grid_dim: (blocks_x, n, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let f = engine.function(Family::DermClosedForm.module(), kernel.symbol)?;
    let s = engine.stream();
    let mut l = f.builder(s);
    l.arg(&input.data)
        .arg(&mut out.data)
        .arg(&input.d_descs)
        .arg(strength)
        .arg(&n);
    // SAFETY: matches `derm_vignette` in kernels/dermoscopy.cu: (const float* in, float* out,
    // const MfrImageDesc* descs, const float* strength, uint32_t n_images); in/out share the
    // layout (checked totals), strength has >= n entries; grid.y = n, grid.x * 256 >= every plane
    // and threads past a plane return.
    unsafe { l.launch(cfg) }?;
    Ok(())
}

/// What a batch uploaded for derm_light_reflection or derm_hair.
enum DermData {
    /// derm_light_reflection: one glare plane per image.
    Glare(PackedFields),
    /// derm_hair: records, per-image (first, count), sprites, 3 colours per image.
    Hairs {
        records: CudaSlice<u32>,
        ranges: CudaSlice<u32>,
        alpha: CudaSlice<f32>,
        colour: CudaSlice<f32>,
    },
}

/// A batch's prepared data for derm_light_reflection or derm_hair.
pub struct DermPrepared {
    id: &'static str,
    symbol: &'static str,
    data: DermData,
}

impl DermPrepared {
    /// Draw each image's strength-independent data with the CPU's own functions (seed,
    /// `batch.descs[i].image_id`) and upload it once. `images` are the host images `batch` was
    /// uploaded from (derm_hair's sprites are clipped to each image's size; the glare needs only
    /// the size, but the same call shape keeps one entry point).
    pub fn new(
        engine: &CudaEngine,
        id: &str,
        images: &[&Image],
        batch: &DeviceBatch,
        seed: u64,
    ) -> Result<Self, BackendError> {
        let (id, kernel) = member(id, Family::DermPrepared)?;
        if images.len() != batch.len()
            || images.iter().zip(&batch.descs).any(|(im, d)| {
                (im.width, im.height, im.channels)
                    != (d.width as usize, d.height as usize, d.channels as usize)
            })
        {
            return Err(BackendError::cuda(id, "host images differ from the batch"));
        }
        let data = if id == "derm_light_reflection" {
            let planes: Vec<Vec<f32>> = batch
                .descs
                .iter()
                .map(|d| {
                    glare_field(
                        d.width as usize,
                        d.height as usize,
                        &Ctx::new(seed, d.image_id),
                    )
                })
                .collect();
            DermData::Glare(fields::upload(engine, &planes, batch.len())?)
        } else {
            let mut packed = PackedHairs::default();
            for (im, d) in images.iter().zip(&batch.descs) {
                let (hairs, colour) = hair_list(im, &Ctx::new(seed, d.image_id));
                packed.push(&hairs, &colour)?;
            }
            // never an empty allocation
            packed
                .records
                .extend([0; crate::backend::packing::HAIR_WORDS]);
            packed.ranges.extend([0, 0]);
            packed.alpha.push(0.0);
            packed.colour.extend([0.0; 3]);
            let s = engine.stream();
            DermData::Hairs {
                records: s.clone_htod(&packed.records).map_err(err("hair upload"))?,
                ranges: s.clone_htod(&packed.ranges).map_err(err("hair upload"))?,
                alpha: s.clone_htod(&packed.alpha).map_err(err("hair upload"))?,
                colour: s.clone_htod(&packed.colour).map_err(err("hair upload"))?,
            }
        };
        Ok(DermPrepared {
            id,
            symbol: kernel.symbol,
            data,
        })
    }

    /// Perturb every image of `input` (the batch given to `new`) at its strength.
    pub fn apply(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        strengths: &[f32],
    ) -> Result<DeviceBatch, BackendError> {
        batch::apply_with(engine, self.id, input, strengths, |out, s| {
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
        if strength.len() < input.len() || out.total != input.total {
            return Err(BackendError::cuda(
                self.id,
                "batch and strengths differ in size",
            ));
        }
        if input.is_empty() || input.max_plane() == 0 {
            return Ok(());
        }
        let n = input.len() as u32;
        let blocks_x = u32::try_from(input.max_plane().div_ceil(THREADS as usize))
            .map_err(|_| BackendError::cuda(self.id, "image too large for one launch"))?;
        let cfg = LaunchConfig {
            grid_dim: (blocks_x, n, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let f = engine.function(Family::DermPrepared.module(), self.symbol)?;
        let s = engine.stream();
        let mut l = f.builder(s);
        match &self.data {
            DermData::Glare(field) => {
                if field.offsets.len() < input.len() {
                    return Err(BackendError::cuda(
                        self.id,
                        "batch and prepared fields differ in size",
                    ));
                }
                l.arg(&input.data)
                    .arg(&mut out.data)
                    .arg(&input.d_descs)
                    .arg(strength)
                    .arg(&field.data)
                    .arg(&field.offsets)
                    .arg(&n);
                // SAFETY: matches `derm_light_reflection(const float* in, float* out, const
                // MfrImageDesc* descs, const float* strength, const float* field, const uint64_t*
                // field_off, uint32_t n_images)`; in/out share the layout (checked totals),
                // strength and field_off have >= n entries, image i's w*h glare plane starts at
                // field_off[i] (built in `new` from the same descs); grid.y = n, grid.x * 256 >=
                // every plane, threads past it return.
                unsafe { l.launch(cfg) }?;
            }
            DermData::Hairs {
                records,
                ranges,
                alpha,
                colour,
            } => {
                if ranges.len() < 2 * input.len() || colour.len() < 3 * input.len() {
                    return Err(BackendError::cuda(
                        self.id,
                        "batch and prepared hairs differ in size",
                    ));
                }
                l.arg(&input.data)
                    .arg(&mut out.data)
                    .arg(&input.d_descs)
                    .arg(strength);
                l.arg(records).arg(ranges).arg(alpha).arg(colour).arg(&n);
                // SAFETY: matches `derm_hair(const float* in, float* out, const MfrImageDesc*
                // descs, const float* strength, const uint32_t* hairs, const uint32_t* hair_range,
                // const float* alpha, const float* colour, uint32_t n_images)`; in/out share the
                // layout (checked totals), strength has >= n entries, hair_range 2n, colour 3n
                // (checked); PackedHairs wrote image i's records (8 words each, sprite boxes
                // inside image i, alpha offsets + w*h within `alpha`) at hair_range[2i];
                // grid.y = n, grid.x * 256 >= every plane, threads past it return.
                unsafe { l.launch(cfg) }?;
            }
        }
        Ok(())
    }
}
