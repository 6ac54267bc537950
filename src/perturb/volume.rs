//! Perturbations on volumes. A volume is a grey [`Image`] whose channels are its slices (planar:
//! slice k is plane k), so SSIM over the volume is the mean of the slices' SSIM (the crate's
//! multichannel rule, skimage's `channel_axis`), the definition calibration uses for volumes.
//!
//! [`Volume`] wraps any perturbation; how it acts on the slices is the op's
//! [`VolumeForm`](crate::perturb::VolumeForm):
//! - `PerSlice` (the default): the 2-D op on each slice with the slice's own random draws (the
//!   slice's image id is the volume's mixed with the slice index), as independent 2-D images;
//! - `OneAcquisition`: the 2-D op on each slice with the SAME draws (mri_ghosting, mri_motion:
//!   one acquisition's ghost spacing and motion timeline shared by every slice, as in a
//!   multi-slice scan, where a k-space modulation that depends on the phase-encode line alone is
//!   the same in 2-D and 3-D k-space);
//! - `Own`: the op's own volumetric form ([`Perturbation::prepare_volume`]: mri_bias_field's 3-D
//!   polynomial field).
//!   One strength applies to the whole volume.

use crate::error::{Error, Result};
use crate::image::{BitDepth, Image};
use crate::perturb::{Ctx, Info, Perturbation, Prepared, VolumeForm};
use rayon::prelude::*;

/// `inner` acting on volumes (see the module documentation).
pub struct Volume {
    pub inner: &'static dyn Perturbation,
}

/// The ctx of slice `k` of a volume with ctx `ctx` (PerSlice draws).
pub fn slice_ctx(ctx: &Ctx, k: usize) -> Ctx {
    let mixed = crate::rng::fnv1a32(&format!("{}#slice{k}", ctx.image_id));
    Ctx::new(ctx.seed, mixed)
}

/// Slice k of a volume, as a grey image.
pub fn slice(vol: &Image, k: usize) -> Image {
    Image::from_planes(vol.width, vol.height, 1, vol.plane(k).to_vec())
}

struct Prep<'a> {
    vol: &'a Image,
    slices: Vec<Image>,
    ctxs: Vec<Ctx>,
    inner: &'static dyn Perturbation,
}

impl Perturbation for Volume {
    fn info(&self) -> &Info {
        self.inner.info()
    }

    fn prepare<'a>(&self, vol: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let form = self.inner.volume_form();
        if form == VolumeForm::Own {
            return self.inner.prepare_volume(vol, ctx);
        }
        let slices: Vec<Image> = (0..vol.channels).map(|k| slice(vol, k)).collect();
        let ctxs: Vec<Ctx> = (0..vol.channels)
            .map(|k| match form {
                VolumeForm::OneAcquisition => *ctx,
                _ => slice_ctx(ctx, k),
            })
            .collect();
        // Prepare every slice once here so a slice the op refuses is an error now, not a
        // silent clean slice later.
        for (s, c) in slices.iter().zip(&ctxs) {
            let out = self.inner.prepare(s, c)?.apply(0.0);
            if out.channels != 1 {
                return Err(Error::invalid(
                    self.inner.id(),
                    "a colour perturbation cannot act on a grey volume's slices",
                ));
            }
        }
        Ok(Box::new(Prep {
            vol,
            slices,
            ctxs,
            inner: self.inner,
        }))
    }
}

impl Prepared for Prep<'_> {
    /// Each slice is prepared again here (in parallel): a slice's prepared form borrows the slice,
    /// which this value owns, so it cannot be kept next to it. Calibration pays one `prepare` per
    /// slice and probe; the 2-D path is unchanged.
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.vol.clone();
        }
        let planes: Vec<Vec<f32>> = self
            .slices
            .par_iter()
            .zip(&self.ctxs)
            .map(|(sl, c)| match self.inner.prepare(sl, c) {
                Ok(p) => p.apply(s).data,
                // prepare succeeded on this very slice and ctx in Volume::prepare
                Err(_) => sl.data.clone(),
            })
            .collect();
        Image::from_planes(
            self.vol.width,
            self.vol.height,
            self.vol.channels,
            planes.concat(),
        )
    }

    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        self.apply(s).quantised(depth)
    }
}
