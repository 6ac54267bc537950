//! Launch wrappers of kernels/oct.cu. What is prepared once per batch ([`OctPrepared::new`]) and
//! what per strength:
//! - oct_shadow / oct_blink: the column / band lists, drawn on the CPU with the CPU's own
//!   [`shadow_columns`] / [`blink_bands`] from each image's (seed, image id), uploaded once;
//! - oct_speckle: the N(0, 1) plane of [`speckle_field`], uploaded once;
//! - oct_motion: the row band factors of [`motion_row_factors`], uploaded once;
//! - oct_defocus: nothing drawn; its disk (size and weights depend on s) is built ON THE DEVICE
//!   from the CPU's formula for every launch, so the on-GPU search needs no host work per
//!   strength. `new` allocates the f64 prefix-row scratch once, sized for the largest supported
//!   radius (kernels/oct.cuh `MFR_DISK_MAX_HALF`: radius <= 10.5 px, the catalogued range is 0-10).
//!
//! Every [`OctPrepared::apply`] / [`OctPrepared::launch`] perturbs the whole batch, image i at its
//! own strength (oct_defocus: two launches, prefix rows then disk sums, on one stream).
//! Parity: bit-identical host math (tests/cuda_host_math_oct.rs); on the device oct_speckle uses
//! CUDA's expf (<= 2 ulp), hence the 1e-5 tolerance of tests/cuda_parity_oct.rs.

