//! FFI of the fused-SSIM host emulation (kernels/host/shim_ssim.cpp), shared by
//! tests/cuda_host_math.rs (emulation against the CPU) and tests/cuda_parity.rs (kernel against
//! the emulation, bit for bit). Only built where build.rs built the shim (cfg `medfm_host_math`).

use medfm_robust::backend::params::SsimParams;

extern "C" {
    /// SSIM of one planar image pair as `ssim_tiles` + `ssim_reduce` compute it; `minmax_a` /
    /// `minmax_b` (2 floats each) select compat normalisation, or are null. NaN if the image is
    /// smaller than the window.
    pub fn mfr_host_ssim_emulate(
        a: *const f32,
        b: *const f32,
        w: u32,
        h: u32,
        channels: u32,
        minmax_a: *const f32,
        minmax_b: *const f32,
        p: *const SsimParams,
    ) -> f64;
}
