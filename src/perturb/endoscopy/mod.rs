//! Perturbations of the `endoscopy` family (see spec/perturbations.md).

mod blood;
mod bubbles;
mod overexposure;
mod specular;

pub use blood::EndoBlood;
pub use bubbles::EndoBubbles;
pub use overexposure::EndoOverexposure;
pub use specular::EndoSpecular;

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![Box::new(EndoSpecular), Box::new(EndoBubbles), Box::new(EndoBlood), Box::new(EndoOverexposure)]
}
