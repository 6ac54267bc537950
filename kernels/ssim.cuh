// Per-pixel SSIM math (Wang et al. 2004) and the block phases of kernels/ssim.cu (which the host
// CUDA emulation, kernels/host/emu_ssim.cpp, also runs). Twin: src/ssim.rs (scikit-image 0.26
// `structural_similarity` formulas). All in f64: E[x^2] - mu^2 cancels badly in f32.
#pragma once
#include "common.cuh"

// The four windowed moments SSIM needs at one pixel: E[x], E[y], E[x^2 + y^2], E[xy].
// (x^2 and y^2 only ever enter SSIM as the sum vx + vy, so one window pass serves both.)
struct MfrMoments {
    double mx, my, exx_eyy, exy;
};

// SSIM at one pixel from its windowed moments. vx + vy is clamped at 0 (spec/ssim-calibration.md
// clamps each; both are >= 0 up to rounding, so the two differ by rounding, ~1e-17).
MFR_HD double mfr_ssim_from_moments(MfrMoments m, double c1, double c2, double cov_norm) {
    double vxy_sum = cov_norm * (m.exx_eyy - m.mx * m.mx - m.my * m.my);
    double vxy = cov_norm * (m.exy - m.mx * m.my);
    vxy_sum = vxy_sum > 0.0 ? vxy_sum : 0.0;
    double a1 = 2.0 * m.mx * m.my + c1;
    double a2 = 2.0 * vxy + c2;
    double b1 = m.mx * m.mx + m.my * m.my + c1;
    double b2 = vxy_sum + c2;
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

// ---------------------------------------------------------------------------------------------
// Block phases of `ssim_tiles` (kernels/ssim.cu). A block of 32 x 8 threads owns a 32 x 32 tile
// of the VALID SSIM map; per channel it
//   1. stages the tile's input samples, (32 + 2r)^2 of each image, as raw f32 (`mfr_ssim_stage`);
//   2. runs two field passes: the horizontal window (`mfr_ssim_hpass`) writes two fields' row sums
//      to `hm`, the vertical window (`mfr_ssim_vpass`) reads them back into registers. Pass 0 has
//      the fields (x, y), pass 1 (x^2 + y^2, xy); two passes of two fields keep shared memory
//      under the 48 KiB of a static allocation;
//   3. evaluates SSIM for its MFR_SSIM_RUN outputs in registers.
// Each thread handles MFR_SSIM_RUN consecutive outputs per pass (horizontal: columns, vertical:
// rows) and slides the window over registers, so a staged value is read from shared memory once
// per run instead of once per tap. Every window sum runs over taps k = 0..2r in ascending order
// with explicit f64 fma (the order of the CPU twin).
#define MFR_SSIM_TILE 32                                   // output rows and columns per block
#define MFR_SSIM_BX 32                                     // threads per block row
#define MFR_SSIM_BY 8                                      // thread rows
#define MFR_SSIM_THREADS (MFR_SSIM_BX * MFR_SSIM_BY)       // 256
#define MFR_SSIM_RUN (MFR_SSIM_TILE / MFR_SSIM_BY)         // 4 outputs per thread and pass
#define MFR_SSIM_SPAN (MFR_SSIM_TILE + 2 * MFR_SSIM_MAX_RADIUS)  // 42 staged rows / columns, max
// Pitches: 43 floats (odd) puts a warp's 32 consecutive staged rows in 32 banks; 33 doubles
// does the same for the row-sum stores of 32 consecutive rows.
#define MFR_SSIM_RAW_PITCH (MFR_SSIM_SPAN + 1)
#define MFR_SSIM_HM_PITCH (MFR_SSIM_TILE + 1)

struct MfrSsimTile {
    float ra[MFR_SSIM_SPAN][MFR_SSIM_RAW_PITCH];  // staged samples of image a (raw f32)
    float rb[MFR_SSIM_SPAN][MFR_SSIM_RAW_PITCH];  // ... of image b
    union {
        double hm[2][MFR_SSIM_SPAN][MFR_SSIM_HM_PITCH];  // horizontal sums of the pass's 2 fields
        double red[MFR_SSIM_THREADS];                    // block reduction, after the last pass
    };
};

// Normalised samples of one staged position (compat min-max, or the identity).
struct MfrSsimAffine {
    double lo_a, inv_a, lo_b, inv_b;
};

// Phase 1, thread `tid` of MFR_SSIM_THREADS: stage rows [y0, y0 + span) x columns [x0, x0 + span)
// of one plane of each image. Positions past the image only feed outputs that are masked out, so
// they are clamped to the last row/column (never read out of bounds) rather than reflected.
MFR_HD void mfr_ssim_stage(MfrSsimTile* t, uint32_t tid, const float* a, const float* b, uint64_t plane,
                           int32_t w, int32_t h, int32_t x0, int32_t y0, int32_t span) {
    for (int32_t i = (int32_t)tid; i < span * span; i += MFR_SSIM_THREADS) {
        int32_t yy = i / span, xx = i % span;
        int32_t gy = y0 + yy < h - 1 ? y0 + yy : h - 1;
        int32_t gx = x0 + xx < w - 1 ? x0 + xx : w - 1;
        uint64_t at = plane + (uint64_t)gy * (uint64_t)w + (uint64_t)gx;
        t->ra[yy][xx] = a[at];
        t->rb[yy][xx] = b[at];
    }
}

// One step of a sliding window over MFR_SSIM_RUN consecutive outputs: sample s of the run (u, v,
// one value of each field) enters output j with tap k = s - j, if 0 <= k <= 2 RAD. Fed with
// s = 0, 1, ..., every output sums its taps in ascending k (the CPU twin's order).
template <int RAD>
MFR_HD void mfr_ssim_window_step(const double (&taps)[2 * RAD + 1], int s, double u, double v,
                                 double (&f0)[MFR_SSIM_RUN], double (&f1)[MFR_SSIM_RUN]) {
MFR_UNROLL
    for (int j = 0; j < MFR_SSIM_RUN; ++j) {
        const int k = s - j;
        if (k >= 0 && k <= 2 * RAD) {
            f0[j] = fma(taps[k], u, f0[j]);
            f1[j] = fma(taps[k], v, f1[j]);
        }
    }
}

// Zeroes the run's accumulators.
MFR_HD void mfr_ssim_run_zero(double (&f0)[MFR_SSIM_RUN], double (&f1)[MFR_SSIM_RUN]) {
MFR_UNROLL
    for (int j = 0; j < MFR_SSIM_RUN; ++j) {
        f0[j] = 0.0;
        f1[j] = 0.0;
    }
}

// Phase 2a, thread `tid`: horizontal window sums of pass `pass`'s two fields for every staged row
// and the tile's 32 output columns. Work item = (staged row, run of MFR_SSIM_RUN columns), rows
// fastest so a warp reads 32 different rows (conflict-free with the odd pitch). NORM: apply `n`
// (compat); without it the samples are used as they are, which is what the identity affine
// (lo 0, inv 1) gives bit for bit, minus two f64 operations per sample read.
template <int RAD, bool NORM>
MFR_HD void mfr_ssim_hpass(MfrSsimTile* t, uint32_t tid, int pass, const double (&taps)[2 * RAD + 1],
                           MfrSsimAffine n) {
    constexpr int ROWS = MFR_SSIM_TILE + 2 * RAD;
    constexpr int RUNS = MFR_SSIM_TILE / MFR_SSIM_RUN;
    for (int item = (int)tid; item < ROWS * RUNS; item += MFR_SSIM_THREADS) {
        const int row = item % ROWS;
        const int c0 = (item / ROWS) * MFR_SSIM_RUN;
        double f0[MFR_SSIM_RUN], f1[MFR_SSIM_RUN];
        mfr_ssim_run_zero(f0, f1);
MFR_UNROLL
        for (int s = 0; s < MFR_SSIM_RUN + 2 * RAD; ++s) {
            const double x = NORM ? mfr_normalise(t->ra[row][c0 + s], n.lo_a, n.inv_a) : (double)t->ra[row][c0 + s];
            const double y = NORM ? mfr_normalise(t->rb[row][c0 + s], n.lo_b, n.inv_b) : (double)t->rb[row][c0 + s];
            // pass 0: (x, y); pass 1: (x^2 + y^2, xy)
            mfr_ssim_window_step<RAD>(taps, s, pass == 0 ? x : fma(x, x, y * y), pass == 0 ? y : x * y, f0, f1);
        }
MFR_UNROLL
        for (int j = 0; j < MFR_SSIM_RUN; ++j) {
            t->hm[0][row][c0 + j] = f0[j];
            t->hm[1][row][c0 + j] = f1[j];
        }
    }
}

// Phase 2b, thread (tx, ty): vertical window sums of both fields for output column tx and output
// rows ty * MFR_SSIM_RUN + j, j < MFR_SSIM_RUN, into f0[j], f1[j].
template <int RAD>
MFR_HD void mfr_ssim_vpass(const MfrSsimTile* t, uint32_t tx, uint32_t ty, const double (&taps)[2 * RAD + 1],
                           double (&f0)[MFR_SSIM_RUN], double (&f1)[MFR_SSIM_RUN]) {
    const int r0 = (int)ty * MFR_SSIM_RUN;
    mfr_ssim_run_zero(f0, f1);
MFR_UNROLL
    for (int s = 0; s < MFR_SSIM_RUN + 2 * RAD; ++s)
        mfr_ssim_window_step<RAD>(taps, s, t->hm[0][r0 + s][tx], t->hm[1][r0 + s][tx], f0, f1);
}

// Phase 3, thread (tx, ty): the SSIM sum of its outputs inside the valid map (vw x vh; the tile's
// first output is (ox0, oy0)), from the two passes' vertical sums.
MFR_HD double mfr_ssim_run_sum(uint32_t tx, uint32_t ty, int32_t ox0, int32_t oy0, int32_t vw, int32_t vh,
                               const double (&mu_x)[MFR_SSIM_RUN], const double (&mu_y)[MFR_SSIM_RUN],
                               const double (&e_sq)[MFR_SSIM_RUN], const double (&e_xy)[MFR_SSIM_RUN],
                               const MfrSsimParams& p) {
    double acc = 0.0;
    const bool col_ok = ox0 + (int32_t)tx < vw;
MFR_UNROLL
    for (int j = 0; j < MFR_SSIM_RUN; ++j) {
        if (col_ok && oy0 + (int32_t)ty * MFR_SSIM_RUN + j < vh) {
            MfrMoments m = {mu_x[j], mu_y[j], e_sq[j], e_xy[j]};
            acc += mfr_ssim_from_moments(m, p.c1, p.c2, p.cov_norm);
        }
    }
    return acc;
}

// The window taps of radius RAD in registers (compile-time indices; a run-time index into the
// by-value parameter struct would copy it to the local stack).
template <int RAD>
MFR_HD void mfr_ssim_taps(const MfrSsimParams& p, double (&taps)[2 * RAD + 1]) {
MFR_UNROLL
    for (int k = 0; k <= 2 * RAD; ++k) taps[k] = p.taps[k];
}
