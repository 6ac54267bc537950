//! Building blocks shared by several perturbations; each lives here once.
//! - [`filter`]: separable convolution with scipy's 'reflect' border, Gaussian kernels.
//! - [`field`]: smooth random fields (bias fields, haze, stain variation, blobs).
//! - [`warp`]: affine warps (bilinear images, nearest masks, one geometry and border rule).
//! - [`psf`]: sparse 2-D point-spread functions (anti-aliased line, disk) and their convolution.
//! - [`objects`]: fixed nested object lists as alpha sprites, prefix weights.
//! - [`hsv`]: RGB <-> HSV colour conversion.
//! - [`strokes`]: anti-aliased cubic Bezier strokes (hairs).

pub mod field;
pub mod filter;
pub mod hsv;
pub mod objects;
pub mod psf;
pub mod strokes;
pub mod warp;
