//! Launch wrapper of kernels/mri_motion.cu: mri_motion on the device.
//!
//! Prepared once per batch ([`MotionKernel::from_images`]): each image's spectra and per-row shifts are
//! the CPU's own [`motion_spectra`] (the same fft2 and draws as the CPU `prepare`), packed by
//! [`PackedMotion`] (shared with the host-math test) and uploaded with the twiddle tables; the G
//! scratch (c m w complex values per image) is allocated once. Per strength
//! ([`MotionKernel::launch`], strengths read on the device, so the on-GPU search needs no host
//! work): `mri_motion_rows` applies the clamped phase ramps and the inverse DFT along x for the
//! m non-zero k-space rows, `mri_motion_cols` the inverse DFT along y (real part), adds the
//! input and clips. Cost per channel O(m w^2 + m w h) f64 operations, m <= h (direct DFT).
//! Images whose sides are powers of two up to 2048 ([`uses_fft`](crate::backend::motion_pack::uses_fft))
//! take `mri_motion_rows_fft` / `mri_motion_cols_fft` instead, the same transforms as radix-2 FFTs
//! (O(m w log w + w h log h)); all four kernels are queued and each skips the other path's images.
//!
//! Memory: 16 bytes per sample for the spectra plus up to 16 per sample for the scratch, besides
//! the batch itself; `from_images` refuses a batch that does not fit the device's free memory with an
//! error naming the id and the sizes.
//! Parity: the host build of both passes equals the CPU apply within 1e-5 (measured: bit-identical
//! over tests/cuda_host_math_mri.rs's batch); on the device only the ramp's sincos differs
//! (<= 2 ulp f64). Never run on a GPU yet (docs/gpu.md).

use super::{batch, err, nonempty, CudaEngine, DeviceBatch};
use crate::backend::motion_pack::{PackedMotion, MOTION_META_WORDS};
use crate::backend::params::ImageDesc;
use crate::backend::BackendError;
use crate::image::Image;
use crate::perturb::mri::motion_spectra;
use crate::perturb::Ctx;
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use std::sync::Mutex;

const ID: &str = "mri_motion";

/// Block shape of both kernels (kernels/mri_motion.cuh `MFR_MOTION_BX`, `MFR_MOTION_BY`); the
/// grid extents come from [`PackedMotion`] (the host-math test launches the same grid).
const BLOCK: (u32, u32) = (32, 8);

/// mri_motion prepared for one batch (see the module doc).
pub struct MotionKernel {
    spectra: CudaSlice<f64>,
    meta: CudaSlice<u64>,
    row_ky: CudaSlice<u32>,
    row_u: CudaSlice<f64>,
    twiddles: CudaSlice<f64>,
    /// G: locked while a launch pair uses it.
    scratch: Mutex<CudaSlice<f64>>,
    /// Images and samples the data was packed for.
    n: usize,
    total: usize,
    /// Grid x extents of the two passes of each path (0: that kernel is not launched).
    rows_blocks: u32,
    cols_blocks: u32,
    fft_rows_blocks: u32,
    fft_cols_blocks: u32,
}

