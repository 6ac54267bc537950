//! Fused SSIM of a batch of image pairs on the GPU (kernels/ssim.cu, reductions in
//! kernels/reduce.cu). One f64 SSIM per pair, in the variants of spec/ssim-calibration.md; the
//! CPU twin is src/ssim.rs (parity |gpu - cpu| <= 1e-6, spec/gpu.md). Deterministic: fixed-order
//! reductions, no atomics.

use super::{err, CudaEngine, DeviceBatch};
use crate::backend::params::{ImageDesc, SsimParams};
use crate::backend::BackendError;
use crate::ssim::SsimVariant;
use cudarc::driver::{CudaSlice, LaunchConfig};

pub use crate::backend::ssim_tiles::{tile_starts, SSIM_TILE};

/// `ssim_tiles` block shape (`MFR_SSIM_BX` x `MFR_SSIM_BY`); `ssim_reduce` uses as many threads.
const SSIM_BLOCK_DIM: (u32, u32, u32) = (32, 8, 1);

/// SSIM(a[i], b[i]) for every pair of two equally laid-out batches.
pub fn ssim_batch(
    engine: &CudaEngine,
    a: &DeviceBatch,
    b: &DeviceBatch,
    variant: SsimVariant,
) -> Result<Vec<f64>, BackendError> {
    if a.is_empty() {
        return Ok(Vec::new());
    }
    let mut plan = SsimPlan::new(engine, a, variant)?;
    plan.run(engine, a, b)?;
    engine
        .stream()
        .clone_dtoh(plan.result())
        .map_err(err("ssim download"))
}

/// SSIM against one fixed reference batch, many times (the calibration loop): the tile table,
/// the partial-sum buffer, the output and (compat) the reference's min/max are made once;
/// [`SsimPlan::run`] queues two launches and leaves the per-image SSIM on the device.
pub struct SsimPlan {
    params: SsimParams,
    d_starts: CudaSlice<u32>,
    tiles: u32,
    partials: CudaSlice<f64>,
    out: CudaSlice<f64>,
    ref_minmax: Option<CudaSlice<f32>>,
    descs: Vec<ImageDesc>,
}

impl SsimPlan {
    /// Plan for batches laid out like `reference` (errors if an image is below the window).
    pub fn new(
        engine: &CudaEngine,
        reference: &DeviceBatch,
        variant: SsimVariant,
    ) -> Result<Self, BackendError> {
        let n = reference.len();
        let params = SsimParams::for_variant(variant, n as u32);
        let starts = tile_starts(&reference.descs, &params)?;
        let tiles = *starts.last().unwrap_or(&0);
        let s = engine.stream();
        let d_starts = s.clone_htod(&starts).map_err(err("ssim upload"))?;
        let partials = s
            .alloc_zeros::<f64>(tiles.max(1) as usize)
            .map_err(err("ssim alloc"))?;
        let out = s.alloc_zeros::<f64>(n.max(1)).map_err(err("ssim alloc"))?;
        let ref_minmax = if variant == SsimVariant::Compat {
            Some(minmax(engine, reference)?)
        } else {
            None
        };
        Ok(SsimPlan {
            params,
            d_starts,
            tiles,
            partials,
            out,
            ref_minmax,
            descs: reference.descs.clone(),
        })
    }

