//! Launch wrapper of kernels/blur.cu: gaussian_blur for a whole batch, image i at sigma
//! `strengths[i]` px. Taps come from the CPU twin's [`gaussian_kernel`] (truncate 4, scipy's
//! rule, as src/perturb/base/blur.rs), so device and CPU use the same f32 taps.

use super::{err, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::common::filter::gaussian_kernel;
use cudarc::driver::{LaunchConfig, PushKernelArg};

/// Threads per block (kernels/blur.cu `BLUR_THREADS`).
const THREADS: u32 = 256;
/// scipy gaussian_filter's default truncation, as src/perturb/base/blur.rs.
const TRUNCATE: f64 = 4.0;

/// Packed taps of every image: (taps, offset of image i's taps, radius of image i).
pub fn packed_taps(strengths: &[f32]) -> (Vec<f32>, Vec<u32>, Vec<u32>) {
    let mut taps = Vec::new();
    let mut off = Vec::with_capacity(strengths.len());
    let mut radius = Vec::with_capacity(strengths.len());
    for &s in strengths {
        // s <= 0 gives the one-tap identity [1.0] (gaussian_kernel's rule).
        let k = gaussian_kernel(s as f64, TRUNCATE);
        off.push(taps.len() as u32);
        radius.push((k.len() / 2) as u32);
        taps.extend_from_slice(&k);
    }
    (taps, off, radius)
}

/// gaussian_blur of every image of `input`.
pub fn gaussian_blur(engine: &CudaEngine, input: &DeviceBatch, strengths: &[f32]) -> Result<DeviceBatch, BackendError> {
    if strengths.len() != input.len() {
        return Err(BackendError::cuda("gaussian_blur", "one strength per image is required"));
    }
    let mut out = DeviceBatch::zeros_like(engine, input)?;
    if input.is_empty() || input.max_plane() == 0 {
        return Ok(out);
    }
    let mut tmp = DeviceBatch::zeros_like(engine, input)?;
    let (taps, off, radius) = packed_taps(strengths);
    let s = engine.stream();
    let d_taps = s.clone_htod(&taps).map_err(err("blur upload"))?;
    let d_off = s.clone_htod(&off).map_err(err("blur upload"))?;
    let d_radius = s.clone_htod(&radius).map_err(err("blur upload"))?;
    let n = input.len() as u32;
    let blocks_x = u32::try_from(input.max_plane().div_ceil(THREADS as usize))
        .map_err(|_| BackendError::cuda("gaussian_blur", "image too large for one launch"))?;
    let cfg = LaunchConfig { grid_dim: (blocks_x, n, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };

    let rows = engine.function("blur", "blur_rows")?;
    let mut l = s.launch_builder(&rows);
    l.arg(&input.data).arg(&mut tmp.data).arg(&input.d_descs).arg(&d_taps).arg(&d_off).arg(&d_radius).arg(&n);
    // SAFETY: matches `blur_rows(const float* in, float* tmp, const MfrImageDesc*, const float*
    // taps, const uint32_t* tap_off, const uint32_t* radius, uint32_t n)`; in/tmp share the layout
    // `descs`; image i reads taps[off[i] ..= off[i] + 2 radius[i]], all inside `taps`; grid.y = n.
    unsafe { l.launch(cfg) }.map_err(err("blur_rows launch"))?;

    let cols = engine.function("blur", "blur_cols")?;
    let mut l = s.launch_builder(&cols);
    l.arg(&tmp.data).arg(&mut out.data).arg(&input.d_descs).arg(&d_taps).arg(&d_off).arg(&d_radius).arg(&n);
    // SAFETY: as above for `blur_cols(const float* tmp, float* out, ...)`.
    unsafe { l.launch(cfg) }.map_err(err("blur_cols launch"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_are_packed_per_image() {
        let (t, off, r) = packed_taps(&[0.0, 1.0, 0.0]);
        assert_eq!(r, [0, 4, 0]); // int(4 * 1 + 0.5) = 4
        assert_eq!(off, [0, 1, 10]);
        assert_eq!(t.len(), 11);
        assert_eq!((t[0], t[10]), (1.0, 1.0));
    }
}
