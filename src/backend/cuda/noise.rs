//! Launch wrappers of kernels/noise.cu (gaussian_noise, speckle_noise, salt_pepper, brightness,
//! contrast): one
//! launch perturbs a whole batch, image i at `strengths[i]`.

use super::ssim::channel_means;
use super::{err, CudaEngine, DeviceBatch};
use crate::backend::params::RngKey;
use crate::backend::BackendError;
use cudarc::driver::{LaunchConfig, PushKernelArg};

/// Threads per block of the elementwise kernels (kernels/noise.cu `NOISE_THREADS`).
const THREADS: u32 = 256;

/// Ids with a kernel in kernels/noise.cu.
pub const IDS: [&str; 5] = ["gaussian_noise", "speckle_noise", "salt_pepper", "brightness", "contrast"];

/// Perturb every image of `input` with perturbation `id` at its strength; returns a new batch.
pub fn apply(engine: &CudaEngine, id: &str, input: &DeviceBatch, strengths: &[f32], key: RngKey) -> Result<DeviceBatch, BackendError> {
    if strengths.len() != input.len() {
        return Err(BackendError::cuda(id, "one strength per image is required"));
    }
    let mut out = DeviceBatch::zeros_like(engine, input)?;
    if input.is_empty() || input.max_plane() == 0 {
        return Ok(out);
    }
    let s = engine.stream();
    let d_strength = s.clone_htod(strengths).map_err(err("strength upload"))?;
    let n = input.len() as u32;
    let blocks_x = u32::try_from(input.max_plane().div_ceil(THREADS as usize))
        .map_err(|_| BackendError::cuda(id, "image too large for one launch"))?;
    let cfg = LaunchConfig { grid_dim: (blocks_x, n, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
    let f = engine.function("noise", id)?;
    let mut l = s.launch_builder(&f);
    l.arg(&input.data).arg(&mut out.data).arg(&input.d_descs).arg(&d_strength);
    let means;
    match id {
        "gaussian_noise" | "speckle_noise" | "salt_pepper" => {
            l.arg(&key).arg(&n);
        }
        "brightness" => {
            l.arg(&n);
        }
        "contrast" => {
            means = channel_means(engine, input)?;
            l.arg(&means.0).arg(&means.1).arg(&n);
        }
        _ => return Err(BackendError::cuda(id, "no CUDA kernel for this perturbation")),
    }
    // SAFETY: the argument lists above match the kernels in kernels/noise.cu:
    // (const float* in, float* out, const MfrImageDesc*, const float* strength, then
    //  gaussian_noise/speckle_noise/salt_pepper: MfrRngKey, uint32_t n; brightness: uint32_t n;
    //  contrast: const double* means, uint32_t max_channels, uint32_t n).
    // in/out share the layout `descs` (zeros_like), strength has n entries, means n * max_channels;
    // grid.y = n, grid.x * 256 >= every plane, threads past a plane return.
    unsafe { l.launch(cfg) }.map_err(err("noise launch"))?;
    Ok(out)
}
