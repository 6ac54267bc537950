//! Perturbations of the `endoscopy` family (see spec/perturbations.md).

mod blood;
mod bubbles;
mod overexposure;
mod specular;

pub use blood::{blood_blobs, blood_log_transmittance, EndoBlood};
pub use bubbles::{bubble_list, Bubble, EndoBubbles};
pub use overexposure::{overexposure_field, EndoOverexposure};
pub use specular::{specular_spots, EndoSpecular, Spot};

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![
        Box::new(EndoSpecular),
        Box::new(EndoBubbles),
        Box::new(EndoBlood),
        Box::new(EndoOverexposure),
    ]
}
