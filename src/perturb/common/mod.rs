//! Building blocks shared by several perturbations; each lives here once.
//! - [`filter`]: separable convolution with scipy's 'reflect' border, Gaussian kernels.
//! - [`field`]: smooth random fields (bias fields, haze, stain variation, blobs).
//! - [`warp`]: affine warps (bilinear images, nearest masks, one geometry and border rule).
//! - [`psf`]: sparse 2-D point-spread functions (anti-aliased line, disk) and their convolution.
//! - [`objects`]: fixed nested object lists as alpha sprites, prefix weights.
//! - [`hsv`]: RGB <-> HSV colour conversion.
//! - [`strokes`]: anti-aliased cubic Bezier strokes (hairs).
//! - [`kspace`]: 2-D FFT of a plane with numpy conventions, fftshift (MRI k-space artefacts).
//! - [`body`]: body / scan-cone support, body centre and radius (CT cupping, ultrasound).
//! - [`codes`]: the 8-bit path (`Prepared::apply_u8`): codes out, an 8-bit source's codes in.
//! - [`quant`]: quantisation of one sample to a bit depth (as `Image::quantised`), vectorisable.
//! - [`simd`]: runtime CPU dispatch of the f32 tap loops and of any function defined with `multiversion!`: AVX-512,
//!   AVX2, baseline; same bits.
//! - [`grey`]: apply one grey-level model to every channel (CT, MRI, US, X-ray are grey by nature).
pub mod body;
pub mod codes;
pub mod field;
pub mod filter;
pub mod grey;
pub mod hsv;
pub mod kspace;
pub mod objects;
pub mod psf;
pub mod quant;
pub mod simd;
pub mod strokes;
pub mod warp;
