//! Host-math check of kernels/mri.cuh (host-compiled through kernels/host/shim_mri.cpp) against
//! the CPU mri_bias_field of src/perturb/mri/bias_field.rs: bit-identical over odd sizes, grey and
//! RGB, several seeds and strengths. The log field the kernel receives is the CPU's own
//! `unit_log_field`, as src/backend/cuda/mri.rs uploads it. mri_ghosting: the kernel loop over the CPU's own
//! `ghost_field`, bit-identical to the CPU apply. mri_motion has no kernel yet.

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
        fn mfr_host_mri_bias_field(v: f32, l: f32, s: f32) -> f32;
        fn mfr_host_mri_ghosting(input: *const f32, g: *const f32, out: *mut f32, n: u64, s: f32);
    }

    /// The field the CUDA wrapper uploads (src/backend/cuda/mri.rs `log_field` is this function).
    use medfm_robust::perturb::mri::unit_log_field as log_field;

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 5, 9);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let (x, y) = ((i % w) as f32, ((i / w) % h) as f32);
            *v = (0.5 + 0.4 * (x * 0.13).sin() * (y * 0.09).cos() + 0.1 * (rng.uniform(0, i as u32) - 0.5)).clamp(0.0, 1.0);
        }
        img
    }

    #[test]
    fn bias_field_matches_cpu_bit_for_bit() {
        let pert = by_id("mri_bias_field").unwrap();
        let (lo, hi) = pert.info().strength_range;
        for (k, &(w, h, c)) in [(13usize, 11usize, 1usize), (31, 17, 3), (64, 9, 1), (40, 41, 3), (1, 7, 1)].iter().enumerate() {
            let img = test_image(w, h, c, k as u64);
            let n = w * h;
            for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
                let ctx = Ctx::new(seed, 0x5000 + k as u32);
                let lf = log_field(w, h, &ctx);
                let prepared = pert.prepare(&img, &ctx).unwrap();
                for f in [0.0f32, 0.013, 0.25, 0.6, 1.0] {
                    let s = lo + (hi - lo) * f;
                    let cpu = prepared.apply(s);
                    let mut gpu = img.clone();
                    if s > 0.0 {
                        for ch in 0..c {
                            for p in 0..n {
                                // SAFETY: pure function of plain values.
                                gpu.data[ch * n + p] = unsafe { mfr_host_mri_bias_field(img.data[ch * n + p], lf[p], s) };
                            }
                        }
                    }
                    for (i, (a, b)) in cpu.data.iter().zip(&gpu.data).enumerate() {
                        assert_eq!(a.to_bits(), b.to_bits(), "mri_bias_field {w}x{h}x{c} seed {seed} s {s} sample {i}: cpu {a} kernel {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn ghosting_matches_cpu_bit_for_bit() {
        use medfm_robust::perturb::mri::ghost_field;
        let pert = by_id("mri_ghosting").unwrap();
        let (lo, hi) = pert.info().strength_range;
        for (k, &(w, h, c)) in [(13usize, 11usize, 1usize), (31, 17, 3), (64, 9, 1), (40, 41, 3), (16, 16, 1)].iter().enumerate() {
            let img = test_image(w, h, c, 20 + k as u64);
            for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
                let ctx = Ctx::new(seed, 0x6000 + k as u32);
                let g = ghost_field(&img, &ctx);
                assert_eq!(g.len(), img.data.len());
                let prepared = pert.prepare(&img, &ctx).unwrap();
                for f in [0.0f32, 0.013, 0.25, 0.6, 1.0] {
                    let s = lo + (hi - lo) * f;
                    let cpu = prepared.apply(s);
                    let mut gpu = vec![0.0f32; img.data.len()];
                    // SAFETY: in, g and out hold img.data.len() values each.
                    unsafe { mfr_host_mri_ghosting(img.data.as_ptr(), g.as_ptr(), gpu.as_mut_ptr(), gpu.len() as u64, s) };
                    for (i, (a, b)) in gpu.iter().zip(&cpu.data).enumerate() {
                        assert_eq!(a.to_bits(), b.to_bits(), "{w}x{h}x{c} seed {seed} s {s} sample {i}: kernel {a} cpu {b}");
                    }
                }
            }
        }
    }
}
