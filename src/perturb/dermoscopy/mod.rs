//! Perturbations of the `dermoscopy` family (see spec/perturbations.md).

mod hair;
mod light_reflection;
mod vignette;

pub use hair::{hair_list, DermHair, Hair, HAIR_COUNT};
pub use light_reflection::{glare_field, DermLightReflection};
pub use vignette::{vignette_falloff, vignette_gain, DermVignette, VIGNETTE_EXPONENT};

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![
        Box::new(DermVignette),
        Box::new(DermLightReflection),
        Box::new(DermHair),
    ]
}
