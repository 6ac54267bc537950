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

// How a stored sample becomes the f64 value SSIM sees (twin: src/ssim/kernel.rs `Affine`):
// identity (lo 0, inv 1), compat min-max normalisation (lo = min, inv = 1 / (max - min)), or zeros
// for an image whose max - min <= 1e-8 (inv 0). The CPU divides by the range; multiplying by the
// reciprocal keeps an f64 division (and the register spills of its slow path) out of the tile
// loop, at a cost of <= 1 ulp (f64) per sample, i.e. ~1e-16 of SSIM.
#define MFR_COMPAT_FLAT_RANGE 1e-8

MFR_HD double mfr_normalise(float v, double lo, double inv) {
    return ((double)v - lo) * inv;
}

// The (lo, inv) pair of one image from its f32 min and max (src/ssim/mod.rs `affine_for`).
MFR_HD void mfr_compat_affine(float mn, float mx, double* lo, double* inv) {
    double r = (double)mx - (double)mn;
    if (r > MFR_COMPAT_FLAT_RANGE) {
        *lo = (double)mn;
        *inv = 1.0 / r;
    } else {
        *lo = 0.0;
        *inv = 0.0;
    }
}
