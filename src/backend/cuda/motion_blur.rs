//! Launch wrapper of kernels/motion_blur.cu: motion_blur for a whole batch. Image i's taps are
//! the CPU's own `line_psf` (src/perturb/common/psf.rs) at length min(s, min(w, h)/2) and the
//! per-image angle param(0) * pi (src/perturb/base/blur.rs), built on the host and uploaded; the
//! kernel sums them in list order (bit-identical per-pixel math:
//! tests/cuda_host_math_motion_blur.rs).

use super::{err, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::common::psf::line_psf;
use crate::perturb::Ctx;
use cudarc::driver::PushKernelArg;

/// Threads per block (kernels/motion_blur.cu `MB_THREADS`).
const THREADS: u32 = 256;

/// The taps (dx, dy, weight) of motion_blur for a `w x h` image at strength `s` (empty: identity).
pub fn taps(w: usize, h: usize, ctx: &Ctx, s: f32) -> Vec<(i32, i32, f32)> {
    if s <= 0.0 || s.is_nan() {
        return Vec::new();
    }
    let angle = ctx.rng("motion_blur").param(0) as f64 * std::f64::consts::PI;
    let cap = 0.5 * w.min(h) as f64;
    line_psf((s as f64).min(cap), angle).taps.iter().map(|&(dx, dy, wt)| (dx as i32, dy as i32, wt)).collect()
}

/// motion_blur of every image of `input` at its strength; `ctxs[i]` is image i's context.
pub fn apply(engine: &CudaEngine, input: &DeviceBatch, strengths: &[f32], ctxs: &[Ctx]) -> Result<DeviceBatch, BackendError> {
    if strengths.len() != input.len() || ctxs.len() != input.len() {
        return Err(BackendError::cuda("motion_blur", "one strength and one context per image are required"));
    }
    let mut out = DeviceBatch::zeros_like(engine, input)?;
    let Some(cfg) = input.sample_grid(THREADS, "motion_blur")? else { return Ok(out) };
    let (mut dx, mut dy, mut wt) = (Vec::new(), Vec::new(), Vec::new());
    let (mut start, mut count) = (Vec::new(), Vec::new());
    for ((d, &s), ctx) in input.descs.iter().zip(strengths).zip(ctxs) {
        let t = taps(d.width as usize, d.height as usize, ctx, s);
        start.push(dx.len() as u32);
        count.push(t.len() as u32);
        for (a, b, c) in t {
            dx.push(a);
            dy.push(b);
            wt.push(c);
        }
    }
    if dx.is_empty() {
        dx.push(0);
        dy.push(0);
        wt.push(0.0);
    }
    let st = engine.stream();
    let d_dx = st.clone_htod(&dx).map_err(err("tap upload"))?;
    let d_dy = st.clone_htod(&dy).map_err(err("tap upload"))?;
    let d_wt = st.clone_htod(&wt).map_err(err("tap upload"))?;
    let d_start = st.clone_htod(&start).map_err(err("tap upload"))?;
    let d_count = st.clone_htod(&count).map_err(err("tap upload"))?;
    let n = input.len() as u32;
    let f = engine.function("motion_blur", "motion_blur")?;
    let mut l = st.launch_builder(&f);
    l.arg(&input.data).arg(&mut out.data).arg(&input.d_descs).arg(&d_dx).arg(&d_dy).arg(&d_wt).arg(&d_start).arg(&d_count).arg(&n);
    // SAFETY: matches `motion_blur(const float* in, float* out, const MfrImageDesc*, const int32_t*
    // dx, const int32_t* dy, const float* wt, const uint32_t* tap_start, const uint32_t*
    // tap_count, uint32_t n)`; in/out share the layout `descs`, start/count have n entries and
    // start + count <= the tap arrays' length; taps are reflected into the thread's own plane;
    // grid.y = n, grid.x * 256 >= every image's samples, threads past them return.
    unsafe { l.launch(cfg) }.map_err(err("motion_blur launch"))?;
    Ok(out)
}
