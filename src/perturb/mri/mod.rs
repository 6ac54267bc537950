//! Perturbations of the `mri` family (see spec/perturbations.md).

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![]
}
