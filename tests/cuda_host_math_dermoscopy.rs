//! kernels/dermoscopy.cuh (derm_vignette) compiled by the HOST C++ compiler
//! (kernels/host/shim_dermoscopy.cpp) against the CPU perturbation of src/perturb/dermoscopy/, on
//! machines without a GPU: same f32 operations, no FMA, so outputs must be bit-identical
//! (stricter than spec/gpu.md's 1e-5; checked on a GPU by tests/cuda_parity_dermoscopy.rs).

#[cfg(not(medfm_host_math))]
#[test]
fn host_math_shim_not_built() {
    eprintln!("SKIPPED: the host-math shim was not built (no C++ compiler found by build.rs)");
}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_derm_vignette(input: *const f32, out: *mut f32, w: u32, h: u32, c: u32, s: f32);
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
        for (k, &(w, h, c)) in [(11usize, 11usize, 3usize), (17, 13, 1), (64, 48, 3), (97, 31, 3), (33, 65, 1), (1, 7, 1)].iter().enumerate() {
            let img = test_image(w, h, c, k as u64);
            let prepared = p.prepare(&img, &Ctx::new(3, k as u32)).unwrap();
            for s in [0.0f32, 0.05, 0.5, 1.0, 1.75, 2.0, 3.3, 4.0] {
                let want = prepared.apply(s);
                let mut got = vec![0.0f32; img.data.len()];
                // SAFETY: both buffers hold w*h*c samples; the function is pure.
                unsafe { mfr_host_derm_vignette(img.data.as_ptr(), got.as_mut_ptr(), w as u32, h as u32, c as u32, s) };
                for (i, (g, e)) in got.iter().zip(&want.data).enumerate() {
                    assert_eq!(g.to_bits(), e.to_bits(), "{w}x{h}x{c} s {s} sample {i}: {g} vs {e}");
                }
                changed += (want.data != img.data) as usize;
            }
        }
        assert!(changed >= 6 * 6, "only {changed} perturbed outputs");
    }
}