    /// Queue SSIM(a[i], b[i]) for every i; `a` is the reference the plan was made for. The
    /// result stays on the device ([`SsimPlan::result`]); nothing is synchronised.
    pub fn run(
        &mut self,
        engine: &CudaEngine,
        a: &DeviceBatch,
        b: &DeviceBatch,
    ) -> Result<(), BackendError> {
        // the search loop calls this every iteration: compare in place, no allocation
        let key = |d: &ImageDesc| (d.offset, d.width, d.height, d.channels);
        let planned = |x: &DeviceBatch| {
            x.descs.len() == self.descs.len()
                && x.descs
                    .iter()
                    .zip(&self.descs)
                    .all(|(d, p)| key(d) == key(p))
        };
        if !planned(a) || !planned(b) {
            return Err(BackendError::cuda(
                "ssim",
                "the two batches differ in layout",
            ));
        }
        let n = a.len();
        if n == 0 {
            return Ok(());
        }
        let s = engine.stream();
        let b_minmax = match self.ref_minmax {
            Some(_) => Some(minmax(engine, b)?),
            None => None,
        };
        let tiles_fn = engine.function("ssim", "ssim_tiles")?;
        let mut l = tiles_fn.builder(s);
        l.arg(&a.data)
            .arg(&b.data)
            .arg(&a.d_descs)
            .arg(&self.d_starts);
        match (&self.ref_minmax, &b_minmax) {
            (Some(ma), Some(mb)) => l.arg(ma).arg(mb),
            _ => l.null::<f32>().null::<f32>(),
        };
        l.arg(&self.params).arg(&mut self.partials);
        let cfg = LaunchConfig {
            grid_dim: (self.tiles, 1, 1),
            block_dim: SSIM_BLOCK_DIM,
            shared_mem_bytes: 0,
        };
        // SAFETY: argument list matches `ssim_tiles(const float*, const float*, const MfrImageDesc*,
        // const uint32_t*, const float*, const float*, MfrSsimParams, double*)`; the block is the
        // 32 x 8 threads the kernel's phases index by; radius 3 or 5 (tile_starts); a and b hold
        // `total` samples laid out by `descs` (checked equal to the plan's above), d_starts has
        // n + 1 entries, partials has one slot per tile = grid size, minmax buffers have 2n floats
        // or are null (the kernel tests for null); params.n_images = n.
        unsafe { l.launch(cfg) }?;

        let reduce_fn = engine.function("ssim", "ssim_reduce")?;
        let mut l = reduce_fn.builder(s);
        l.arg(&self.partials)
            .arg(&self.d_starts)
            .arg(&a.d_descs)
            .arg(&self.params)
            .arg(&mut self.out);
        let cfg = LaunchConfig {
            grid_dim: (n as u32, 1, 1),
            block_dim: SSIM_BLOCK_DIM,
            shared_mem_bytes: 0,
        };
        // SAFETY: matches `ssim_reduce(const double*, const uint32_t*, const MfrImageDesc*,
        // MfrSsimParams, double*)`; one block per image, `out` has n entries, partials/starts as above.
        unsafe { l.launch(cfg) }?;
        Ok(())
    }

    /// The last run's per-image SSIM (n values, on the device).
    pub fn result(&self) -> &CudaSlice<f64> {
        &self.out
    }
}

/// Per-image (min, max) over all samples (kernels/reduce.cu `minmax_per_image`), 2n floats.
pub fn minmax(
    engine: &CudaEngine,
    x: &DeviceBatch,
) -> Result<cudarc::driver::CudaSlice<f32>, BackendError> {
    let n = x.len() as u32;
    let s = engine.stream();
    let mut out = s
        .alloc_zeros::<f32>(2 * x.len().max(1))
        .map_err(err("minmax alloc"))?;
    let f = engine.function("reduce", "minmax_per_image")?;
    let mut l = f.builder(s);
    l.arg(&x.data).arg(&x.d_descs).arg(&n).arg(&mut out);
    let cfg = LaunchConfig {
        grid_dim: (n.max(1), 1, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: matches `minmax_per_image(const float*, const MfrImageDesc*, uint32_t, float*)`;
    // block size 256 = RED_THREADS; out has 2n floats; blocks >= n return at once.
    unsafe { l.launch(cfg) }?;
    Ok(out)
}

/// Per-image channel means in f64 (kernels/reduce.cu `channel_mean_per_image`),
/// `n * max_channels` values, image-major.
pub fn channel_means(
    engine: &CudaEngine,
    x: &DeviceBatch,
) -> Result<(cudarc::driver::CudaSlice<f64>, u32), BackendError> {
    let n = x.len() as u32;
    let max_c = x.descs.iter().map(|d| d.channels).max().unwrap_or(1).max(1);
    let s = engine.stream();
    let mut out = s
        .alloc_zeros::<f64>((n.max(1) * max_c) as usize)
        .map_err(err("channel mean alloc"))?;
    let f = engine.function("reduce", "channel_mean_per_image")?;
    let mut l = f.builder(s);
    l.arg(&x.data)
        .arg(&x.d_descs)
        .arg(&n)
        .arg(&max_c)
        .arg(&mut out);
    let cfg = LaunchConfig {
        grid_dim: (n.max(1), max_c, 1),
        block_dim: (256, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: matches `channel_mean_per_image(const float*, const MfrImageDesc*, uint32_t,
    // uint32_t, double*)`; grid (n, max_c), block 256 = RED_THREADS; out has n * max_c doubles.
    unsafe { l.launch(cfg) }?;
    Ok((out, max_c))
}
