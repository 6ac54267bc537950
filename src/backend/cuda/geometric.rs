//! Launch wrapper of kernels/geometric.cu: rotation, scaling and translation for a whole batch.
//! The inverse map of each image at its strength is built on the host by [`inverse_map`] with the
//! same `Affine` constructors and random draws as the CPU `prepare` of
//! src/perturb/base/geometric.rs; the kernel samples bilinearly with the CPU's border rule
//! (bit-identical per-pixel math: tests/cuda_host_math_geometric.rs).

use super::{err, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::common::warp::Affine;
use crate::perturb::Ctx;
use cudarc::driver::PushKernelArg;

/// Threads per block (kernels/geometric.cu `GEO_THREADS`).
const THREADS: u32 = 256;

pub const IDS: [&str; 3] = ["rotation", "scaling", "translation"];

/// Border of `id` (kernels/geometric.cuh: 0 reflect, 1 zero).
pub fn border(id: &str) -> u32 {
    if id == "scaling" {
        1
    } else {
        0
    }
}

/// The inverse map of `id` for a `w x h` image at strength `s` (twin of the CPU prepare).
pub fn inverse_map(id: &str, w: usize, h: usize, ctx: &Ctx, s: f32) -> Affine {
    let rng = ctx.rng(id);
    match id {
        "rotation" => Affine::rotation(w, h, rng.param_sign(0) as f64 * s as f64),
        "scaling" => Affine::zoom(w, h, (1.0 - s as f64).max(0.01)),
        _ => {
            let phi = rng.param(0) as f64 * std::f64::consts::TAU;
            let (uy, ux) = phi.sin_cos();
            let d = s as f64 * w.min(h) as f64;
            Affine::translation(d * ux, d * uy)
        }
    }
}

/// Warp every image of `input` with `id` at its strength; `ctxs[i]` is image i's context.
pub fn apply(engine: &CudaEngine, id: &str, input: &DeviceBatch, strengths: &[f32], ctxs: &[Ctx]) -> Result<DeviceBatch, BackendError> {
    if !IDS.contains(&id) {
        return Err(BackendError::cuda(id, "no CUDA kernel for this perturbation"));
    }
    if strengths.len() != input.len() || ctxs.len() != input.len() {
        return Err(BackendError::cuda(id, "one strength and one context per image are required"));
    }
    let mut out = DeviceBatch::zeros_like(engine, input)?;
    let Some(cfg) = input.sample_grid(THREADS, id)? else { return Ok(out) };
    let mut maps = Vec::with_capacity(6 * input.len());
    let mut identity = Vec::with_capacity(input.len());
    for ((d, &s), ctx) in input.descs.iter().zip(strengths).zip(ctxs) {
        maps.extend_from_slice(&inverse_map(id, d.width as usize, d.height as usize, ctx, s).m);
        identity.push((s <= 0.0 || s.is_nan()) as u32);
    }
    let st = engine.stream();
    let d_maps = st.clone_htod(&maps).map_err(err("map upload"))?;
    let d_identity = st.clone_htod(&identity).map_err(err("identity upload"))?;
    let n = input.len() as u32;
    let b = border(id);
    let f = engine.function("geometric", "affine_warp")?;
    let mut l = st.launch_builder(&f);
    l.arg(&input.data).arg(&mut out.data).arg(&input.d_descs).arg(&d_maps).arg(&d_identity).arg(&b).arg(&n);
    // SAFETY: matches `affine_warp(const float* in, float* out, const MfrImageDesc*, const double*
    // maps, const uint32_t* identity, uint32_t border, uint32_t n)`; in/out share the layout
    // `descs` (zeros_like), maps has 6 n entries, identity n; grid.y = n, grid.x * 256 >= every
    // image's samples, threads past them return; taps read only inside the thread's own plane
    // (in-range, reflected, or zero).
    unsafe { l.launch(cfg) }.map_err(err("geometric launch"))?;
    Ok(out)
}
