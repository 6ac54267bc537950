//! Launch wrapper of kernels/mri_motion.cu: mri_motion on the device.
//!
//! Prepared once per batch ([`MotionKernel::from_images`]): each image's plan is the CPU's own
//! [`motion_plan`] (the same draws and k-space segments as the CPU `prepare`), packed by
//! [`PackedMotion`] (shared with the host-math test: unit motions, each moved segment's
//! circular-convolution kernel along y, per-channel fill values) and uploaded; the difference
//! scratch (m c h w f64 per image) is allocated once. Per strength ([`MotionKernel::launch`],
//! strengths read on the device, so the on-GPU search needs no host work): `mri_motion_warp`
//! computes every moved copy minus the input, `mri_motion_mix` the per-segment projection along
//! the phase-encode axis as a direct circular convolution, adds the input and clips. Cost per
//! sample O(m h) f64 multiply-adds (m = moved segments, 4).
//!
//! Memory: 8 m bytes per sample of scratch besides the batch itself; `from_images` refuses a
//! batch that does not fit the device's free memory with an error naming the id and the sizes.
//! Parity: the host build of both kernels equals the CPU apply within 1e-5 (the CPU projects with
//! rustfft); on the device the angle's sincos may differ by <= 2 ulp f64 as well.

use super::{batch, err, nonempty, CudaEngine, DeviceBatch};
use crate::backend::motion_pack::{PackedMotion, MOTION_META_WORDS, MOTION_THREADS};
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::device::Family;
use crate::perturb::mri::motion_plan;
use crate::perturb::Ctx;
use cudarc::driver::{CudaSlice, LaunchConfig};
use std::sync::Mutex;

const ID: &str = "mri_motion";

/// mri_motion prepared for one batch (see the module doc).
pub struct MotionKernel {
    meta: CudaSlice<u64>,
    units: CudaSlice<f64>,
    kernels: CudaSlice<f64>,
    fill: CudaSlice<f32>,
    /// The e scratch: locked while a launch pair uses it.
    scratch: Mutex<CudaSlice<f64>>,
    /// Images and samples the data was packed for.
    n: usize,
    total: usize,
    warp_blocks: u32,
    mix_blocks: u32,
}

impl MotionKernel {
    /// Prepare `input` from the CPU's draws: image i's plan from `images[i]` under
    /// `Ctx::new(seed, input.descs[i].image_id)`.
    pub fn from_images(
        engine: &CudaEngine,
        input: &DeviceBatch,
        images: &[&Image],
        seed: u64,
    ) -> Result<Self, BackendError> {
        if images.len() != input.len() {
            return Err(BackendError::cuda(
                ID,
                "one host image per batch image is required",
            ));
        }
        let mut p = PackedMotion::default();
        for (im, d) in images.iter().zip(&input.descs) {
            if (im.width, im.height, im.channels)
                != (d.width as usize, d.height as usize, d.channels as usize)
            {
                return Err(BackendError::cuda(
                    ID,
                    "host image and batch image differ in shape",
                ));
            }
            p.push(
                (im.width, im.height, im.channels),
                &motion_plan(im, &Ctx::new(seed, d.image_id)),
            )?;
        }
        Self::upload(engine, input, p)
    }

    /// Check `p` (packed for `input`) against the free device memory, upload it and allocate
    /// the scratch.
    fn upload(
        engine: &CudaEngine,
        input: &DeviceBatch,
        p: PackedMotion,
    ) -> Result<Self, BackendError> {
        if p.meta.len() != input.len() * MOTION_META_WORDS {
            return Err(BackendError::cuda(
                ID,
                "prepared plans and batch differ in size",
            ));
        }
        let need = p.device_bytes();
        let (free, _) = engine
            .context()
            .mem_get_info()
            .map_err(err("mri_motion memory query"))?;
        // keep a margin for the output / search buffers the caller allocates next
        if need > free / 10 * 9 {
            return Err(BackendError::cuda(
                ID,
                format!(
                    "the batch needs {} MiB of device memory for its motion scratch (8 bytes per sample and moved segment), {} MiB are free: split it into smaller batches",
                    need >> 20,
                    free >> 20
                ),
            ));
        }
        // grid.x is limited to 2^31 - 1 blocks
        let blocks = |b: usize| {
            u32::try_from(b)
                .ok()
                .filter(|&b| b <= i32::MAX as u32)
                .ok_or_else(|| BackendError::cuda(ID, "image too large for one launch"))
        };
        let (warp_blocks, mix_blocks) = (blocks(p.warp_blocks)?, blocks(p.mix_blocks)?);
        let s = engine.stream();
        Ok(MotionKernel {
            meta: s
                .clone_htod(&nonempty(p.meta))
                .map_err(err("mri_motion table upload"))?,
            units: s
                .clone_htod(&nonempty(p.units))
                .map_err(err("mri_motion unit upload"))?,
            kernels: s
                .clone_htod(&nonempty(p.kernels))
                .map_err(err("mri_motion kernel upload"))?,
            fill: s
                .clone_htod(&nonempty(p.fill))
                .map_err(err("mri_motion fill upload"))?,
            scratch: Mutex::new(
                s.alloc_zeros::<f64>(p.scratch_len.max(1))
                    .map_err(err("mri_motion scratch alloc"))?,
            ),
            n: input.len(),
            total: input.total,
            warp_blocks,
            mix_blocks,
        })
    }

