//! kernels/ssim.cu (`ssim_tiles` + `ssim_reduce`) run by the host CUDA emulation
//! (kernels/host/emu_ssim.cpp) with the tile numbering of src/backend/ssim_tiles.rs, shared by
//! tests/cuda_host_math.rs (against scikit-image values and the CPU), tests/cuda_emulated.rs and
//! tests/cuda_parity.rs (the GPU against it, bit for bit). Only built where build.rs built the
//! shim (cfg `medfm_host_math`).

use medfm_robust::backend::params::{ImageDesc, SsimParams};
use medfm_robust::backend::ssim_tiles::tile_starts;
use medfm_robust::ssim::SsimVariant;

extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn mfr_emu_ssim_batch(
        a: *const f32,
        b: *const f32,
        descs: *const ImageDesc,
        n: u32,
        tile_start: *const u32,
        minmax_a: *const f32,
        minmax_b: *const f32,
        p: *const SsimParams,
        partials: *mut f64,
        out: *mut f64,
    );
}

/// SSIM of every pair of the packed batches `a`, `b` (laid out by `descs`); `minmax` (2 floats
/// per image each) selects compat normalisation. None if the host refuses the batch (an image
/// below the window).
pub fn batch(
    a: &[f32],
    b: &[f32],
    descs: &[ImageDesc],
    minmax: Option<(&[f32], &[f32])>,
    p: &SsimParams,
) -> Option<Vec<f64>> {
    let starts = tile_starts(descs, p).ok()?;
    let mut partials = vec![f64::NAN; (*starts.last()?).max(1) as usize];
    let mut out = vec![f64::NAN; descs.len()];
    let (ma, mb) = minmax.map_or((std::ptr::null(), std::ptr::null()), |(x, y)| {
        (x.as_ptr(), y.as_ptr())
    });
    // SAFETY: descs describe a and b; starts has n + 1 entries and partials starts[n]; the minmax
    // arrays have 2n floats or are null; out has n entries.
    unsafe {
        mfr_emu_ssim_batch(
            a.as_ptr(),
            b.as_ptr(),
            descs.as_ptr(),
            descs.len() as u32,
            starts.as_ptr(),
            ma,
            mb,
            p,
            partials.as_mut_ptr(),
            out.as_mut_ptr(),
        )
    };
    Some(out)
}

/// (min, max) of a slice.
pub fn minmax(x: &[f32]) -> [f32; 2] {
    [
        x.iter().cloned().fold(f32::INFINITY, f32::min),
        x.iter().cloned().fold(f32::NEG_INFINITY, f32::max),
    ]
}

/// SSIM of one planar pair (`c` planes of w x h) as the kernel computes it; NaN if the image is
/// below the window.
pub fn one(a: &[f32], b: &[f32], w: usize, h: usize, c: usize, variant: SsimVariant) -> f64 {
    let desc = ImageDesc {
        offset: 0,
        width: w as u32,
        height: h as u32,
        channels: c as u32,
        image_id: 0,
    };
    let (ma, mb) = (minmax(a), minmax(b));
    let mm = (variant == SsimVariant::Compat).then_some((&ma[..], &mb[..]));
    batch(a, b, &[desc], mm, &SsimParams::for_variant(variant, 1)).map_or(f64::NAN, |v| v[0])
}
