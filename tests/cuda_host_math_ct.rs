//! Host-math check of kernels/ct.cuh (host-compiled through kernels/host/shim_xray.cpp) against
//! the CPU CT perturbations ct_window_level, ct_photon_starvation, ct_beam_hardening and
//! ct_metal_streaks of
//! src/perturb/ct/: bit-identical over odd sizes, grey and RGB, several seeds and strengths. The
//! per-image parameter (window_level u) is rebuilt here from the same public building blocks as
//! the CPU `prepare`, the beam-hardening cup depth q = 1 - (r/R)^2 (0 outside R) from its closed form; the photon-starvation noise is the
//! kernel's own Philox draw (normal, stream 0, plane index).
//! ct_metal_streaks' field is the CPU's own `metal_streak_field` (the wrapper uploads the same).

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::perturb::common::body::{mean_plane, BodyGeometry};
    use medfm_robust::perturb::device::{family_ids, kernel_of, Family};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_ct_pixel(op: u32, v: f32, p: f32, field: f32, n: f32, s: f32) -> f32;
    }

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 4, 6);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let (x, y) = (
                (i % w) as f32 / w as f32 - 0.5,
                ((i / w) % h) as f32 / h as f32 - 0.5,
            );
            let body = if x * x + y * y < 0.16 { 0.6 } else { 0.0 };
            *v = (body + 0.2 * (rng.uniform(0, i as u32) - 0.5)).clamp(0.0, 1.0);
        }
        img
    }

    #[test]
    fn ct_kernels_match_cpu_bit_for_bit() {
        // the registry's CT family with its op selectors (ct_metal_streaks: its own test below)
        let ids = family_ids(Family::Ct);
        assert_eq!(ids.len(), 3, "the CT pointwise family: {ids:?}");
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
        ];
        for id in &ids {
            let op = kernel_of(id).unwrap().1.op.unwrap().value;
            let pert = by_id(id).unwrap();
            let (lo, hi) = pert.info().strength_range;
            for (k, &(w, h, c)) in shapes.iter().enumerate() {
                let img = test_image(w, h, c, k as u64);
                let n = w * h;
                for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
                    let ctx = Ctx::new(seed, 0x3000 + k as u32);
                    let rng = ctx.rng(id);
                    let u = rng.param_sign(1) * rng.param_range(0, 0.25, 0.5);
                    let mut noise = vec![0.0f32; n];
                    rng.fill_normal(0, &mut noise);
                    let geom = BodyGeometry::of(&mean_plane(&img.data, w, h, c), w, h);
                    // cup depth 1 - (r/R)^2 inside the outline, 0 outside (spec/perturbations.md)
                    let q: Vec<f32> = (0..n)
                        .map(|i| {
                            let dx = (i % w) as f64 - geom.cx;
                            let dy = (i / w) as f64 - geom.cy;
                            let qq = (dx * dx + dy * dy) / (geom.r_max * geom.r_max);
                            if qq <= 1.0 {
                                (1.0 - qq) as f32
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    if *id == "ct_beam_hardening" {
                        // the cup is deepest at the body centre and never negative
                        assert!(q.iter().all(|&v| (0.0..=1.0).contains(&v)));
                        assert!(q.iter().any(|&v| v > 0.9));
                    }
                    let prepared = pert.prepare(&img, &ctx).unwrap();
                    for f in [0.0f32, 0.013, 0.25, 0.6, 1.0] {
                        let s = lo + (hi - lo) * f;
                        let cpu = prepared.apply(s);
                        let mut gpu = img.clone();
                        if s > 0.0 {
                            for ch in 0..c {
                                for p in 0..n {
                                    let v = img.data[ch * n + p];
                                    // SAFETY: pure function of plain values.
                                    gpu.data[ch * n + p] =
                                        unsafe { mfr_host_ct_pixel(op, v, u, q[p], noise[p], s) };
                                }
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

    #[test]
    fn ct_metal_streaks_matches_cpu_bit_for_bit() {
        use medfm_robust::perturb::ct::metal_streak_field;
        const OP_METAL_STREAKS: u32 = 3; // kernels/ct.cuh MFR_CT_METAL_STREAKS
        let pert = by_id("ct_metal_streaks").unwrap();
        let (lo, hi) = pert.info().strength_range;
        let mut changed = 0;
        for (k, &(w, h, c)) in [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
            (120, 97, 1),
        ]
        .iter()
        .enumerate()
        {
            let img = test_image(w, h, c, k as u64);
            let n = w * h;
            for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001, 31337] {
                let ctx = Ctx::new(seed, 0x3100 + k as u32);
                let field = metal_streak_field(&img, &ctx);
                let prepared = pert.prepare(&img, &ctx).unwrap();
                for f in [0.0f32, 0.013, 0.25, 0.6, 1.0] {
                    let s = lo + (hi - lo) * f;
                    let cpu = prepared.apply(s);
                    let mut gpu = img.clone();
                    if s > 0.0 {
                        for ch in 0..c {
                            for (p, &fv) in field.iter().enumerate().take(n) {
                                // SAFETY: pure function of plain values.
                                gpu.data[ch * n + p] = unsafe {
                                    mfr_host_ct_pixel(
                                        OP_METAL_STREAKS,
                                        img.data[ch * n + p],
                                        0.0,
                                        fv,
                                        0.0,
                                        s,
                                    )
                                };
                            }
                        }
                    }
                    for (i, (a, b)) in cpu.data.iter().zip(&gpu.data).enumerate() {
                        assert_eq!(a.to_bits(), b.to_bits(), "ct_metal_streaks {w}x{h}x{c} seed {seed} s {s} sample {i}: cpu {a} kernel {b}");
                    }
                    changed += (cpu.data != img.data) as usize;
                }
            }
        }
        assert!(changed >= 5 * 4 * 3, "only {changed} perturbed outputs");
    }
}
