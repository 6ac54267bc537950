//! Launch wrapper of kernels/motion_blur.cu: motion_blur for a whole batch. Image i's taps are
//! built on the device from its strength by `motion_taps` (motion_blur.cuh `mfr_line_psf`, the
//! twin of the CPU's `line_psf` in src/perturb/common/psf.rs) at length min(s, min(w, h)/2) and
//! the per-image angle param(0) * pi of src/perturb/base/blur.rs, whose sin/cos are computed here
//! on the host; then the kernel sums the taps in list order. Host-verified bit for bit (taps and
//! pixels) by tests/cuda_host_math_motion_blur.rs. Device-side taps let the on-GPU search drive
//! the strength without a host round trip.

use super::{batch, err, nonempty, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::base::{motion_blur_angle, motion_blur_cap};
use crate::perturb::common::psf::line_psf_radius;
use crate::perturb::device::Family;
use crate::perturb::Ctx;
use cudarc::driver::{CudaSlice, LaunchConfig};
use std::sync::Mutex;

/// Threads per block (kernels/motion_blur.cu `MB_THREADS`, `MB_TAP_THREADS`).
const THREADS: u32 = 256;
const TAP_THREADS: u32 = 256;

/// Side of the PSF grid for a length > 0 (motion_blur.cuh `mfr_line_psf_side`).
fn side(length: f64) -> usize {
    2 * line_psf_radius(length) as usize + 1
}

/// motion_blur of every image of `input` at its strength; `ctxs[i]` is image i's context.
pub fn apply(
    engine: &CudaEngine,
    input: &DeviceBatch,
    strengths: &[f32],
    ctxs: &[Ctx],
) -> Result<DeviceBatch, BackendError> {
    let most = strengths.iter().copied().fold(0.0f32, f32::max);
    MotionBlurKernel::new(engine, input, ctxs, most)?.apply(engine, input, strengths)
}

/// Device buffers one launch pair writes: PSF grids and tap lists of every image.
struct Scratch {
    grid: CudaSlice<f64>,
    dx: CudaSlice<i32>,
    dy: CudaSlice<i32>,
    wt: CudaSlice<f32>,
    count: CudaSlice<u32>,
}

/// motion_blur prepared for one batch: angles (as sin/cos) and caps uploaded, grid and tap
/// buffers allocated once for strengths up to `max_len`; [`MotionBlurKernel::launch`] reads the
/// strengths from the device (the on-GPU search's entry).
pub struct MotionBlurKernel {
    sin_cos: CudaSlice<f64>,
    cap: CudaSlice<f64>,
    /// Largest length the buffers hold; the kernel caps longer ones there (a memory guard; the
    /// search stays inside the strength range).
    max_len: f64,
    /// Grid cells and tap slots per image: the largest side^2 of the batch.
    stride: u64,
    /// tap_start[i] = i * stride.
    start: CudaSlice<u32>,
    /// Locked while a launch pair uses it.
    scratch: Mutex<Scratch>,
}

impl MotionBlurKernel {
    pub fn new(
        engine: &CudaEngine,
        input: &DeviceBatch,
        ctxs: &[Ctx],
        max_len: f32,
    ) -> Result<Self, BackendError> {
        let id = "motion_blur";
        if ctxs.len() != input.len() {
            return Err(BackendError::cuda(id, "one context per image is required"));
        }
        let n = input.len();
        let max_len = (max_len.max(0.0)) as f64;
        let caps: Vec<f64> = input
            .descs
            .iter()
            .map(|d| motion_blur_cap(d.width as usize, d.height as usize))
            .collect();
        let stride = caps
            .iter()
            .map(|&c| side(max_len.min(c).max(0.0)).pow(2))
            .max()
            .unwrap_or(1)
            .max(1);
        let start: Vec<u32> = (0..n.max(1))
            .map(|i| u32::try_from(i * stride).ok())
            .collect::<Option<_>>()
            .ok_or_else(|| BackendError::cuda(id, "batch too large for the tap table"))?;
        let sin_cos: Vec<f64> = ctxs
            .iter()
            .flat_map(|c| {
                let (sn, cs) = motion_blur_angle(c).sin_cos();
                [sn, cs]
            })
            .collect();
        let s = engine.stream();
        let slots = (n.max(1))
            .checked_mul(stride)
            .ok_or_else(|| BackendError::cuda(id, "batch too large for the tap table"))?;
        let scratch = Scratch {
            grid: s
                .alloc_zeros::<f64>(slots)
                .map_err(err("motion_blur scratch alloc"))?,
            dx: s
                .alloc_zeros::<i32>(slots)
                .map_err(err("motion_blur scratch alloc"))?,
            dy: s
                .alloc_zeros::<i32>(slots)
                .map_err(err("motion_blur scratch alloc"))?,
            wt: s
                .alloc_zeros::<f32>(slots)
                .map_err(err("motion_blur scratch alloc"))?,
            count: s
                .alloc_zeros::<u32>(n.max(1))
                .map_err(err("motion_blur scratch alloc"))?,
        };
        Ok(MotionBlurKernel {
            sin_cos: s
                .clone_htod(&nonempty(sin_cos))
                .map_err(err("motion_blur upload"))?,
            cap: s
                .clone_htod(&nonempty(caps))
                .map_err(err("motion_blur upload"))?,
            max_len,
            stride: stride as u64,
            start: s.clone_htod(&start).map_err(err("motion_blur upload"))?,
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
        batch::apply_with(engine, "motion_blur", input, strengths, |out, s| {
            self.launch(engine, input, out, s)
        })
    }

    /// Blur `input` (the batch given to `new`) into `out` at length `strength[i]` (device, >= n
    /// values): taps, then the sparse convolution, queued on the engine's stream.
    pub fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        let id = "motion_blur";
        let n = input.len() as u32;
        let mut scratch = self
            .scratch
            .lock()
            .map_err(|_| BackendError::cuda(id, "scratch lock poisoned"))?;
        if strength.len() < input.len()
            || out.total != input.total
            || self.cap.len() < input.len()
            || scratch.count.len() < input.len()
        {
            return Err(BackendError::cuda(
                id,
                "batch, strengths and buffers differ in size",
            ));
        }
        let Some(cfg) = input.sample_grid(THREADS, id)? else {
            return Ok(());
        };
        let s = engine.stream();
        let Scratch {
            grid,
            dx,
            dy,
            wt,
            count,
        } = &mut *scratch;

        let f = engine.function(Family::MotionBlur.module(), "motion_taps")?;
        let tap_cfg = LaunchConfig {
            grid_dim: (n, 1, 1),
            block_dim: (TAP_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut l = f.builder(s);
        l.arg(strength)
            .arg(&self.sin_cos)
            .arg(&self.cap)
            .arg(&self.max_len)
            .arg(&mut *grid)
            .arg(&mut *dx)
            .arg(&mut *dy)
            .arg(&mut *wt)
            .arg(&mut *count)
            .arg(&self.stride)
            .arg(&n);
        // SAFETY: matches `motion_taps(const float* strength, const double* sin_cos, const double*
        // cap, double max_len, double* grid, int32_t* dx, int32_t* dy, float* wt, uint32_t*
        // tap_count, uint64_t stride, uint32_t n)`; strength, cap and count have >= n entries,
        // sin_cos 2n; block i touches grid/dx/dy/wt only in [i stride, i stride + side_i^2) with
        // side_i^2 <= stride because the kernel caps the length at max_len and `new` sized stride
        // for min(max_len, cap_i) (side is monotone in the length); grid.x = n.
        unsafe { l.launch(tap_cfg) }?;

        let f = engine.kernel("motion_blur", Family::MotionBlur)?;
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(&*dx)
            .arg(&*dy)
            .arg(&*wt)
            .arg(&self.start)
            .arg(&*count)
            .arg(&n);
        // SAFETY: matches `motion_blur(const float* in, float* out, const MfrImageDesc*, const int32_t*
        // dx, const int32_t* dy, const float* wt, const uint32_t* tap_start, const uint32_t*
        // tap_count, uint32_t n)`; same stream, so the taps above are written; in/out share the
        // layout (checked totals); start[i] + count[i] <= (i + 1) stride <= the tap arrays'
        // length; taps are reflected into the thread's own plane; grid.y = n, grid.x * 256 >=
        // every image's samples, threads past them return.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::common::psf::line_psf;

    #[test]
    fn side_is_the_psf_grid_side() {
        // line_psf's taps lie within +-r, r = ceil(L/2) + 1, on a (2r + 1)^2 grid
        for l in [0.1, 0.5, 1.0, 2.0, 7.3, 50.0, 100.0] {
            let r = ((side(l) - 1) / 2) as isize;
            assert_eq!(r, (l * 0.5f64).ceil() as isize + 1);
            assert!(line_psf(l, 0.3)
                .taps
                .iter()
                .all(|t| t.0.abs() <= r && t.1.abs() <= r));
        }
    }
}
