//! kernels/dermoscopy.cuh (derm_vignette, derm_light_reflection, derm_hair) compiled by the HOST C++ compiler
//! (kernels/host/shim_dermoscopy.cpp) against the CPU perturbation of src/perturb/dermoscopy/, on
//! machines without a GPU: same f32 operations, no FMA, so outputs must be bit-identical
//! (stricter than spec/gpu.md's 1e-5; checked on a GPU by tests/cuda_parity_dermoscopy.rs).
//! The glare plane and the hair list come from the CPU's own `glare_field` / `hair_list`, packed
//! by `backend::packing::PackedHairs` as the launch wrapper packs them.

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::backend::packing::PackedHairs;
    use medfm_robust::perturb::dermoscopy::{glare_field, hair_list};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_derm_vignette(input: *const f32, out: *mut f32, w: u32, h: u32, c: u32, s: f32);
        fn mfr_host_derm_light_reflection(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            glare: *const f32,
            s: f32,
        );
        fn mfr_host_derm_hair(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            hairs: *const u32,
            n: u32,
            alpha: *const f32,
            colour: *const f32,
            s: f32,
        );
    }

    const SHAPES: [(usize, usize, usize); 6] = [
        (11, 11, 3),
        (17, 13, 1),
        (64, 48, 3),
        (97, 31, 3),
        (33, 65, 1),
        (300, 270, 3),
    ];

    /// Compare the shim's output for `id` with the CPU's over SHAPES x seeds x `strengths`.
    fn check_with(id: &str, strengths: &[f32], run: impl Fn(&Image, &Ctx, f32, &mut [f32])) {
        let p = by_id(id).unwrap();
        let mut changed = 0;
        for (k, &(w, h, c)) in SHAPES.iter().enumerate() {
            for seed in [2u64, 11, 4096] {
                let img = test_image(w, h, c, seed + k as u64);
                let ctx = Ctx::new(seed, 40 + k as u32);
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
    fn derm_light_reflection_matches_cpu() {
        check_with(
            "derm_light_reflection",
            &[0.0, 0.02, 0.7, 2.5, 6.0, 12.0],
            |img, ctx, s, out| {
                let glare = glare_field(img.width, img.height, ctx);
                // SAFETY: in/out hold w*h*c samples, `glare` w*h.
                unsafe {
                    mfr_host_derm_light_reflection(
                        img.data.as_ptr(),
                        out.as_mut_ptr(),
                        img.width as u32,
                        img.height as u32,
                        img.channels as u32,
                        glare.as_ptr(),
                        s,
                    )
                };
            },
        );
    }

    #[test]
    fn derm_hair_matches_cpu() {
        check_with(
            "derm_hair",
            &[0.0, 0.01, 0.1, 0.333, 0.71, 1.0, 1.4],
            |img, ctx, s, out| {
                let (hairs, colour) = hair_list(img, ctx);
                let mut packed = PackedHairs::default();
                packed.push(&hairs, &colour).unwrap();
                assert_eq!(packed.ranges, vec![0, hairs.len() as u32]);
                // SAFETY: in/out hold w*h*c samples; `records` holds ranges[1] records of 8 words whose
                // sprite boxes lie inside the image and whose alpha offsets index `alpha`; colour 3.
                unsafe {
                    mfr_host_derm_hair(
                        img.data.as_ptr(),
                        out.as_mut_ptr(),
                        img.width as u32,
                        img.height as u32,
                        img.channels as u32,
                        packed.records.as_ptr(),
                        packed.ranges[1],
                        packed.alpha.as_ptr(),
                        packed.colour.as_ptr(),
                        s,
                    )
                };
            },
        );
    }

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 5, 6);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let u = rng.uniform(0, i as u32);
            *v = if u > 0.97 { 1.0 } else { u };
        }
        img
    }

    #[test]
    fn derm_vignette_matches_cpu() {
        let p = by_id("derm_vignette").unwrap();
        let mut changed = 0;
        for (k, &(w, h, c)) in [
            (11usize, 11usize, 3usize),
            (17, 13, 1),
            (64, 48, 3),
            (97, 31, 3),
            (33, 65, 1),
            (1, 7, 1),
        ]
        .iter()
        .enumerate()
        {
            let img = test_image(w, h, c, k as u64);
            let prepared = p.prepare(&img, &Ctx::new(3, k as u32)).unwrap();
            for s in [0.0f32, 0.05, 0.5, 1.0, 1.75, 2.0, 3.3, 4.0] {
                let want = prepared.apply(s);
                let mut got = vec![0.0f32; img.data.len()];
                // SAFETY: both buffers hold w*h*c samples; the function is pure.
                unsafe {
                    mfr_host_derm_vignette(
                        img.data.as_ptr(),
                        got.as_mut_ptr(),
                        w as u32,
                        h as u32,
                        c as u32,
                        s,
                    )
                };
                for (i, (g, e)) in got.iter().zip(&want.data).enumerate() {
                    assert_eq!(
                        g.to_bits(),
                        e.to_bits(),
                        "{w}x{h}x{c} s {s} sample {i}: {g} vs {e}"
                    );
                }
                changed += (want.data != img.data) as usize;
            }
        }
        assert!(changed >= 6 * 6, "only {changed} perturbed outputs");
    }
}
