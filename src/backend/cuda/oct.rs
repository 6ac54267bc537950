//! Launch wrappers of kernels/oct.cu (oct_shadow, oct_blink): the strength-independent column /
//! band lists are drawn on the CPU with the CPU's own functions ([`shadow_columns`],
//! [`blink_bands`]) from each image's (seed, image id) and uploaded once ([`OctPrepared::new`]);
//! every [`OctPrepared::apply`] is one launch for the whole batch, image i at `strengths[i]`.

use super::{err, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::oct::{blink_bands, shadow_columns};
use crate::perturb::Ctx;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

/// Threads per block (kernels/oct.cu `OCT_THREADS`).
const THREADS: u32 = 256;

/// Ids with a kernel in kernels/oct.cu.
pub const IDS: [&str; 2] = ["oct_shadow", "oct_blink"];

/// Segments per image (kernels/oct.cuh `MFR_OCT_SHADOW_K`, `MFR_OCT_BLINK_K`).
fn segments(id: &str) -> Option<usize> {
    match id {
        "oct_shadow" => Some(3),
        "oct_blink" => Some(4),
        _ => None,
    }
}

/// A batch's uploaded segment lists for one OCT perturbation.
pub struct OctPrepared {
    id: &'static str,
    lists: CudaSlice<f32>,
}

impl OctPrepared {
    /// Draw image i's segments as the CPU `prepare` does (seed, `batch.descs[i].image_id`) and
    /// upload them: image i's list at `2K * i` (centre, share pairs).
    pub fn new(engine: &CudaEngine, id: &str, batch: &DeviceBatch, seed: u64) -> Result<Self, BackendError> {
        let id = IDS.into_iter().find(|&k| k == id).ok_or_else(|| BackendError::cuda(id.to_string(), "no CUDA kernel for this perturbation"))?;
        let k = segments(id).unwrap_or(0);
        let mut host = Vec::with_capacity(batch.len() * 2 * k);
        for d in &batch.descs {
            let ctx = Ctx::new(seed, d.image_id);
            let list = if id == "oct_shadow" { shadow_columns(d.width as usize, &ctx) } else { blink_bands(d.height as usize, &ctx) };
            if list.len() != k {
                return Err(BackendError::cuda(id, "segment count differs from the kernel's constant"));
            }
            host.extend(list.iter().flat_map(|&(c, p)| [c, p]));
        }
        host.push(0.0); // never an empty allocation
        let lists = engine.stream().clone_htod(&host).map_err(err("oct list upload"))?;
        Ok(OctPrepared { id, lists })
    }

    /// Perturb every image of `input` (the batch given to `new`) at its strength.
    pub fn apply(&self, engine: &CudaEngine, input: &DeviceBatch, strengths: &[f32]) -> Result<DeviceBatch, BackendError> {
        let strength = engine.stream().clone_htod(strengths).map_err(err("strength upload"))?;
        if strengths.len() != input.len() {
            return Err(BackendError::cuda(self.id, "one strength per image is required"));
        }
        let mut out = DeviceBatch::zeros_like(engine, input)?;
        self.launch(engine, input, &mut out, &strength)?;
        Ok(out)
    }

    /// Launch into `out` with the strengths already on the device (`strength.len() == n`); used by
    /// the on-GPU search, which keeps the strengths on the device.
    pub fn launch(&self, engine: &CudaEngine, input: &DeviceBatch, out: &mut DeviceBatch, strength: &CudaSlice<f32>) -> Result<(), BackendError> {
        let k = segments(self.id).unwrap_or(0);
        if strength.len() < input.len() || self.lists.len() < input.len() * 2 * k || out.total != input.total {
            return Err(BackendError::cuda(self.id, "batch, strengths and lists differ in size"));
        }
        if input.is_empty() || input.max_plane() == 0 {
            return Ok(());
        }
        let n = input.len() as u32;
        let blocks_x = u32::try_from(input.max_plane().div_ceil(THREADS as usize))
            .map_err(|_| BackendError::cuda(self.id, "image too large for one launch"))?;
        let cfg = LaunchConfig { grid_dim: (blocks_x, n, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
        let f = engine.function("oct", self.id)?;
        let s = engine.stream();
        let mut l = s.launch_builder(&f);
        l.arg(&input.data).arg(&mut out.data).arg(&input.d_descs).arg(strength).arg(&self.lists).arg(&n);
        // SAFETY: matches `oct_shadow` / `oct_blink` in kernels/oct.cu: (const float* in, float* out,
        // const MfrImageDesc* descs, const float* strength, const float* lists, uint32_t n_images).
        // in/out have the same layout (checked totals; `out` made by zeros_like), strength has >= n
        // entries, lists >= n * 2K (checked above); grid.y = n, grid.x * 256 >= every plane and
        // threads past a plane return.
        unsafe { l.launch(cfg) }.map_err(err("oct launch"))?;
        Ok(())
    }
}
