// mri_motion: per-sample math shared by kernels/mri_motion.cu and its host builds
// (kernels/host/emu_mri_motion.cpp, shim_mri.cpp). Twin: src/perturb/mri/motion.rs (torchio
// Motion in 2-D):
//
//   out = map_pixels(x + sum_j sum_y' r_j[(y - y') mod h] e_j[y', x]),
//   e_j = copy_j - x,  copy_j(p) = bilinear x at c + R(theta_j) (p - c) + t_j,  c = (w/2, h/2),
//   theta_j = s u_rot,j degrees,  t_j = s min(w, h) / 256 (u_x,j, u_y,j),
//
// where r_j is moved segment j's circular-convolution kernel along y (motion.rs
// `segment_kernel`: the CPU's column projection Re ifft_y(P_j fft_y(.)) as a direct sum), and the
// units u, kernels r and per-channel fill values come from the CPU's own `motion_plan`, packed by
// src/backend/motion_pack.rs. Two passes per strength:
//   mri_motion_warp: e_j[c][y][x] for every moved segment j (f64 scratch, m c h w per image);
//   mri_motion_mix:  the sum over j, then y' ascending (f64), + x, finish.
// The warp is the same f64 operations in the same order as motion.rs `motion_sample`; only cos/sin
// of the angle differ on the device (CUDA f64 sincos, <= 2 ulp; the host build calls glibc, as
// Rust does). The CPU evaluates the projection with rustfft instead of the direct sum: equal to
// ~1e-12 before the f32 rounding, so CPU and kernel agree within 1e-5 (spec/gpu.md), mostly
// bit for bit. Cost per sample: one bilinear sample per moved segment, then m h multiply-adds.
#pragma once
#include "pointwise.cuh"

// Per-image table of u64 words (src/backend/motion_pack.rs `MOTION_META_WORDS` and slots).
#define MFR_MOTION_META_WORDS 5u
#define MFR_MOTION_SEG_OFF 0u      // first moved segment of the image (units: 3 doubles each)
#define MFR_MOTION_SEGS 1u         // m: number of moved segments
#define MFR_MOTION_KERNEL_OFF 2u   // first double of the image's kernels (h per segment)
#define MFR_MOTION_SCRATCH_OFF 3u  // first double of the image's e scratch (m c h w)
#define MFR_MOTION_FILL_OFF 4u     // first float of the image's fill values (c)
#define MFR_MOTION_THREADS 256u

#define MFR_MOTION_PI 3.141592653589793  // std::f64::consts::PI

// A moved segment's motion at strength s. Twin: motion.rs `motion_rigid` + `motion_cos_sin`.
struct MfrRigid {
    double cos, sin, tx, ty;
};

MFR_HD MfrRigid mfr_motion_rigid(const double* unit, float s, uint32_t w, uint32_t h) {
    const double sd = (double)s;
    const uint32_t mn = w < h ? w : h;
    const double px = sd * (double)mn / 256.0;
    const double a = (sd * unit[0]) * (MFR_MOTION_PI / 180.0);
    MfrRigid r;
#ifdef __CUDACC__
    sincos(a, &r.sin, &r.cos);
#else
    r.cos = cos(a);  // glibc, the functions Rust's f64::cos / f64::sin call
    r.sin = sin(a);
#endif
    r.tx = px * unit[1];
    r.ty = px * unit[2];
    return r;
}

// Sample (x, y) of the moved copy of `plane` (w x h, row-major). Twin: motion.rs `motion_sample`:
// bilinear at c + R (p - c) + t; within half a pixel of the image the edge pixel, beyond `fill`.
MFR_HD double mfr_motion_sample(const float* plane, uint32_t w, uint32_t h, float fill, MfrRigid r, uint32_t x,
                                uint32_t y) {
    const double cx = (double)w / 2.0, cy = (double)h / 2.0;
    const double dx = (double)x - cx, dy = (double)y - cy;
    const double xs = cx + (r.cos * dx - r.sin * dy) + r.tx;
    const double ys = cy + (r.sin * dx + r.cos * dy) + r.ty;
    if (!(xs >= -0.5 && xs < (double)w - 0.5 && ys >= -0.5 && ys < (double)h - 0.5)) return (double)fill;
    double fx = floor(xs), fy = floor(ys);
    fx = fx > 0.0 ? fx : 0.0;
    fy = fy > 0.0 ? fy : 0.0;
    double ax = xs - fx, ay = ys - fy;
    ax = ax > 0.0 ? ax : 0.0;
    ay = ay > 0.0 ? ay : 0.0;
    const uint32_t x0 = (uint32_t)fx, y0 = (uint32_t)fy;
    const uint32_t x1 = x0 + 1u < w ? x0 + 1u : w - 1u, y1 = y0 + 1u < h ? y0 + 1u : h - 1u;
    const double v00 = (double)plane[(uint64_t)y0 * w + x0], v10 = (double)plane[(uint64_t)y0 * w + x1];
    const double v01 = (double)plane[(uint64_t)y1 * w + x0], v11 = (double)plane[(uint64_t)y1 * w + x1];
    const double top = v00 + (v10 - v00) * ax;
    const double bot = v01 + (v11 - v01) * ax;
    return top + (bot - top) * ay;
}

// e_j at linear index i < m c h w of one image: i = ((j c + ch) h + y) w + x.
MFR_HD double mfr_motion_diff(const float* img, MfrImageDesc d, const double* units, const float* fill, float s,
                              uint64_t i) {
    const uint64_t plane_n = (uint64_t)d.width * d.height;
    const uint32_t x = (uint32_t)(i % d.width);
    const uint32_t y = (uint32_t)((i / d.width) % d.height);
    const uint64_t jc = i / plane_n;
    const uint32_t ch = (uint32_t)(jc % d.channels), j = (uint32_t)(jc / d.channels);
    const float* plane = img + (uint64_t)ch * plane_n;
    const MfrRigid r = mfr_motion_rigid(units + 3u * j, s, d.width, d.height);
    return mfr_motion_sample(plane, d.width, d.height, fill[ch], r, x, y) - (double)plane[(uint64_t)y * d.width + x];
}

// Output sample (ch, y, x) of one image: x + sum_j sum_y' r_j[(y - y') mod h] e_j[ch][y'][x]
// (j ascending, then y' ascending), then NaN -> 0 and clamp (`map_pixels`).
MFR_HD float mfr_motion_mix(float v, const double* kernels, const double* e, uint32_t m, uint32_t channels, uint32_t w,
                            uint32_t h, uint32_t ch, uint32_t y, uint32_t x) {
    double acc = 0.0;
    const uint64_t plane_n = (uint64_t)w * h;
    for (uint32_t j = 0; j < m; ++j) {
        const double* r = kernels + (uint64_t)j * h;
        const double* ej = e + ((uint64_t)j * channels + ch) * plane_n + x;
        for (uint32_t yp = 0; yp < h; ++yp) {
            const uint32_t dd = y >= yp ? y - yp : y + h - yp;
            acc = acc + r[dd] * ej[(uint64_t)yp * w];
        }
    }
    return mfr_finish(v + (float)acc);
}
