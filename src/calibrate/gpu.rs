//! Per-image calibration of many images on the GPU (`--device cuda`), for the perturbations the
//! on-GPU search supports (src/backend/cuda/search.rs `strength_kernel`). The search runs on the
//! device; the caller then applies the found strengths on the CPU and re-measures what it writes
//! ([`super::perturb_image_from_outcomes`]), so every record's `ssim` is still measured on the
//! written file exactly as on the CPU path.
//!
//! Images are grouped by bit depth (the quantisation scale of f(s)) and uploaded in chunks of at
//! most [`CHUNK_SAMPLES`] samples (the search holds three copies of a chunk on the device).
//! Outcomes equal the CPU's except where the CPU's own decision was within the SSIM parity
//! tolerance (1e-6) of a band edge or bracket test (tests/cuda_parity_calibration.rs).

use super::{LevelOutcome, SearchOptions};
use crate::backend::cuda::search::{calibrate_batch, strength_kernel};
use crate::backend::cuda::{CudaEngine, DeviceBatch};
use crate::backend::BackendError;
use crate::image::{BitDepth, Image};
use crate::perturb::Perturbation;

/// Samples per uploaded chunk (f32): 128 Mi samples = 512 MiB, ~170 images of 512x512 RGB.
pub const CHUNK_SAMPLES: usize = 128 << 20;

/// One image to calibrate: its pixels, RNG image id and bit depth.
pub struct GpuItem<'a> {
    pub image: &'a Image,
    pub image_id: u32,
    pub depth: BitDepth,
}

/// Whether perturbation `id` can be calibrated on the GPU.
pub fn supported(id: &str) -> bool {
    crate::backend::cuda::search::search_ids().contains(&id)
}

/// Calibrate every item for `p` at `levels`; outcome lists in item order (ascending level).
/// `Ok(None)` when `p` has no on-GPU search (the caller uses the CPU).
pub fn calibrate_items(
    engine: &CudaEngine,
    p: &dyn Perturbation,
    items: &[GpuItem<'_>],
    seed: u64,
    levels: &[u8],
    opts: &SearchOptions,
) -> Result<Option<Vec<Vec<LevelOutcome>>>, BackendError> {
    let info = p.info();
    if !supported(info.id) {
        return Ok(None);
    }
    let mut out: Vec<Option<Vec<LevelOutcome>>> = vec![None; items.len()];
    for depth in [BitDepth::U8, BitDepth::U16] {
        let group: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].depth == depth)
            .collect();
        let mut start = 0;
        while start < group.len() {
            // a chunk: as many images as fit CHUNK_SAMPLES (at least one)
            let mut end = start;
            let mut samples = 0usize;
            while end < group.len()
                && (end == start || samples + items[group[end]].image.data.len() <= CHUNK_SAMPLES)
            {
                samples += items[group[end]].image.data.len();
                end += 1;
            }
            let chunk = &group[start..end];
            let images: Vec<&Image> = chunk.iter().map(|&i| items[i].image).collect();
            let ids: Vec<u32> = chunk.iter().map(|&i| items[i].image_id).collect();
            let batch = DeviceBatch::upload(engine, &images, &ids)?;
            let Some(kernel) = strength_kernel(engine, info.id, &batch, &images, seed)? else {
                return Ok(None);
            };
            let outcomes =
                calibrate_batch(engine, kernel.as_ref(), info, &batch, levels, opts, depth)?;
            for (&i, o) in chunk.iter().zip(outcomes) {
                out[i] = Some(o);
            }
            start = end;
        }
    }
    Ok(Some(
        out.into_iter().map(|o| o.unwrap_or_default()).collect(),
    ))
}
