//! Host-side packing of mri_motion's strength-independent data into the flat layouts
//! kernels/mri_motion.cu reads (kernels/mri_motion.cuh describes them). Compiled with or without
//! the `cuda` feature: tests/cuda_host_math_mri.rs and tests/cuda_emulated.rs feed the host build
//! of the kernels through exactly the packing the launch wrapper (src/backend/cuda/mri_motion.rs)
//! uploads.
//!
//! Inputs come from the CPU's own `prepare` ([`motion_plan`](crate::perturb::mri::motion_plan)),
//! so nothing here re-draws randomness. Per image (in batch order):
//! - `units`: (u_rot, u_x, u_y) of each moved segment (3 f64 per segment), in plan order;
//! - `kernels`: each moved segment's circular-convolution kernel along y
//!   ([`segment_kernel`](crate::perturb::mri::segment_kernel), h f64 per segment): the column
//!   projection `Re ifft_y(P_j fft_y(.))` of the CPU's FFT path as a direct sum;
//! - `fill`: the per-channel value beyond the image (c f32);
//! - [`MOTION_META_WORDS`] u64: segment offset (into units / 3), segment count m, kernel offset,
//!   scratch offset (f64 values; the scratch holds the m c h w differences `copy_j - x`), fill
//!   offset.

use super::BackendError;
use crate::perturb::mri::{segment_kernel, MotionPlan};

/// u64 words per image (kernels/mri_motion.cuh `MFR_MOTION_META_WORDS` and its slots).
pub const MOTION_META_WORDS: usize = 5;

/// Threads per block of both kernels (kernels/mri_motion.cuh `MFR_MOTION_THREADS`).
pub const MOTION_THREADS: usize = 256;

/// Everything mri_motion uploads for one batch, in the kernel's layout.
#[derive(Clone, Debug, Default)]
pub struct PackedMotion {
    /// [`MOTION_META_WORDS`] words per image.
    pub meta: Vec<u64>,
    /// (u_rot, u_x, u_y) of every moved segment, image after image.
    pub units: Vec<f64>,
    /// h values per moved segment, image after image.
    pub kernels: Vec<f64>,
    /// c values per image.
    pub fill: Vec<f32>,
    /// f64 values of the difference scratch the batch needs (sum over images of m c h w).
    pub scratch_len: usize,
    /// Grid x extent of `mri_motion_warp`: the largest image's ceil(m c h w / 256) (0: no work).
    pub warp_blocks: usize,
    /// Grid x extent of `mri_motion_mix`: the largest image's ceil(c h w / 256).
    pub mix_blocks: usize,
}

impl PackedMotion {
    /// Pack image i of shape `dims[i] = (w, h, c)` with its plan `plans[i]`.
    pub fn new(dims: &[(usize, usize, usize)], plans: &[MotionPlan]) -> Result<Self, BackendError> {
        if dims.len() != plans.len() {
            return Err(BackendError::cuda(
                "mri_motion",
                "one prepared plan per image is required",
            ));
        }
        let mut p = PackedMotion::default();
        for (&dim, plan) in dims.iter().zip(plans) {
            p.push(dim, plan)?;
        }
        Ok(p)
    }

    /// Append the next image of the batch, of shape `(w, h, c)`, with its plan. A plan whose fill
    /// list or rows do not fit the shape is a typed error naming mri_motion.
    pub fn push(
        &mut self,
        (w, h, c): (usize, usize, usize),
        plan: &MotionPlan,
    ) -> Result<(), BackendError> {
        let id = "mri_motion";
        if plan.fill.len() != c {
            return Err(BackendError::cuda(
                id,
                format!(
                    "plan has {} fill values, {c} channels needed",
                    plan.fill.len()
                ),
            ));
        }
        if let Some(r) = plan
            .segments
            .iter()
            .flat_map(|s| &s.rows)
            .find(|&&r| r as usize >= h)
        {
            return Err(BackendError::cuda(
                id,
                format!("plan row {r} beyond the image height {h}"),
            ));
        }
        let m = plan.segments.len();
        self.meta.extend([
            (self.units.len() / 3) as u64,
            m as u64,
            self.kernels.len() as u64,
            self.scratch_len as u64,
            self.fill.len() as u64,
        ]);
        for s in &plan.segments {
            self.units.extend(s.unit);
            self.kernels.extend(segment_kernel(&s.rows, h));
        }
        self.fill.extend(&plan.fill);
        self.scratch_len += m * c * h * w;
        self.warp_blocks = self
            .warp_blocks
            .max((m * c * h * w).div_ceil(MOTION_THREADS));
        self.mix_blocks = self.mix_blocks.max((c * h * w).div_ceil(MOTION_THREADS));
        Ok(())
    }

    /// Bytes of device memory the packed data and the scratch take.
    pub fn device_bytes(&self) -> usize {
        8 * (self.meta.len() + self.units.len() + self.kernels.len() + self.scratch_len)
            + 4 * self.fill.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::mri::motion_plan;
    use crate::perturb::Ctx;
    use crate::Image;

    #[test]
    fn packs_offsets_per_image() {
        let a = Image::new(5, 12, 1);
        let b = Image::new(12, 7, 3);
        let plans = [
            motion_plan(&a, &Ctx::new(1, 2)),
            motion_plan(&b, &Ctx::new(1, 3)),
        ];
        let p = PackedMotion::new(&[(5, 12, 1), (12, 7, 3)], &plans).unwrap();
        let (ma, mb) = (plans[0].segments.len(), plans[1].segments.len());
        assert!(ma > 0 && mb > 0);
        let (ma, mb) = (ma as u64, mb as u64);
        assert_eq!(
            p.meta,
            vec![0, ma, 0, 0, 0, ma, mb, 12 * ma, 5 * 12 * ma, 1]
        );
        assert_eq!(p.units.len() as u64, 3 * (ma + mb));
        assert_eq!(p.kernels.len() as u64, 12 * ma + 7 * mb);
        assert_eq!(p.scratch_len as u64, 60 * ma + 252 * mb);
        assert_eq!(p.fill, vec![0.0; 4]);
        assert_eq!(
            (p.warp_blocks, p.mix_blocks),
            ((252 * mb as usize).div_ceil(256), 1)
        );
        assert!(PackedMotion::new(&[(5, 11, 3)], &plans[..1]).is_err());
        assert!(PackedMotion::new(&[(5, 3, 1)], &plans[..1]).is_err());
    }
}
