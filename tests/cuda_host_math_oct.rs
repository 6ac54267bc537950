//! kernels/oct.cuh (oct_shadow, oct_blink, oct_speckle, oct_motion, oct_defocus) compiled by the
//! HOST C++ compiler
//! (kernels/host/shim_oct.cpp) against the CPU perturbations of src/perturb/oct/, on machines
//! without a GPU. Host C++ and Rust use the same f32 operations with no FMA contraction, so the
//! outputs must be bit-identical (stricter than spec/gpu.md's 1e-5; the device build has the same
//! integer and f32 arithmetic, checked on a GPU by tests/cuda_parity_oct.rs).

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::perturb::common::objects::interval_coverage;
    use medfm_robust::perturb::oct::{
        blink_bands, motion_row_factors, shadow_columns, speckle_field,
    };
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_interval_coverage(x: f32, lo: f32, hi: f32) -> f32;
        fn mfr_host_oct_shadow(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            cols: *const f32,
            s: f32,
        );
        fn mfr_host_oct_blink(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            bands: *const f32,
            s: f32,
        );
        fn mfr_host_oct_speckle(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            noise: *const f32,
            s: f32,
        );
        fn mfr_host_oct_motion(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            rows: *const f32,
            s: f32,
        );
        fn mfr_host_oct_defocus(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            scratch: *mut f64,
            s: f32,
        ) -> i32;
    }

    /// kernels/oct.cuh `MFR_DISK_MAX_HALF`.
    const DISK_MAX_HALF: usize = 10;

    /// Deterministic textured image in [0, 1], with exact 0 and 1 samples.
    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 3, 4);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let u = rng.uniform(0, i as u32);
            *v = if u < 0.03 {
                0.0
            } else if u > 0.97 {
                1.0
            } else {
                u
            };
        }
        img
    }

    const SHAPES: [(usize, usize, usize); 5] = [
        (11, 11, 1),
        (17, 13, 3),
        (64, 48, 1),
        (97, 31, 3),
        (33, 65, 1),
    ];
    const STRENGTHS: [f32; 6] = [0.0, 0.013, 0.1, 0.27, 0.45, 0.6];

    fn flat(list: &[(f32, f32)]) -> Vec<f32> {
        list.iter().flat_map(|&(c, p)| [c, p]).collect()
    }

    #[test]
    fn interval_coverage_matches() {
        for i in 0..400 {
            let x = (i % 40) as f32;
            let lo = i as f32 * 0.0937 - 3.3;
            let hi = lo + (i % 7) as f32 * 0.61;
            // SAFETY: pure function of plain values.
            let got = unsafe { mfr_host_interval_coverage(x, lo, hi) };
            assert_eq!(
                got.to_bits(),
                interval_coverage(x, lo, hi).to_bits(),
                "x {x} lo {lo} hi {hi}"
            );
        }
    }

    fn check(id: &str) {
        let p = by_id(id).unwrap();
        let mut changed = 0;
        for (k, &(w, h, c)) in SHAPES.iter().enumerate() {
            for seed in [1u64, 7, 2024] {
                let img = test_image(w, h, c, seed + k as u64);
                let ctx = Ctx::new(seed, 1000 + k as u32);
                let list = flat(&if id == "oct_shadow" {
                    shadow_columns(w, &ctx)
                } else {
                    blink_bands(h, &ctx)
                });
                let prepared = p.prepare(&img, &ctx).unwrap();
                for s in STRENGTHS {
                    let want = prepared.apply(s);
                    let mut got = vec![0.0f32; img.data.len()];
                    let f = if id == "oct_shadow" {
                        mfr_host_oct_shadow
                    } else {
                        mfr_host_oct_blink
                    };
                    // SAFETY: `img.data` and `got` hold w*h*c samples, `list` 2K floats (K = 3 or 4
                    // as the kernel's constant, checked by the length assertion below).
                    assert_eq!(list.len(), if id == "oct_shadow" { 6 } else { 8 });
                    unsafe {
                        f(
                            img.data.as_ptr(),
                            got.as_mut_ptr(),
                            w as u32,
                            h as u32,
                            c as u32,
                            list.as_ptr(),
                            s,
                        )
                    };
                    for (i, (g, e)) in got.iter().zip(&want.data).enumerate() {
                        assert_eq!(
                            g.to_bits(),
                            e.to_bits(),
                            "{id} {w}x{h}x{c} seed {seed} s {s} sample {i}: {g} vs {e}"
                        );
                    }
                    changed += (want.data != img.data) as usize;
                }
            }
        }
        // the comparison is not vacuous: most strengths > 0 change the image
        assert!(
            changed >= SHAPES.len() * 3 * 4,
            "{id}: only {changed} perturbed outputs"
        );
    }

    #[test]
    fn oct_shadow_matches_cpu() {
        check("oct_shadow");
    }

    #[test]
    fn oct_blink_matches_cpu() {
        check("oct_blink");
    }

    /// Compare the shim's output for `id` with the CPU's over SHAPES x seeds x `strengths`;
    /// `run(img, ctx, s, out)` fills `out` with the shim's result.
    fn check_with(id: &str, strengths: &[f32], run: impl Fn(&Image, &Ctx, f32, &mut [f32])) {
        let p = by_id(id).unwrap();
        let mut changed = 0;
        for (k, &(w, h, c)) in SHAPES.iter().enumerate() {
            for seed in [1u64, 7, 2024] {
                let img = test_image(w, h, c, seed + k as u64);
                let ctx = Ctx::new(seed, 1000 + k as u32);
                let prepared = p.prepare(&img, &ctx).unwrap();
                for &s in strengths {
                    let want = prepared.apply(s);
                    let mut got = vec![0.0f32; img.data.len()];
                    run(&img, &ctx, s, &mut got);
                    for (i, (g, e)) in got.iter().zip(&want.data).enumerate() {
                        assert_eq!(
                            g.to_bits(),
                            e.to_bits(),
                            "{id} {w}x{h}x{c} seed {seed} s {s} sample {i}: {g} vs {e}"
                        );
                    }
                    changed += (want.data != img.data) as usize;
                }
            }
        }
        let nonzero = strengths.iter().filter(|&&s| s > 0.0).count();
        assert!(
            changed >= SHAPES.len() * 3 * (nonzero - 1),
            "{id}: only {changed} perturbed outputs"
        );
    }

    #[test]
    fn oct_speckle_matches_cpu() {
        check_with(
            "oct_speckle",
            &[0.0, 0.01, 0.2, 0.7, 1.1, 1.5],
            |img, ctx, s, out| {
                let noise = speckle_field(img.plane_len(), ctx);
                // SAFETY: in/out hold w*h*c samples, `noise` w*h.
                unsafe {
                    mfr_host_oct_speckle(
                        img.data.as_ptr(),
                        out.as_mut_ptr(),
                        img.width as u32,
                        img.height as u32,
                        img.channels as u32,
                        noise.as_ptr(),
                        s,
                    )
                };
            },
        );
    }

    #[test]
    fn oct_motion_matches_cpu() {
        check_with(
            "oct_motion",
            &[0.0, 0.003, 0.05, 0.11, 0.2, 0.25],
            |img, ctx, s, out| {
                let rows = motion_row_factors(img.height, ctx);
                // SAFETY: in/out hold w*h*c samples, `rows` h.
                unsafe {
                    mfr_host_oct_motion(
                        img.data.as_ptr(),
                        out.as_mut_ptr(),
                        img.width as u32,
                        img.height as u32,
                        img.channels as u32,
                        rows.as_ptr(),
                        s,
                    )
                };
            },
        );
    }

    #[test]
    fn oct_defocus_matches_cpu() {
        check_with(
            "oct_defocus",
            &[0.0, 0.5, 0.51, 1.0, 1.7, 3.2, 6.49, 10.0],
            |img, _ctx, s, out| {
                let (w, h, c) = (img.width, img.height, img.channels);
                let mut scratch = vec![0.0f64; c * h * (w + 2 * DISK_MAX_HALF + 1)];
                // SAFETY: in/out hold w*h*c samples, `scratch` c*h*(w + 2*MAX_HALF + 1) doubles.
                let rc = unsafe {
                    mfr_host_oct_defocus(
                        img.data.as_ptr(),
                        out.as_mut_ptr(),
                        w as u32,
                        h as u32,
                        c as u32,
                        scratch.as_mut_ptr(),
                        s,
                    )
                };
                assert_eq!(rc, 0, "radius {s} within the supported half-size");
            },
        );
    }
}