impl MotionKernel {
    /// Prepare `input` from the CPU's draws: image i's spectra from `images[i]` under
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
        // packed one image at a time: each image's spectra are dropped once copied
        let mut p = PackedMotion::default();
        for (im, d) in images.iter().zip(&input.descs) {
            p.push(
                Self::dims(d),
                &motion_spectra(im, &Ctx::new(seed, d.image_id)),
            )?;
        }
        Self::upload(engine, input, p)
    }

    /// (w, h, c) of a batch image.
    fn dims(d: &ImageDesc) -> (usize, usize, usize) {
        (d.width as usize, d.height as usize, d.channels as usize)
    }

    /// Check `p` (packed for `input`) against the batch and the free device memory, upload it and
    /// allocate the scratch.
    fn upload(
        engine: &CudaEngine,
        input: &DeviceBatch,
        p: PackedMotion,
    ) -> Result<Self, BackendError> {
        if let Some(d) = input
            .descs
            .iter()
            .find(|d| d.width == 0 || d.height == 0 || d.channels == 0)
        {
            return Err(BackendError::cuda(
                ID,
                format!(
                    "empty image {}x{}x{} in the batch (image id {})",
                    d.width, d.height, d.channels, d.image_id
                ),
            ));
        }
        if p.meta.len() != input.len() * MOTION_META_WORDS || p.spectra.len() != 2 * input.total {
            return Err(BackendError::cuda(
                ID,
                "prepared spectra and batch differ in size",
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
                    "the batch needs {} MiB of device memory for its spectra and scratch (up to 32 bytes per sample), {} MiB are free: split it into smaller batches",
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
        let (rows_blocks, cols_blocks) = (blocks(p.rows_blocks)?, blocks(p.cols_blocks)?);
        let (fft_rows_blocks, fft_cols_blocks) =
            (blocks(p.fft_rows_blocks)?, blocks(p.fft_cols_blocks)?);
        let s = engine.stream();
        Ok(MotionKernel {
            spectra: s
                .clone_htod(&nonempty(p.spectra))
                .map_err(err("mri_motion spectra upload"))?,
            meta: s
                .clone_htod(&nonempty(p.meta))
                .map_err(err("mri_motion table upload"))?,
            row_ky: s
                .clone_htod(&nonempty(p.row_ky))
                .map_err(err("mri_motion row upload"))?,
            row_u: s
                .clone_htod(&nonempty(p.row_u))
                .map_err(err("mri_motion row upload"))?,
            twiddles: s
                .clone_htod(&nonempty(p.twiddles))
                .map_err(err("mri_motion twiddle upload"))?,
            scratch: Mutex::new(
                s.alloc_zeros::<f64>(2 * p.scratch_len.max(1))
                    .map_err(err("mri_motion scratch alloc"))?,
            ),
            n: input.len(),
            total: input.total,
            rows_blocks,
            cols_blocks,
            fft_rows_blocks,
            fft_cols_blocks,
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
                "batch, strengths and prepared spectra differ in size",
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
            grid_dim: (blocks, n, 1),
            block_dim: (BLOCK.0, BLOCK.1, 1),
            shared_mem_bytes: 0,
        };
        // Pass 1 of each path, then pass 2 of each path (same stream: G is written before it is read).
        for (kernel, blocks) in [
            ("mri_motion_rows", self.rows_blocks),
            ("mri_motion_rows_fft", self.fft_rows_blocks),
        ] {
            if blocks == 0 {
                continue;
            }
            let f = engine.function("mri_motion", kernel)?;
            let mut l = s.launch_builder(&f);
            l.arg(&input.d_descs)
                .arg(strength)
                .arg(&self.spectra)
                .arg(&self.meta)
                .arg(&self.row_ky)
                .arg(&self.row_u)
                .arg(&self.twiddles)
                .arg(&mut *scratch)
                .arg(&n);
            // SAFETY: both kernels are `(const MfrImageDesc* descs, const float* strength,
            // const MfrC64* spectra, const uint64_t* meta, const uint32_t* row_ky, const double*
            // row_u, const MfrC64* twiddles, MfrC64* g, uint32_t n_images)`; MfrC64 is two f64
            // (re, im), so the f64 buffers hold interleaved pairs. `from_images` packed all of them with
            // PackedMotion from this batch's descs (checked: same n and total): spectra has
            // 2 * total f64 (image i at 2 * offset_i), meta 6 words per image, the row lists,
            // twiddle tables and G scratch cover every offset meta names, and each block writes
            // only its image's G rows j < m, columns x < w. Each kernel returns at once for the
            // other path's images (meta word 5). strength has >= n entries; grid.y = n; blocks
            // past an image's work return before the barriers (whole block); shared memory is
            // static (24 KiB direct, 32 KiB radix-2, whose sides are <= 2048 by uses_fft).
            unsafe { l.launch(cfg(blocks)) }.map_err(err("mri_motion pass 1 launch"))?;
        }
        for (kernel, blocks) in [
            ("mri_motion_cols", self.cols_blocks),
            ("mri_motion_cols_fft", self.fft_cols_blocks),
        ] {
            if blocks == 0 {
                continue;
            }
            let f = engine.function("mri_motion", kernel)?;
            let mut l = s.launch_builder(&f);
            l.arg(&input.data)
                .arg(&mut out.data)
                .arg(&input.d_descs)
                .arg(strength)
                .arg(&self.meta)
                .arg(&self.row_ky)
                .arg(&self.twiddles)
                .arg(&*scratch)
                .arg(&n);
            // SAFETY: both kernels are `(const float* in, float* out, const MfrImageDesc* descs,
            // const float* strength, const uint64_t* meta, const uint32_t* row_ky, const MfrC64*
            // twiddles, const MfrC64* g, uint32_t n_images)`; same stream, so pass 1 has written G;
            // in/out share the layout (checked totals); meta, rows, twiddles and G as above (G read
            // only for j < m, x < w of the block's image); every image is written by exactly one
            // of the two (meta word 5), each covering its images' samples (the grid covers the
            // largest image's blocks); blocks past an image's work return before the barriers;
            // shared memory is static (16 KiB direct, 32 KiB radix-2).
            unsafe { l.launch(cfg(blocks)) }.map_err(err("mri_motion pass 2 launch"))?;
        }
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
