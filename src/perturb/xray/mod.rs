//! Perturbations of the `xray` family (see spec/perturbations.md). Radiographs are grey: on an RGB
//! copy the same model is applied to every channel.

mod grid;
mod haze;
mod overexposure;
mod scatter;
mod underexposure;

pub use grid::{grid_factor, grid_period, XrayGrid};
pub use haze::XrayHaze;
pub use overexposure::XrayOverexposure;
pub use scatter::XrayScatter;
pub use underexposure::XrayUnderexposure;

use super::Perturbation;

/// This family's perturbations, in catalogue order.
pub fn all() -> Vec<Box<dyn Perturbation>> {
    vec![
        Box::new(XrayScatter),
        Box::new(XrayUnderexposure),
        Box::new(XrayOverexposure),
        Box::new(XrayGrid),
        Box::new(XrayHaze),
    ]
}
