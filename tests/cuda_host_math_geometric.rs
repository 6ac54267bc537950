//! Host-math check of kernels/geometric.cuh (host-compiled through
//! kernels/host/shim_geometric.cpp) against the CPU warps rotation, scaling and translation of
//! src/perturb/base/geometric.rs: bit-identical over odd sizes, grey and RGB, several seeds and
//! strengths, with the inverse map built as the device builds it (`mfr_warp_map` from the CPU's
//! own per-image draws `warp_draws`); and that map against the CPU's `Affine` constructors
//! (src/perturb/common/warp.rs) over the whole strength range. On the host both call the same
//! libm sin/cos; on the device rotation's sin/cos may differ in the last place (docs/gpu.md).

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::perturb::base::warp_draws;
    use medfm_robust::perturb::common::warp::Affine;
    use medfm_robust::perturb::device::{family_ids, kernel_of, Family};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_warp_plane(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            m: *const f64,
            border: u32,
        );
        fn mfr_host_warp_map(kind: u32, w: u32, h: u32, s: f32, p0: f64, p1: f64, m: *mut f64);
    }

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 7, 8);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let (x, y) = ((i % w) as f32, ((i / w) % h) as f32);
            *v = (0.5
                + 0.4 * (x * 0.21).sin() * (y * 0.17).cos()
                + 0.1 * (rng.uniform(0, i as u32) - 0.5))
                .clamp(0.0, 1.0);
        }
        img
    }

    /// (inverse map, border: 0 reflect / 1 zero) of `id` at strength s as the device builds it
    /// (geometric.cuh `mfr_warp_map` from the CPU's own `warp_draws`, as
    /// src/backend/cuda/geometric.rs uploads them).
    fn map_of(id: &str, img: &Image, ctx: &Ctx, s: f32) -> ([f64; 6], u32) {
        // the registry entry's op selector (kernels/geometric.cuh MFR_WARP_*)
        let kind = kernel_of(id).unwrap().1.op.unwrap().value;
        let [p0, p1] = warp_draws(id, ctx);
        let mut m = [f64::NAN; 6];
        // SAFETY: pure function of plain values writing 6 doubles.
        unsafe {
            mfr_host_warp_map(
                kind,
                img.width as u32,
                img.height as u32,
                s,
                p0,
                p1,
                m.as_mut_ptr(),
            )
        };
        (m, (id == "scaling") as u32)
    }

    #[test]
    fn device_maps_match_affine_constructors_bit_for_bit() {
        for (w, h) in [(13usize, 11usize), (64, 9), (512, 384), (1, 7)] {
            let img = Image::new(w, h, 1);
            for seed in [0u64, 9, 31337] {
                let ctx = Ctx::new(seed, 0x4100);
                for id in family_ids(Family::Warp) {
                    let (lo, hi) = by_id(id).unwrap().info().strength_range;
                    let [p0, p1] = warp_draws(id, &ctx);
                    for i in 1..=500 {
                        let s = lo + (hi - lo) * i as f32 / 500.0;
                        let want = match id {
                            "rotation" => Affine::rotation(w, h, p0 * s as f64),
                            "scaling" => Affine::zoom(w, h, (1.0 - s as f64).max(0.01)),
                            _ => {
                                let d = s as f64 * w.min(h) as f64;
                                Affine::translation(d * p0, d * p1)
                            }
                        };
                        let (got, _) = map_of(id, &img, &ctx, s);
                        let same = got
                            .iter()
                            .zip(&want.m)
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(
                            same,
                            "{id} {w}x{h} seed {seed} s {s}: {got:?} vs {:?}",
                            want.m
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn warps_match_cpu_bit_for_bit() {
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
        ];
        for id in family_ids(Family::Warp) {
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
                                    mfr_host_warp_plane(
                                        img.data[ch * n..].as_ptr(),
                                        gpu.data[ch * n..].as_mut_ptr(),
                                        w as u32,
                                        h as u32,
                                        m.as_ptr(),
                                        border,
                                    )
                                };
                            }
                        }
                        for (i, (a, b)) in cpu.data.iter().zip(&gpu.data).enumerate() {
                            assert_eq!(
                                a.to_bits(),
                                b.to_bits(),
                                "{id} {w}x{h}x{c} seed {seed} s {s} sample {i}: cpu {a} kernel {b}"
                            );
                        }
                    }
                }
            }
        }
    }
}
