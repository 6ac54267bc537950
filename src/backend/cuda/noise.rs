//! Launch wrappers of kernels/noise.cu (gaussian_noise, speckle_noise, salt_pepper, brightness,
//! contrast): one
//! launch perturbs a whole batch, image i at `strengths[i]`.

use super::ssim::channel_means;
use super::{batch, member, CudaEngine, DeviceBatch};
use crate::backend::params::RngKey;
use crate::backend::BackendError;
use crate::perturb::device::Family;
use cudarc::driver::{CudaSlice, LaunchConfig};

/// Threads per block of the elementwise kernels (kernels/noise.cu `NOISE_THREADS`).
const THREADS: u32 = 256;

/// Perturb every image of `input` with perturbation `id` at its strength; returns a new batch.
pub fn apply(
    engine: &CudaEngine,
    id: &str,
    input: &DeviceBatch,
    strengths: &[f32],
    key: RngKey,
) -> Result<DeviceBatch, BackendError> {
    let k = NoiseKernel::new(engine, id, input, key)?;
    batch::apply_with(engine, id, input, strengths, |out, s| {
        k.launch(engine, input, out, s)
    })
}

/// One noise/intensity kernel prepared for one batch: the RNG key and (contrast) the clean
/// per-image channel means, computed once; [`NoiseKernel::launch`] reads the strengths from the
/// device (the on-GPU search's entry).
pub struct NoiseKernel {
    id: &'static str,
    symbol: &'static str,
    key: RngKey,
    means: Option<(CudaSlice<f64>, u32)>,
}

impl NoiseKernel {
    pub fn new(
        engine: &CudaEngine,
        id: &str,
        input: &DeviceBatch,
        key: RngKey,
    ) -> Result<Self, BackendError> {
        let (id, k) = member(id, Family::Noise)?;
        let means = if id == "contrast" && !input.is_empty() {
            Some(channel_means(engine, input)?)
        } else {
            None
        };
        Ok(NoiseKernel {
            id,
            symbol: k.symbol,
            key,
            means,
        })
    }

    /// Perturb `input` (the batch given to `new`) into `out` at `strength[i]` (device, >= n values).
    pub fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        let id = self.id;
        if strength.len() < input.len() || out.total != input.total {
            return Err(BackendError::cuda(id, "batch and strengths differ in size"));
        }
        if input.is_empty() || input.max_plane() == 0 {
            return Ok(());
        }
        let s = engine.stream();
        let n = input.len() as u32;
        let blocks_x = u32::try_from(input.max_plane().div_ceil(THREADS as usize))
            .map_err(|_| BackendError::cuda(id, "image too large for one launch"))?;
        let cfg = LaunchConfig {
            grid_dim: (blocks_x, n, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let f = engine.function(Family::Noise.module(), self.symbol)?;
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength);
        match (id, &self.means) {
            ("gaussian_noise" | "speckle_noise" | "salt_pepper", _) => {
                l.arg(&self.key).arg(&n);
            }
            ("brightness", _) => {
                l.arg(&n);
            }
            ("contrast", Some((means, max_c))) => {
                l.arg(means).arg(max_c).arg(&n);
            }
            _ => {
                return Err(BackendError::cuda(
                    id,
                    "no CUDA kernel for this perturbation",
                ))
            }
        }
        // SAFETY: the argument lists above match the kernels in kernels/noise.cu:
        // (const float* in, float* out, const MfrImageDesc*, const float* strength, then
        //  gaussian_noise/speckle_noise/salt_pepper: MfrRngKey, uint32_t n; brightness: uint32_t n;
        //  contrast: const double* means, uint32_t max_channels, uint32_t n).
        // in/out share the layout (checked totals), strength has >= n entries, means
        // n * max_channels (made from this batch in `new`); grid.y = n, grid.x * 256 >= every
        // plane, threads past a plane return.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}
