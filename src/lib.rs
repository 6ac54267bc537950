//! medfm-robust: robustness benchmark for medical foundation models.
//!
//! Data flows top to bottom (spec/product.md): [`io`] reads images into [`image::Image`]s on a fixed
//! [0, 1] scale; [`perturb`] holds the catalogue of 40 perturbations behind one trait and one
//! registry; [`ssim`] measures similarity; [`calibrate`] finds the strength for each SSIM band;
//! [`phantom`] makes the built-in synthetic images; [`cli`] wires it into the `medfm-robust` binary.

pub mod backend;
pub mod calibrate;
pub mod cli;
pub mod dataset;
pub mod error;
pub mod eval;
pub mod generate;
pub mod image;
pub mod io;
pub mod metrics;
pub mod perturb;
pub mod phantom;
pub mod report;
pub mod rng;
pub mod run;
pub mod ssim;
pub mod stats;
pub mod viz;

pub use error::{Error, Result};
pub use image::{BitDepth, Image, Mask};
