//! Perturbations of the `base` family (spec/perturbations.md, "Base"): photometric, noise,
//! blur, codec and geometric corruptions that apply to every modality.
//!
//! Shared conventions of this family:
//! - `apply(0)` returns the clean image bit for bit (jpeg excepted: its round trip at quality 100
//!   is lossy);
//! - random fields are drawn in `prepare` from `ctx.rng(id)`: per-pixel fields use stream = plane
//!   (channel) or a named field number and index = pixel index within the plane;
//! - outputs are clipped to [0, 1].

mod blur;
mod geometric;
mod intensity;
mod jpeg;
mod noise;
mod pixelate;

use super::Perturbation;
use crate::image::Image;
use rayon::prelude::*;

pub use blur::{motion_blur_angle, motion_blur_cap, GaussianBlur, MotionBlur};
pub use geometric::{warp_draws, Rotation, Scaling, Translation};
pub use intensity::{Brightness, Contrast};
pub use jpeg::Jpeg;
pub use noise::{GaussianNoise, SaltPepper, SpeckleNoise};
pub use pixelate::Pixelate;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![
        Box::new(GaussianNoise),
        Box::new(SaltPepper),
        Box::new(SpeckleNoise),
        Box::new(GaussianBlur),
        Box::new(MotionBlur),
        Box::new(Brightness),
        Box::new(Contrast),
        Box::new(Jpeg),
        Box::new(Pixelate),
        Box::new(Rotation),
        Box::new(Scaling),
        Box::new(Translation),
    ]
}

/// Samples per parallel task of [`map_chunks`] (the 8-bit path's chunk too).
use crate::perturb::common::codes::CHUNK;

/// A pointwise op over chunks of one plane: `f(c, pixels, src, dst)` writes `dst` (the output
/// samples of plane c at the pixel indices `pixels`) from `src` (the input samples there). Each
/// output depends only on its own index (thread-count independent); the op writes its inner
/// loop over zipped slices, which the compiler vectorises (no per-sample index arithmetic).
pub(crate) fn map_chunks(
    img: &Image,
    f: impl Fn(usize, std::ops::Range<usize>, &[f32], &mut [f32]) + Sync + Send,
) -> Image {
    let mut out = Image::new(img.width, img.height, img.channels);
    for (c, (src, dst)) in img.planes().zip(out.planes_mut()).enumerate() {
        dst.par_chunks_mut(CHUNK)
            .zip(src.par_chunks(CHUNK))
            .enumerate()
            .for_each(|(k, (d, s))| {
                let p0 = k * CHUNK;
                f(c, p0..p0 + d.len(), s, d)
            });
    }
    out
}

/// The finish of `apply`: the catalogue's clip (`f32::clamp`, as every op of this family had it).
#[inline(always)]
pub(crate) fn clip(v: f32) -> f32 {
    v.clamp(0.0, 1.0)
}

/// The finish of `apply_quantised`: clip, round to the nearest of `max` codes (halves away from
/// zero), back to [0, 1]; bit-identical to `Image::quantised` of the clipped sample
/// (`crate::perturb::common::quant`).
pub(crate) use crate::perturb::common::quant::quantise;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_the_catalogue_ids_in_order() {
        let ids: Vec<&str> = all().iter().map(|p| p.id()).collect();
        assert_eq!(
            ids,
            [
                "gaussian_noise",
                "salt_pepper",
                "speckle_noise",
                "gaussian_blur",
                "motion_blur",
                "brightness",
                "contrast",
                "jpeg",
                "pixelate",
                "rotation",
                "scaling",
                "translation"
            ]
        );
        for p in all() {
            let i = p.info();
            assert_eq!(i.category, crate::perturb::Category::Base);
            assert!(i.modality.is_none());
            assert_eq!(i.strength_range.0, 0.0);
            assert_eq!(
                i.geometric,
                matches!(i.id, "rotation" | "scaling" | "translation")
            );
        }
    }
}
