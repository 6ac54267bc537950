//! Launch wrapper of kernels/pixelate.cu: pixelate for a whole batch, image i at strength
//! `strengths[i]` (block size 1 + round(s), computed on the device as by the CPU twin
//! src/perturb/base/pixelate.rs).

use super::{err, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};

/// Threads per block (kernels/pixelate.cu `PIX_THREADS`).
const THREADS: u32 = 256;

/// The CPU twin's block size rule (kernels/pixelate.cuh `mfr_pixelate_block`).
fn block_size(s: f32) -> usize {
    1 + s.max(0.0).round() as usize
}

/// pixelate of every image of `input`.
pub fn pixelate(engine: &CudaEngine, input: &DeviceBatch, strengths: &[f32]) -> Result<DeviceBatch, BackendError> {
    if strengths.len() != input.len() {
        return Err(BackendError::cuda("pixelate", "one strength per image is required"));
    }
    let mut out = DeviceBatch::zeros_like(engine, input)?;
    if input.is_empty() || input.max_plane() == 0 {
        return Ok(out);
    }
    // Threads needed: cells * channels of the image that needs most.
    let most = input
        .descs
        .iter()
        .zip(strengths)
        .map(|(d, &s)| {
            let b = block_size(s);
            (d.width as usize).div_ceil(b) * (d.height as usize).div_ceil(b) * d.channels as usize
        })
        .max()
        .unwrap_or(0);
    let blocks_x = u32::try_from(most.div_ceil(THREADS as usize).max(1))
        .map_err(|_| BackendError::cuda("pixelate", "image too large for one launch"))?;
    let s = engine.stream();
    let d_strength = s.clone_htod(strengths).map_err(err("strength upload"))?;
    let n = input.len() as u32;
    let f = engine.function("pixelate", "pixelate")?;
    let mut l = s.launch_builder(&f);
    l.arg(&input.data).arg(&mut out.data).arg(&input.d_descs).arg(&d_strength).arg(&n);
    let cfg = LaunchConfig { grid_dim: (blocks_x, n, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
    // SAFETY: matches `pixelate(const float* in, float* out, const MfrImageDesc*, const float*
    // strength, uint32_t n)`; in/out share the layout `descs`, strength has n entries; grid.x * 256
    // covers every image's cells * channels (computed with the kernel's block-size rule), threads
    // past them return; each thread writes only its own block, inside its image.
    unsafe { l.launch(cfg) }.map_err(err("pixelate launch"))?;
    Ok(out)
}

/// pixelate with the strengths already on the device (the on-GPU search's entry). The block size
/// is then unknown to the host, so the grid covers the smallest block (1 pixel): every image's
/// w * h * channels threads; threads past an image's cells return.
pub fn launch(engine: &CudaEngine, input: &DeviceBatch, out: &mut DeviceBatch, strength: &CudaSlice<f32>) -> Result<(), BackendError> {
    if strength.len() < input.len() || out.total != input.total {
        return Err(BackendError::cuda("pixelate", "batch and strengths differ in size"));
    }
    let Some(cfg) = input.sample_grid(THREADS, "pixelate")? else { return Ok(()) };
    let n = input.len() as u32;
    let f = engine.function("pixelate", "pixelate")?;
    let s = engine.stream();
    let mut l = s.launch_builder(&f);
    l.arg(&input.data).arg(&mut out.data).arg(&input.d_descs).arg(strength).arg(&n);
    // SAFETY: matches `pixelate(const float* in, float* out, const MfrImageDesc*, const float*
    // strength, uint32_t n)`; in/out share the layout (checked totals), strength has >= n entries;
    // grid.x * 256 >= w * h * c >= cells * c for any block size >= 1, threads past an image's
    // cells return; each thread writes only its own block, inside its image.
    unsafe { l.launch(cfg) }.map_err(err("pixelate launch"))?;
    Ok(())
}
