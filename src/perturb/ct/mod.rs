//! Perturbations of the `ct` family (see spec/perturbations.md). CT is grey by nature: on an RGB
//! copy the same field is applied to every channel ([`super::common::grey`]).

mod beam_hardening;
mod metal_streaks;
mod photon_starvation;
mod window_level;

pub use beam_hardening::{cupping_depth, cupping_field, CtBeamHardening};
pub use metal_streaks::{metal_streak_field, CtMetalStreaks};
pub use photon_starvation::CtPhotonStarvation;
pub use window_level::CtWindowLevel;

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![
        Box::new(CtMetalStreaks),
        Box::new(CtBeamHardening),
        Box::new(CtWindowLevel),
        Box::new(CtPhotonStarvation),
    ]
}
