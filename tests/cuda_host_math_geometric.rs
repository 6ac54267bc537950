//! Host-math check of kernels/geometric.cuh (host-compiled through
//! kernels/host/shim_geometric.cpp) against the CPU warps rotation, scaling and translation of
//! src/perturb/base/geometric.rs: bit-identical over odd sizes, grey and RGB, several seeds and
//! strengths. The kernel receives the inverse map built by the same public `Affine` constructors
//! (src/perturb/common/warp.rs) as the CPU `prepare`, with the same per-image random draws.

#[cfg(not(medfm_host_math))]
#[test]
fn host_math_shim_not_built() {
    eprintln!("SKIPPED: the host-math shim was not built (no C++ compiler found by build.rs)");
}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::perturb::common::warp::Affine;
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_warp_plane(input: *const f32, out: *mut f32, w: u32, h: u32, m: *const f64, border: u32);
    }

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 7, 8);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let (x, y) = ((i % w) as f32, ((i / w) % h) as f32);
            *v = (0.5 + 0.4 * (x * 0.21).sin() * (y * 0.17).cos() + 0.1 * (rng.uniform(0, i as u32) - 0.5)).clamp(0.0, 1.0);
        }
        img
    }

    /// (inverse map, border: 0 reflect / 1 zero) of `id` at strength s: twin of the CPU prepare.
    fn map_of(id: &str, img: &Image, ctx: &Ctx, s: f32) -> (Affine, u32) {
        let (w, h) = (img.width, img.height);
        let rng = ctx.rng(id);
        match id {
            "rotation" => (Affine::rotation(w, h, rng.param_sign(0) as f64 * s as f64), 0),
            "scaling" => (Affine::zoom(w, h, (1.0 - s as f64).max(0.01)), 1),
            _ => {
                let phi = rng.param(0) as f64 * std::f64::consts::TAU;
                let (uy, ux) = phi.sin_cos();
                let d = s as f64 * w.min(h) as f64;
                (Affine::translation(d * ux, d * uy), 0)
            }
        }
    }

    #[test]
    fn warps_match_cpu_bit_for_bit() {
        let shapes = [(13usize, 11usize, 1usize), (31, 17, 3), (64, 9, 1), (40, 41, 3)];
        for id in ["rotation", "scaling", "translation"] {
            let pert = by_id(id).unwrap();
            let (lo, hi) = pert.info().strength_range;
            for (k, &(w, h, c)) in shapes.iter().enumerate() {
                let img = test_image(w, h, c, k as u64);
                for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
                    let ctx = Ctx::new(seed, 0x4000 + k as u32);
                    let prepared = pert.prepare(&img, &ctx).unwrap();
                    for f in [0.0f32, 0.013, 0.25, 0.6, 1.0] {
                        let s = lo + (hi - lo) * f;
                        let cpu = prepared.apply(s);
                        let mut gpu = img.clone();
                        if s > 0.0 {
                            let (m, border) = map_of(id, &img, &ctx, s);
                            for ch in 0..c {
                                let n = w * h;
                                // SAFETY: input/output planes of w * h floats, 6 map entries.
                                unsafe {
                                    mfr_host_warp_plane(img.data[ch * n..].as_ptr(), gpu.data[ch * n..].as_mut_ptr(), w as u32, h as u32, m.m.as_ptr(), border)
                                };
                            }
                        }
                        for (i, (a, b)) in cpu.data.iter().zip(&gpu.data).enumerate() {
                            assert_eq!(a.to_bits(), b.to_bits(), "{id} {w}x{h}x{c} seed {seed} s {s} sample {i}: cpu {a} kernel {b}");
                        }
                    }
                }
            }
        }
    }
}