use super::fields::{self, PackedFields};
use super::{batch, err, member, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::device::Family;
use crate::perturb::oct::{blink_bands, motion_row_factors, shadow_columns, speckle_field};
use crate::perturb::Ctx;
use cudarc::driver::{CudaSlice, LaunchConfig};
use std::sync::Mutex;

/// Threads per block (kernels/oct.cu `OCT_THREADS`).
const THREADS: u32 = 256;

/// kernels/oct.cuh `MFR_DISK_MAX_HALF`: the largest disk half-size the device path supports.
pub const DISK_MAX_HALF: usize = 10;

/// Segments per image (kernels/oct.cuh `MFR_OCT_SHADOW_K`, `MFR_OCT_BLINK_K`).
fn segments(id: &str) -> Option<usize> {
    match id {
        "oct_shadow" => Some(3),
        "oct_blink" => Some(4),
        _ => None,
    }
}

/// psf.rs `convolve_disk`'s half-size of radius `s` (twin of kernels/oct.cuh `mfr_disk_half`).
fn disk_half(s: f32) -> isize {
    ((s.max(0.0) + 0.5).ceil() as isize - 1).max(0)
}

/// What a batch uploaded for one OCT perturbation.
enum OctData {
    /// oct_shadow / oct_blink: image i's 2K list floats at `2K * i`.
    Lists(CudaSlice<f32>),
    /// oct_speckle (one plane per image) / oct_motion (one row factor per row).
    Field(PackedFields),
    /// oct_defocus: prefix-row scratch (locked while a launch pair uses it) and image i's first
    /// scratch element.
    Scratch {
        scratch: Mutex<CudaSlice<f64>>,
        offsets: CudaSlice<u64>,
    },
}

/// A batch's prepared data for one OCT perturbation.
pub struct OctPrepared {
    id: &'static str,
    symbol: &'static str,
    data: OctData,
}

impl OctPrepared {
    /// Prepare `id` for `batch`: draw image i's strength-independent data as the CPU `prepare`
    /// does (seed, `batch.descs[i].image_id`) and upload it, or (oct_defocus) allocate the
    /// scratch. See the module doc for what each id uploads.
    pub fn new(
        engine: &CudaEngine,
        id: &str,
        batch: &DeviceBatch,
        seed: u64,
    ) -> Result<Self, BackendError> {
        let (id, kernel) = member(id, Family::Oct)?;
        let ctx_of = |image_id: u32| Ctx::new(seed, image_id);
        let data = match id {
            "oct_shadow" | "oct_blink" => {
                let k = segments(id).unwrap_or(0);
                let mut host = Vec::with_capacity(batch.len() * 2 * k);
                for d in &batch.descs {
                    let ctx = ctx_of(d.image_id);
                    let list = if id == "oct_shadow" {
                        shadow_columns(d.width as usize, &ctx)
                    } else {
                        blink_bands(d.height as usize, &ctx)
                    };
                    if list.len() != k {
                        return Err(BackendError::cuda(
                            id,
                            "segment count differs from the kernel's constant",
                        ));
                    }
                    host.extend(list.iter().flat_map(|&(c, p)| [c, p]));
                }
                host.push(0.0); // never an empty allocation
                OctData::Lists(
                    engine
                        .stream()
                        .clone_htod(&host)
                        .map_err(err("oct list upload"))?,
                )
            }
            "oct_speckle" | "oct_motion" => {
                let per_image: Vec<Vec<f32>> = batch
                    .descs
                    .iter()
                    .map(|d| {
                        let ctx = ctx_of(d.image_id);
                        if id == "oct_speckle" {
                            speckle_field(d.width as usize * d.height as usize, &ctx)
                        } else {
                            motion_row_factors(d.height as usize, &ctx)
                        }
                    })
                    .collect();
                OctData::Field(fields::upload(engine, &per_image, batch.len())?)
            }
            _ => {
                let mut offsets = Vec::with_capacity(batch.len() + 1);
                let mut total = 0u64;
                for d in &batch.descs {
                    offsets.push(total);
                    total += d.channels as u64
                        * d.height as u64
                        * (d.width as u64 + 2 * DISK_MAX_HALF as u64 + 1);
                }
                offsets.push(0); // never an empty allocation
                let len = usize::try_from(total.max(1))
                    .map_err(|_| BackendError::cuda(id, "scratch too large"))?;
                let s = engine.stream();
                let scratch = s
                    .alloc_zeros::<f64>(len)
                    .map_err(err("oct_defocus scratch alloc"))?;
                let offsets = s
                    .clone_htod(&offsets)
                    .map_err(err("oct_defocus offsets upload"))?;
                OctData::Scratch {
                    scratch: Mutex::new(scratch),
                    offsets,
                }
            }
        };
        Ok(OctPrepared {
            id,
            symbol: kernel.symbol,
            data,
        })
    }

    /// Perturb every image of `input` (the batch given to `new`) at its strength. oct_defocus:
    /// a radius beyond the supported half-size is a typed error here (the device would write NaN).
    pub fn apply(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        strengths: &[f32],
    ) -> Result<DeviceBatch, BackendError> {
        if self.id == "oct_defocus" {
            if let Some(s) = strengths
                .iter()
                .find(|&&s| s > 0.5 && disk_half(s) > DISK_MAX_HALF as isize)
            {
                return Err(BackendError::cuda(
                    self.id,
                    format!("radius {s} px exceeds the kernel's largest disk (10.5 px)"),
                ));
            }
        }
        batch::apply_with(engine, self.id, input, strengths, |out, s| {
            self.launch(engine, input, out, s)
        })
    }

    /// Launch into `out` with the strengths already on the device (`strength.len() >= n`); used
    /// by the on-GPU search, which keeps the strengths on the device. oct_defocus: a strength whose
    /// disk exceeds `DISK_MAX_HALF` makes that image's samples NaN (no host check possible here).
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
        let grid = |items: usize| -> Result<LaunchConfig, BackendError> {
            let blocks_x = u32::try_from(items.div_ceil(THREADS as usize))
                .map_err(|_| BackendError::cuda(self.id, "image too large for one launch"))?;
            Ok(LaunchConfig {
                grid_dim: (blocks_x, n, 1),
                block_dim: (THREADS, 1, 1),
                shared_mem_bytes: 0,
            })
        };
        let s = engine.stream();
        match &self.data {
            OctData::Lists(lists) => {
                let k = segments(self.id).unwrap_or(0);
                if lists.len() < input.len() * 2 * k {
                    return Err(BackendError::cuda(
                        self.id,
                        "batch and lists differ in size",
                    ));
                }
                let f = engine.function(Family::Oct.module(), self.symbol)?;
                let mut l = f.builder(s);
                l.arg(&input.data)
                    .arg(&mut out.data)
                    .arg(&input.d_descs)
                    .arg(strength)
                    .arg(lists)
                    .arg(&n);
                // SAFETY: matches `oct_shadow` / `oct_blink` in kernels/oct.cu: (const float* in,
                // float* out, const MfrImageDesc* descs, const float* strength, const float* lists,
                // uint32_t n_images). in/out have the same layout (checked totals; `out` made by
                // zeros_like), strength has >= n entries, lists >= n * 2K (checked above);
                // grid.y = n, grid.x * 256 >= every plane and threads past a plane return.
                unsafe { l.launch(grid(input.max_plane())?) }?;
            }
            OctData::Field(field) => {
                if field.offsets.len() < input.len() {
                    return Err(BackendError::cuda(
                        self.id,
                        "batch and prepared fields differ in size",
                    ));
                }
                let f = engine.function(Family::Oct.module(), self.symbol)?;
                let mut l = f.builder(s);
                l.arg(&input.data)
                    .arg(&mut out.data)
                    .arg(&input.d_descs)
                    .arg(strength)
                    .arg(&field.data)
                    .arg(&field.offsets)
                    .arg(&n);
                // SAFETY: matches `oct_speckle` / `oct_motion` in kernels/oct.cu: (const float* in,
                // float* out, const MfrImageDesc* descs, const float* strength, const float* field,
                // const uint64_t* field_off, uint32_t n_images). in/out share the layout (checked
                // totals), strength and field_off have >= n entries; `new` uploaded for image i a
                // w*h plane (speckle) or h row factors (motion) at field_off[i], built from the
                // same descs; grid.y = n, grid.x * 256 >= every plane, threads past it return.
                unsafe { l.launch(grid(input.max_plane())?) }?;
            }
            OctData::Scratch { scratch, offsets } => {
                if offsets.len() < input.len() {
                    return Err(BackendError::cuda(
                        self.id,
                        "batch and scratch offsets differ in size",
                    ));
                }
                let mut scratch = scratch
                    .lock()
                    .map_err(|_| BackendError::cuda(self.id, "scratch lock poisoned"))?;
                let rows = input
                    .descs
                    .iter()
                    .map(|d| d.channels as usize * d.height as usize)
                    .max()
                    .unwrap_or(0);
                let samples = input
                    .descs
                    .iter()
                    .map(|d| d.channels as usize * d.width as usize * d.height as usize)
                    .max()
                    .unwrap_or(0);
                let f = engine.function(Family::Oct.module(), "oct_defocus_prefix")?;
                let mut l = f.builder(s);
                l.arg(&input.data)
                    .arg(&input.d_descs)
                    .arg(strength)
                    .arg(&mut *scratch)
                    .arg(offsets)
                    .arg(&n);
                // SAFETY: matches `oct_defocus_prefix(const float* in, const MfrImageDesc* descs,
                // const float* strength, double* scratch, const uint64_t* scratch_off, uint32_t
                // n_images)`; strength and scratch_off have >= n entries; `new` sized image i's
                // scratch as c*h*(w + 2*DISK_MAX_HALF + 1) doubles at scratch_off[i] from the same
                // descs, and the kernel writes w + 2*half + 1 <= that stride per row, skipping
                // half > DISK_MAX_HALF; grid.y = n, grid.x * 256 >= every image's c*h rows.
                unsafe { l.launch(grid(rows)?) }?;
                let f = engine.function(Family::Oct.module(), self.symbol)?;
                let mut l = f.builder(s);
                l.arg(&input.data)
                    .arg(&mut out.data)
                    .arg(&input.d_descs)
                    .arg(strength)
                    .arg(&*scratch)
                    .arg(offsets)
                    .arg(&n);
                // SAFETY: matches `oct_defocus(const float* in, float* out, const MfrImageDesc*
                // descs, const float* strength, const double* scratch, const uint64_t*
                // scratch_off, uint32_t n_images)`; same stream, so the prefix pass above is
                // complete; in/out share the layout (checked totals); reads of scratch stay in
                // image i's rows (reflected row index < h, column < w + 2*half + 1); shared memory
                // is static (441 floats + 1 double); grid.y = n, grid.x * 256 >= every image's
                // samples, threads past them return after the block's barriers.
                unsafe { l.launch(grid(samples)?) }?;
            }
        }
        Ok(())
    }
}
