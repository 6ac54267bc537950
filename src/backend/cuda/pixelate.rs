//! Launch wrapper of kernels/pixelate.cu: pixelate for a whole batch, image i at strength
//! `strength[i]` (block size 1 + round(s), computed on the device as by the CPU twin
//! src/perturb/base/pixelate.rs); small blocks a thread per cell, blocks of 8 to 64 px a warp per
//! cell (the same f64 sums in the same order).

use super::{batch, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::device::Family;
use cudarc::driver::{CudaSlice, LaunchConfig};

/// Threads per block (kernels/pixelate.cu `PIX_THREADS`).
const THREADS: u32 = 256;

/// Smallest block size kernels/pixelate.cu gives a warp per cell (`PIX_WARP_MIN`).
const WARP_MIN: usize = 8;

/// pixelate of every image of `input` at its strength.
pub fn pixelate(
    engine: &CudaEngine,
    input: &DeviceBatch,
    strengths: &[f32],
) -> Result<DeviceBatch, BackendError> {
    batch::apply_with(engine, "pixelate", input, strengths, |out, s| {
        launch(engine, input, out, s)
    })
}

/// Threads the kernel needs for a `w x h x c` image at any block size: a thread per (cell,
/// channel) for small blocks (at most w h c cells), a warp per (cell, channel) from
/// `WARP_MIN` px (most cells at b = `WARP_MIN`, partial edge blocks included).
fn threads_needed(w: usize, h: usize, c: usize) -> usize {
    (w * h).max(32 * w.div_ceil(WARP_MIN) * h.div_ceil(WARP_MIN)) * c
}

/// The launch grid: every image's [`threads_needed`] covered (the block size is only known on the
/// device, where it comes from the strength).
fn grid(input: &DeviceBatch) -> Result<Option<LaunchConfig>, BackendError> {
    let most = input
        .descs
        .iter()
        .map(|d| threads_needed(d.width as usize, d.height as usize, d.channels as usize))
        .max()
        .unwrap_or(0);
    if most == 0 {
        return Ok(None);
    }
    let blocks_x = u32::try_from(most.div_ceil(THREADS as usize))
        .map_err(|_| BackendError::cuda("pixelate", "image too large for one launch"))?;
    Ok(Some(LaunchConfig {
        grid_dim: (blocks_x, input.len() as u32, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    }))
}

/// pixelate `input` into `out` at `strength[i]` (device, >= n values; also the on-GPU search's
/// entry).
pub fn launch(
    engine: &CudaEngine,
    input: &DeviceBatch,
    out: &mut DeviceBatch,
    strength: &CudaSlice<f32>,
) -> Result<(), BackendError> {
    if strength.len() < input.len() || out.total != input.total {
        return Err(BackendError::cuda(
            "pixelate",
            "batch and strengths differ in size",
        ));
    }
    let Some(cfg) = grid(input)? else {
        return Ok(());
    };
    let n = input.len() as u32;
    let f = engine.kernel("pixelate", Family::Pixelate)?;
    let s = engine.stream();
    let mut l = f.builder(s);
    l.arg(&input.data)
        .arg(&mut out.data)
        .arg(&input.d_descs)
        .arg(strength)
        .arg(&n);
    // SAFETY: matches `pixelate(const float* in, float* out, const MfrImageDesc*, const float*
    // strength, uint32_t n)`; in/out share the layout (checked totals), strength has >= n entries;
    // grid.y = n, grid.x * 256 >= every image's `threads_needed` for any block size >= 1 (one
    // thread or one whole warp per cell and channel), threads and warps past an image's cells
    // return; each thread or warp writes only its own block, inside its image.
    unsafe { l.launch(cfg) }?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_covers_every_block_size() {
        for (w, h, c) in [
            (9usize, 9usize, 1usize),
            (1, 1, 3),
            (512, 512, 3),
            (17, 100, 1),
            (8, 8, 1),
            (65, 3, 3),
        ] {
            for b in 1..=70usize {
                let cells = w.div_ceil(b) * h.div_ceil(b) * c;
                let by_warp = (WARP_MIN..=64).contains(&b);
                let need = if by_warp { 32 * cells } else { cells };
                assert!(need <= threads_needed(w, h, c), "{w}x{h}x{c} b {b}");
            }
        }
    }
}
