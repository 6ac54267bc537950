//! kernels/mri_motion.cu's four kernels run by the host CUDA emulation
//! (kernels/host/emu_mri_motion.cpp), shared by tests/cuda_host_math_mri.rs and
//! tests/cuda_emulated.rs. Only built where build.rs built the shim (cfg `medfm_host_math`).

use medfm_robust::backend::motion_pack::PackedMotion;
use medfm_robust::backend::params::ImageDesc;

extern "C" {
    #[allow(clippy::too_many_arguments)]
    fn mfr_emu_mri_motion(
        input: *const f32,
        out: *mut f32,
        descs: *const ImageDesc,
        n: u32,
        strength: *const f32,
        spectra: *const f64,
        meta: *const u64,
        row_ky: *const u32,
        row_u: *const f64,
        twiddles: *const f64,
        g: *mut f64,
        rows_blocks: u32,
        cols_blocks: u32,
        fft_rows: u32,
        fft_cols: u32,
    );
}

/// One strength step of the packed batch `input` (laid out by `descs`, packed into `p` from the
/// same images in the same order), image i at `strengths[i]`, with the launch wrapper's grids.
pub fn run(p: &PackedMotion, input: &[f32], descs: &[ImageDesc], strengths: &[f32]) -> Vec<f32> {
    assert_eq!(strengths.len(), descs.len(), "one strength per image");
    let mut out = vec![f32::NAN; input.len()];
    let mut g = vec![f64::NAN; 2 * p.scratch_len.max(1)];
    // SAFETY: descs describe `input` and `out` (same length); spectra, meta, rows and twiddles
    // come from PackedMotion over the same images in the same order; g holds scratch_len complex
    // values; strengths has one value per image.
    unsafe {
        mfr_emu_mri_motion(
            input.as_ptr(),
            out.as_mut_ptr(),
            descs.as_ptr(),
            descs.len() as u32,
            strengths.as_ptr(),
            p.spectra.as_ptr(),
            p.meta.as_ptr(),
            p.row_ky.as_ptr(),
            p.row_u.as_ptr(),
            p.twiddles.as_ptr(),
            g.as_mut_ptr(),
            p.rows_blocks as u32,
            p.cols_blocks as u32,
            p.fft_rows_blocks as u32,
            p.fft_cols_blocks as u32,
        )
    };
    out
}
