//! Launch wrapper of kernels/dermoscopy.cu (derm_vignette, closed form: nothing to prepare): one
//! launch perturbs a whole batch, image i at `strengths[i]`.

use super::{err, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

/// Threads per block (kernels/dermoscopy.cu `DERM_THREADS`).
const THREADS: u32 = 256;

/// Ids with a kernel in kernels/dermoscopy.cu.
pub const IDS: [&str; 1] = ["derm_vignette"];

/// Perturb every image of `input` with `id` at its strength; returns a new batch.
pub fn apply(engine: &CudaEngine, id: &str, input: &DeviceBatch, strengths: &[f32]) -> Result<DeviceBatch, BackendError> {
    if strengths.len() != input.len() {
        return Err(BackendError::cuda(id.to_string(), "one strength per image is required"));
    }
    let strength = engine.stream().clone_htod(strengths).map_err(err("strength upload"))?;
    let mut out = DeviceBatch::zeros_like(engine, input)?;
    launch(engine, id, input, &mut out, &strength)?;
    Ok(out)
}

/// Launch into `out` with the strengths already on the device (the on-GPU search's entry).
pub fn launch(engine: &CudaEngine, id: &str, input: &DeviceBatch, out: &mut DeviceBatch, strength: &CudaSlice<f32>) -> Result<(), BackendError> {
    if !IDS.contains(&id) {
        return Err(BackendError::cuda(id.to_string(), "no CUDA kernel for this perturbation"));
    }
    if strength.len() < input.len() || out.total != input.total {
        return Err(BackendError::cuda(id.to_string(), "batch and strengths differ in size"));
    }
    if input.is_empty() || input.max_plane() == 0 {
        return Ok(());
    }
    let n = input.len() as u32;
    let blocks_x = u32::try_from(input.max_plane().div_ceil(THREADS as usize))
        .map_err(|_| BackendError::cuda(id.to_string(), "image too large for one launch"))?;
    let cfg = LaunchConfig { grid_dim: (blocks_x, n, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
    let f = engine.function("dermoscopy", id)?;
    let s = engine.stream();
    let mut l = s.launch_builder(&f);
    l.arg(&input.data).arg(&mut out.data).arg(&input.d_descs).arg(strength).arg(&n);
    // SAFETY: matches `derm_vignette` in kernels/dermoscopy.cu: (const float* in, float* out,
    // const MfrImageDesc* descs, const float* strength, uint32_t n_images); in/out share the
    // layout (checked totals), strength has >= n entries; grid.y = n, grid.x * 256 >= every plane
    // and threads past a plane return.
    unsafe { l.launch(cfg) }.map_err(err("dermoscopy launch"))?;
    Ok(())
}
