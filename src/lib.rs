//! medfm-robust: robustness benchmark for medical foundation models.
//!
//! Data flows top to bottom (spec/product.md): [`io`] reads images into [`image::Image`]s on a fixed
//! [0, 1] scale; [`perturb`] holds the catalogue of 40 perturbations behind one trait and one
//! registry; [`ssim`] measures similarity; [`calibrate`] finds the strength for each SSIM band;
//! [`phantom`] makes the built-in synthetic images; [`run`] is the one plan -> perturb -> evaluate ->
//! record pipeline every front-end describes its work to; [`report`] aggregates records (Eq. 3).
//! The `medfm-robust` binary (src/main.rs, src/cli/) parses arguments into a [`run::Config`].

pub mod backend;
pub mod calibrate;
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
