//! kernels/mri_motion.cu's two kernels run by the host CUDA emulation
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
        meta: *const u64,
        units: *const f64,
        kernels: *const f64,
        fill: *const f32,
        scratch: *mut f64,
        warp_blocks: u32,
        mix_blocks: u32,
    );
}

/// One strength step of the packed batch `input` (laid out by `descs`, packed into `p` from the
/// same images in the same order), image i at `strengths[i]`, with the launch wrapper's grids.
pub fn run(p: &PackedMotion, input: &[f32], descs: &[ImageDesc], strengths: &[f32]) -> Vec<f32> {
    assert_eq!(strengths.len(), descs.len(), "one strength per image");
    let mut out = vec![f32::NAN; input.len()];
    let mut scratch = vec![f64::NAN; p.scratch_len.max(1)];
    // SAFETY: descs describe `input` and `out` (same length); meta, units, kernels and fill come
    // from PackedMotion over the same images in the same order; scratch holds scratch_len values;
    // strengths has one value per image.
    unsafe {
        mfr_emu_mri_motion(
            input.as_ptr(),
            out.as_mut_ptr(),
            descs.as_ptr(),
            descs.len() as u32,
            strengths.as_ptr(),
            p.meta.as_ptr(),
            p.units.as_ptr(),
            p.kernels.as_ptr(),
            p.fill.as_ptr(),
            scratch.as_mut_ptr(),
            p.warp_blocks as u32,
            p.mix_blocks as u32,
        )
    };
    out
}
