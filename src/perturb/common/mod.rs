//! Building blocks shared by several perturbations; each lives here once.
//! - [`filter`]: separable convolution with scipy's 'reflect' border, Gaussian kernels.
//! - [`field`]: smooth random fields (bias fields, haze, stain variation, blobs).

pub mod field;
pub mod filter;
