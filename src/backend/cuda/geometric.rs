//! Launch wrapper of kernels/geometric.cu: rotation, scaling and translation for a whole batch.
//! The inverse map of each image at its strength is built on the device by `warp_maps`
//! (geometric.cuh `mfr_warp_map`, the twin of the CPU's `Affine` constructors) from the strength
//! and the image's random draws, which are the CPU's own (`perturb::base::warp_draws`, uploaded
//! once); the kernel then samples bilinearly with the CPU's border rule. Host-verified bit for bit
//! against the CPU `apply` by tests/cuda_host_math_geometric.rs. Device-built maps let the
//! on-GPU search drive the strength without a host round trip.

use super::{batch, err, member, nonempty, op_of, CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::perturb::base::warp_draws;
use crate::perturb::device::Family;
use crate::perturb::Ctx;
use cudarc::driver::{CudaSlice, LaunchConfig};
use std::sync::Mutex;

/// Threads per block (kernels/geometric.cu `GEO_THREADS`, `GEO_MAP_THREADS`).
const THREADS: u32 = 256;
const MAP_THREADS: u32 = 64;

/// Border of `id` (kernels/geometric.cuh: 0 reflect, 1 zero).
pub fn border(id: &str) -> u32 {
    if id == "scaling" {
        1
    } else {
        0
    }
}

/// Warp every image of `input` with `id` at its strength; `ctxs[i]` is image i's context.
pub fn apply(
    engine: &CudaEngine,
    id: &str,
    input: &DeviceBatch,
    strengths: &[f32],
    ctxs: &[Ctx],
) -> Result<DeviceBatch, BackendError> {
    WarpKernel::new(engine, id, input, ctxs)?.apply(engine, input, strengths)
}

/// A warp prepared for one batch: the per-image draws uploaded and the map buffers allocated
/// once; [`WarpKernel::launch`] reads the strengths from the device (the on-GPU search's entry).
pub struct WarpKernel {
    id: &'static str,
    /// kernels/geometric.cuh `MFR_WARP_*` (the registry entry's op selector).
    kind: u32,
    /// The warp kernel (the registry entry's symbol).
    symbol: &'static str,
    /// `warp_draws` of every image, 2 per image.
    params: CudaSlice<f64>,
    /// (maps: 6 per image, identity flags), locked while a launch pair uses them.
    scratch: Mutex<(CudaSlice<f64>, CudaSlice<u32>)>,
}

impl WarpKernel {
    pub fn new(
        engine: &CudaEngine,
        id: &str,
        input: &DeviceBatch,
        ctxs: &[Ctx],
    ) -> Result<Self, BackendError> {
        let (id, kernel) = member(id, Family::Warp)?;
        let kind = op_of(id, &kernel)?;
        if ctxs.len() != input.len() {
            return Err(BackendError::cuda(id, "one context per image is required"));
        }
        let params: Vec<f64> = nonempty(ctxs.iter().flat_map(|c| warp_draws(id, c)).collect());
        let n = input.len().max(1);
        let s = engine.stream();
        let maps = s.alloc_zeros::<f64>(6 * n).map_err(err("warp map alloc"))?;
        let identity = s.alloc_zeros::<u32>(n).map_err(err("warp map alloc"))?;
        Ok(WarpKernel {
            id,
            kind,
            symbol: kernel.symbol,
            params: s.clone_htod(&params).map_err(err("warp upload"))?,
            scratch: Mutex::new((maps, identity)),
        })
    }

    /// Warp every image of `input` (the batch given to `new`) at its strength.
    pub fn apply(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        strengths: &[f32],
    ) -> Result<DeviceBatch, BackendError> {
        batch::apply_with(engine, self.id, input, strengths, |out, s| {
            self.launch(engine, input, out, s)
        })
    }

    /// Warp `input` (the batch given to `new`) into `out` at `strength[i]` (device, >= n values):
    /// maps, then the bilinear warp, queued on the engine's stream.
    pub fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        let id = self.id;
        let mut scratch = self
            .scratch
            .lock()
            .map_err(|_| BackendError::cuda(id, "scratch lock poisoned"))?;
        let (maps, identity) = &mut *scratch;
        if strength.len() < input.len()
            || out.total != input.total
            || identity.len() < input.len()
            || self.params.len() < 2 * input.len()
        {
            return Err(BackendError::cuda(
                id,
                "batch, strengths and buffers differ in size",
            ));
        }
        let Some(cfg) = input.sample_grid(THREADS, id)? else {
            return Ok(());
        };
        let st = engine.stream();
        let n = input.len() as u32;
        let k = self.kind;
        let f = engine.function(Family::Warp.module(), "warp_maps")?;
        let map_cfg = LaunchConfig {
            grid_dim: (n.div_ceil(MAP_THREADS), 1, 1),
            block_dim: (MAP_THREADS, 1, 1),
            shared_mem_bytes: 0,
        };
        let mut l = f.builder(st);
        l.arg(strength)
            .arg(&self.params)
            .arg(&input.d_descs)
            .arg(&k)
            .arg(&mut *maps)
            .arg(&mut *identity)
            .arg(&n);
        // SAFETY: matches `warp_maps(const float* strength, const double* params, const
        // MfrImageDesc*, uint32_t kind, double* maps, uint32_t* identity, uint32_t n)`; strength,
        // descs and identity have >= n entries, params 2n and maps 6n (checked / allocated in
        // `new` for this batch); thread i writes only its own entries; threads past n return.
        unsafe { l.launch(map_cfg) }?;

        let b = border(id);
        let f = engine.function(Family::Warp.module(), self.symbol)?;
        let mut l = f.builder(st);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(&*maps)
            .arg(&*identity)
            .arg(&b)
            .arg(&n);
        // SAFETY: matches `affine_warp(const float* in, float* out, const MfrImageDesc*, const
        // double* maps, const uint32_t* identity, uint32_t border, uint32_t n)`; same stream, so
        // the maps above are written; in/out share the layout (checked totals), maps has 6 n
        // entries, identity n; grid.y = n, grid.x * 256 >= every image's samples, threads past
        // them return; taps read only inside the thread's own plane (in-range, reflected, or zero).
        unsafe { l.launch(cfg) }?;
        Ok(())
    }
}
