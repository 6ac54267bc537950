//! Perturbations of the `oct` family (OCT B-scans and fundus; see spec/perturbations.md).

mod blink;
mod defocus;
mod motion;
mod shadow;
mod speckle;

pub use blink::{blink_bands, OctBlink};
pub use defocus::OctDefocus;
pub use motion::{motion_row_factors, OctMotion};
pub use shadow::{shadow_columns, OctShadow};
pub use speckle::{speckle_field, OctSpeckle};

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![
        Box::new(OctShadow),
        Box::new(OctBlink),
        Box::new(OctDefocus),
        Box::new(OctMotion),
        Box::new(OctSpeckle),
    ]
}
