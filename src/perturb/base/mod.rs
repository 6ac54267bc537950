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

/// Element-wise map `out[i] = clip(f(i, x[i]))` over all samples (planar index), in parallel;
/// each output depends only on its own index, so the result is independent of thread count.
pub(crate) fn map_samples(img: &Image, f: impl Fn(usize, f32) -> f32 + Sync + Send) -> Image {
    let data: Vec<f32> = img.data.par_iter().enumerate().with_min_len(4096).map(|(i, &x)| f(i, x).clamp(0.0, 1.0)).collect();
    Image { data, ..*img }
}

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
            assert_eq!(i.geometric, matches!(i.id, "rotation" | "scaling" | "translation"));
        }
    }
}
