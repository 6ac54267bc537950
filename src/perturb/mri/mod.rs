//! Perturbations of the `mri` family (see spec/perturbations.md). Magnitude MR images are grey:
//! on an RGB copy the same field / k-space corruption is applied to every channel.

mod bias_field;
mod ghosting;
mod motion;

pub use bias_field::{
    bias_coefficients, torchio_bias_field, unit_log_field, MriBiasField, BIAS_ORDER,
};
pub use ghosting::{ghost_field, ghost_settings, torchio_ghosting, MriGhosting};
pub use motion::{
    motion_centre, motion_cos_sin, motion_delta, motion_plan, motion_rigid, motion_sample,
    segment_kernel, segment_rows, torchio_motion, MotionPlan, MovedSegment, MriMotion, Rigid,
    MOTION_MOVES,
};

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![
        Box::new(MriBiasField),
        Box::new(MriGhosting),
        Box::new(MriMotion),
    ]
}
