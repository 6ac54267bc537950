//! Perturbations of the `pathology` family (see spec/perturbations.md).

mod bubbles;
mod stain_hsv;

pub use bubbles::{background, bubble_list, Bubble, PathBubbles};
pub use stain_hsv::{stain_draws, PathStainHsv, StainDraws};

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![Box::new(PathStainHsv), Box::new(PathBubbles)]
}
