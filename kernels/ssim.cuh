// Per-pixel SSIM math (Wang et al. 2004), shared by kernels/ssim.cu and the host-math shim.
// Twin: src/ssim.rs (scikit-image 0.26 `structural_similarity` formulas, variances clamped at 0
// as spec/ssim-calibration.md asks). All in f64: E[x^2] - mu^2 cancels badly in f32.
#pragma once
#include "common.cuh"

// The five windowed moments of one pixel: E[x], E[y], E[x^2], E[y^2], E[xy].
struct MfrMoments {
    double mx, my, exx, eyy, exy;
};

// SSIM at one pixel from its windowed moments.
MFR_HD double mfr_ssim_from_moments(MfrMoments m, double c1, double c2, double cov_norm) {
    double vx = cov_norm * (m.exx - m.mx * m.mx);
    double vy = cov_norm * (m.eyy - m.my * m.my);
    double vxy = cov_norm * (m.exy - m.mx * m.my);
    vx = vx > 0.0 ? vx : 0.0;
    vy = vy > 0.0 ? vy : 0.0;
    double a1 = 2.0 * m.mx * m.my + c1;
    double a2 = 2.0 * vxy + c2;
    double b1 = m.mx * m.mx + m.my * m.my + c1;
    double b2 = vx + vy + c2;
    return (a1 * a2) / (b1 * b2);
}

// Min-max normalisation used by the `compat` variant: (v - lo) * inv_range, in f64;
// inv_range = 1 / (hi - lo), or 0 for a constant image (all samples map to 0). Twin: src/ssim.rs.
MFR_HD double mfr_normalise(float v, double lo, double inv_range) {
    return ((double)v - lo) * inv_range;
}