    /// Perturb every image of `input` (the batch given to `from_images`) at its strength.
    pub fn apply(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        strengths: &[f32],
    ) -> Result<DeviceBatch, BackendError> {
        batch::apply_with(engine, ID, input, strengths, |out, s| {
            self.launch(engine, input, out, s)
        })
    }

    /// Perturb `input` (the batch given to `from_images`) into `out` at `strength[i]` (device, >= n
    /// values): the two passes, queued on the engine's stream.
    pub fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        if input.len() != self.n
            || input.total != self.total
            || out.total != input.total
            || strength.len() < input.len()
        {
            return Err(BackendError::cuda(
                ID,
                "batch, strengths and prepared plans differ in size",
            ));
        }
        if input.is_empty() {
            return Ok(());
        }
        let n = input.len() as u32;
        let s = engine.stream();
        let mut scratch = self
            .scratch
            .lock()
            .map_err(|_| BackendError::cuda(ID, "scratch lock poisoned"))?;
        let cfg = |blocks: u32| LaunchConfig {
            grid_dim: (blocks.max(1), n, 1),
            block_dim: (MOTION_THREADS as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        if self.warp_blocks > 0 {
            let f = engine.function(Family::MriMotion.module(), "mri_motion_warp")?;
            let mut l = f.builder(s);
            l.arg(&input.data)
                .arg(&input.d_descs)
                .arg(strength)
                .arg(&self.meta)
                .arg(&self.units)
                .arg(&self.fill)
                .arg(&mut *scratch)
                .arg(&n);
            // SAFETY: the kernel is `(const float* in, const MfrImageDesc* descs, const float*
            // strength, const uint64_t* meta, const double* units, const float* fill, double*
            // scratch, uint32_t n_images)`. `from_images` packed meta (5 words per image), units,
            // fill and the scratch size with PackedMotion from this batch's images (checked: same
            // n and total, same shapes); a thread writes only scratch[off_i + k] for k < m c h w
            // of its image, which PackedMotion reserved; strength has >= n entries; grid.y = n.
            unsafe { l.launch(cfg(self.warp_blocks)) }?;
        }
        let f = engine.kernel(ID, Family::MriMotion)?;
        let mut l = f.builder(s);
        l.arg(&input.data)
            .arg(&mut out.data)
            .arg(&input.d_descs)
            .arg(strength)
            .arg(&self.meta)
            .arg(&self.kernels)
            .arg(&*scratch)
            .arg(&n);
        // SAFETY: the kernel is `(const float* in, float* out, const MfrImageDesc* descs, const
        // float* strength, const uint64_t* meta, const double* kernels, const double* scratch,
        // uint32_t n_images)`; same stream, so the warp pass has written the scratch; in/out
        // share the layout (checked totals); each thread writes its own sample of its image and
        // reads kernels / scratch only inside its image's packed ranges (m h and m c h w values);
        // the grid covers the largest image's c h w samples.
        unsafe { l.launch(cfg(self.mix_blocks)) }?;
        Ok(())
    }
}

/// mri_motion of every image of `input` at its strength, image i prepared from `images[i]` and
/// the run seed (the one-shot form of [`MotionKernel`]).
pub fn apply(
    engine: &CudaEngine,
    input: &DeviceBatch,
    images: &[&Image],
    seed: u64,
    strengths: &[f32],
) -> Result<DeviceBatch, BackendError> {
    MotionKernel::from_images(engine, input, images, seed)?.apply(engine, input, strengths)
}
