//! Launch wrapper of kernels/jpeg.cu: the JPEG round trip of a whole batch, image i at
//! `strengths[i]` (quality round(100 - 99 s), computed on the device as by the CPU twin
//! src/perturb/base/jpeg/).
//!
//! The kernel emulates the CPU's codecs exactly (jpeg-encoder's fixed-point colour conversion,
//! 4:2:0 point sampling, islow FDCT and reciprocal quantisation; zune-jpeg's dequantisation,
//! integer IDCT, fancy upsampling and fixed-point YCbCr -> RGB; see kernels/jpeg.cuh), so its
//! output is bit-identical to the CPU round trip (tests/cuda_host_math_jpeg.rs, on the host).
//! Design: one block per 16 x 16 tile (an MCU for RGB) that also decodes the 8 neighbouring
//! chroma blocks the upsampling filter reads, so the whole round trip is one kernel with no
//! scratch buffer. Nothing depends on the strength on the host, so the on-GPU search calls
//! [`launch`] with device strengths.

use super::{batch, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::device::Family;
use cudarc::driver::{CudaSlice, LaunchConfig};

/// Threads per block (kernels/jpeg.cuh `MFR_JPEG_THREADS`): one per pixel of a tile.
const THREADS: u32 = 256;
/// Tile side in pixels (kernels/jpeg.cuh `MFR_JPEG_TILE`).
const TILE: usize = 16;

/// JPEG round trip of every image of `input`; returns a new batch.
pub fn apply(
    engine: &CudaEngine,
    input: &DeviceBatch,
    strengths: &[f32],
) -> Result<DeviceBatch, BackendError> {
    batch::apply_with(engine, "jpeg", input, strengths, |out, s| {
        launch(engine, input, out, s)
    })
}

/// Tiles of one image (the kernel's grid.x extent for it).
fn tiles(width: u32, height: u32) -> usize {
    (width as usize).div_ceil(TILE) * (height as usize).div_ceil(TILE)
}

/// Launch into `out` with the strengths already on the device (the on-GPU search's entry).
/// Errors, as the CPU `prepare` refuses them: channel counts other than 1 and 3, sides over
/// 65535 pixels (JPEG's limit).
pub fn launch(
    engine: &CudaEngine,
    input: &DeviceBatch,
    out: &mut DeviceBatch,
    strength: &CudaSlice<f32>,
) -> Result<(), BackendError> {
    if strength.len() < input.len() || out.total != input.total {
        return Err(BackendError::cuda(
            "jpeg",
            "batch and strengths differ in size",
        ));
    }
    if let Some(d) = input
        .descs
        .iter()
        .find(|d| d.channels != 1 && d.channels != 3)
    {
        return Err(BackendError::cuda(
            "jpeg",
            format!("{} channels (JPEG takes 1 or 3)", d.channels),
        ));
    }
    if let Some(d) = input
        .descs
        .iter()
        .find(|d| d.width > u16::MAX as u32 || d.height > u16::MAX as u32)
    {
        return Err(BackendError::cuda(
            "jpeg",
            format!(
                "image {}x{} outside JPEG's 1..65535 px per side",
                d.width, d.height
            ),
        ));
    }
    let most = input
        .descs
        .iter()
        .map(|d| tiles(d.width, d.height))
        .max()
        .unwrap_or(0);
    if input.is_empty() || most == 0 {
        return Ok(());
    }
    let blocks_x = u32::try_from(most)
        .map_err(|_| BackendError::cuda("jpeg", "image too large for one launch"))?;
    let n = input.len() as u32;
    let cfg = LaunchConfig {
        grid_dim: (blocks_x, n, 1),
        block_dim: (THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let f = engine.kernel("jpeg", Family::Jpeg)?;
    let s = engine.stream();
    let mut l = f.builder(s);
    l.arg(&input.data)
        .arg(&mut out.data)
        .arg(&input.d_descs)
        .arg(strength)
        .arg(&n);
    // SAFETY: matches `jpeg(const float* in, float* out, const MfrImageDesc* descs, const float*
    // strength, uint32_t n_images)` in kernels/jpeg.cu; in/out share the layout `descs` (checked
    // totals), strength has >= n entries; grid.y = n, grid.x covers every image's 16 x 16 tiles
    // and blocks past an image's tiles return before touching memory; 256 threads = one per tile
    // pixel as the kernel assumes (static shared memory only); each block reads its tile's
    // neighbourhood (indices clamped into the image) and writes only its own tile's pixels.
    unsafe { l.launch(cfg) }?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_the_image() {
        assert_eq!(tiles(1, 1), 1);
        assert_eq!(tiles(16, 16), 1);
        assert_eq!(tiles(17, 16), 2);
        assert_eq!(tiles(100, 75), 7 * 5);
    }
}
