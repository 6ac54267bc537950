//! Launch wrapper of kernels/blur.cu: gaussian_blur for a whole batch, image i at sigma
//! `strength[i]` px. The taps are built on the device from each image's strength by `blur_taps`
//! (blur.cuh `mfr_gaussian_taps`, the twin of the CPU's [`gaussian_kernel`]: truncate 4, scipy's
//! rule; checked bit for bit against it over the whole strength range by
//! tests/cuda_host_math.rs), so the strength can come from the on-GPU search without a host
//! round trip. Then the row and column passes (reflect border), as src/perturb/base/blur.rs.

use super::{batch, err, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::common::filter::gaussian_kernel;
use crate::perturb::device::Family;
use cudarc::driver::{CudaSlice, LaunchConfig};
use std::sync::Mutex;

/// Threads per block (kernels/blur.cu `BLUR_THREADS`, `BLUR_TAP_THREADS`).
const THREADS: u32 = 256;
const TAP_THREADS: u32 = 64;
/// scipy gaussian_filter's default truncation, as src/perturb/base/blur.rs.
const TRUNCATE: f64 = 4.0;

/// The tap radius of sigma `s` (the CPU's rule, from the CPU's own function).
pub fn radius(s: f32) -> u32 {
    (gaussian_kernel(s as f64, TRUNCATE).len() / 2) as u32
}

/// gaussian_blur of every image of `input` at its strength.
pub fn gaussian_blur(
    engine: &CudaEngine,
    input: &DeviceBatch,
    strengths: &[f32],
) -> Result<DeviceBatch, BackendError> {
    let most = strengths.iter().copied().fold(0.0f32, f32::max);
    BlurKernel::new(engine, input, most)?.apply(engine, input, strengths)
}

/// Device buffers one launch sequence writes: the taps and radii of every image and the row
/// pass's output.
struct Scratch {
    taps: CudaSlice<f32>,
    radius: CudaSlice<u32>,
    tmp: CudaSlice<f32>,
}

/// gaussian_blur prepared for one batch: tap and row-pass buffers allocated once, sized for
/// strengths up to `max_sigma`; [`BlurKernel::launch`] reads the strengths from the device (the
/// on-GPU search's entry).
pub struct BlurKernel {
    /// Largest radius the tap buffers hold (that of `max_sigma`); larger strengths are capped
    /// there by the kernel (a memory guard; the search stays inside the strength range).
    max_r: u32,
    /// tap_off[i] = i (2 max_r + 1): image i's taps.
    tap_off: CudaSlice<u32>,
    /// Locked while a launch sequence uses it.
    scratch: Mutex<Scratch>,
}

impl BlurKernel {
    pub fn new(
        engine: &CudaEngine,
        input: &DeviceBatch,
        max_sigma: f32,
    ) -> Result<Self, BackendError> {
        let id = "gaussian_blur";
        let max_r = radius(max_sigma);
        let stride = 2 * max_r + 1;
        let n = input.len();
        let tap_off: Vec<u32> = (0..n.max(1))
            .map(|i| u32::try_from(i).ok().and_then(|i| i.checked_mul(stride)))
            .collect::<Option<_>>()
            .ok_or_else(|| BackendError::cuda(id, "batch too large for the tap table"))?;
        let s = engine.stream();
        let scratch = Scratch {
            taps: s
                .alloc_zeros::<f32>(n.max(1) * stride as usize)
                .map_err(err("blur tap alloc"))?,
            radius: s
                .alloc_zeros::<u32>(n.max(1))
                .map_err(err("blur tap alloc"))?,
            tmp: s
                .alloc_zeros::<f32>(input.total.max(1))
                .map_err(err("blur scratch alloc"))?,
        };
        let tap_off = s.clone_htod(&tap_off).map_err(err("blur upload"))?;
        Ok(BlurKernel {
            max_r,
            tap_off,
            scratch: Mutex::new(scratch),
        })
    }

    /// Blur every image of `input` (the batch given to `new`) at its strength.
    pub fn apply(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        strengths: &[f32],
    ) -> Result<DeviceBatch, BackendError> {
        batch::apply_with(engine, "gaussian_blur", input, strengths, |out, s| {
            self.launch(engine, input, out, s)
        })
    }

    /// Blur `input` (the batch given to `new`) into `out` at sigma `strength[i]` (device, >= n
    /// values): taps, row pass, column pass, queued on the engine's stream.
    pub fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        let id = "gaussian_blur";
        let n = input.len() as u32;
        let mut scratch = self
            .scratch
            .lock()
            .map_err(|_| BackendError::cuda(id, "scratch lock poisoned"))?;
        if strength.len() < input.len()
            || out.total != input.total
            || scratch.tmp.len() < input.total
            || self.tap_off.len() < input.len()
        {
            return Err(BackendError::cuda(
                id,
                "batch, strengths and buffers differ in size",
            ));
        }
        if input.is_empty() || input.max_plane() == 0 {
            return Ok(());
        }
        let s = engine.stream();
        let Scratch { taps, radius, tmp } = &mut *scratch;

        let f = engine.function(Family::GaussianBlur.module(), "blur_taps")?;
        let cfg = LaunchConfig {
            grid_dim: (n.div_ceil(TAP_THREADS), 1, 1),
            block_dim: (TAP_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut l = f.builder(s);
        l.arg(strength)
            .arg(&mut *taps)
            .arg(&mut *radius)
            .arg(&self.max_r)
            .arg(&n);
        // SAFETY: matches `blur_taps(const float* strength, float* taps, uint32_t* radius,
        // uint32_t max_r, uint32_t n)`; strength and radius have >= n entries, taps n (2 max_r + 1)
        // (allocated in `new` for this batch) and thread i writes only its own 2 r_i + 1 <=
        // 2 max_r + 1 taps; threads past n return.
        unsafe { l.launch(cfg) }?;

        let blocks_x = u32::try_from(input.max_plane().div_ceil(THREADS as usize))
            .map_err(|_| BackendError::cuda(id, "image too large for one launch"))?;
        let cfg = LaunchConfig {
            grid_dim: (blocks_x, n, 1),
            block_dim: (THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let rows = engine.function(Family::GaussianBlur.module(), "blur_rows")?;
        let mut l = rows.builder(s);
        l.arg(&input.data)
            .arg(&mut *tmp)
            .arg(&input.d_descs)
            .arg(&*taps)
            .arg(&self.tap_off)
            .arg(&*radius)
            .arg(&n);
        // SAFETY: matches `blur_rows(const float* in, float* tmp, const MfrImageDesc*, const float*
        // taps, const uint32_t* tap_off, const uint32_t* radius, uint32_t n)`; tmp has >= total
        // samples (checked), so in/tmp share the layout `descs`; image i reads taps[off[i] ..=
        // off[i] + 2 radius[i]] with radius[i] <= max_r, inside `taps`; same stream, so the tap
        // launch above is complete; grid.y = n, grid.x * 256 >= every plane, threads past it return.
        unsafe { l.launch(cfg) }?;

        let cols = engine.kernel("gaussian_blur", Family::GaussianBlur)?;
        let mut l = cols.builder(s);
        l.arg(&*tmp)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(&*taps)
            .arg(&self.tap_off)
            .arg(&*radius)
            .arg(&n);
        // SAFETY: as above for `blur_cols(const float* tmp, float* out, ...)`; out has the
        // input's layout (checked totals).
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_is_scipys_rule() {
        assert_eq!(radius(0.0), 0);
        assert_eq!(radius(1.0), 4); // int(4 * 1 + 0.5)
        assert_eq!(radius(25.0), 100);
        assert_eq!(radius(0.1), 0); // int(0.9)
    }
}
