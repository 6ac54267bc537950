//! Host-math check of kernels/us.cuh (host-compiled through kernels/host/shim_us.cpp) against
//! the CPU us_acoustic_shadow of src/perturb/us/acoustic_shadow.rs: bit-identical over odd sizes,
//! grey and RGB, several seeds and strengths. The cone planes and the parameter record are
//! rebuilt here exactly as src/backend/cuda/us.rs `shadow_prepare` builds them (a transcription of
//! the CPU prepare), so a transcription error shows up as a mismatch. us_reverberation has no
//! kernel yet.

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_us_acoustic_shadow(v: f32, r: f32, t: f32, p: *const f32, s: f32) -> f32;
        fn mfr_host_us_reverberation(
            v: f32,
            r: f32,
            t: f32,
            inside: f32,
            n: f32,
            p: *const f32,
            s: f32,
        ) -> f32;
    }

    /// The packing the CUDA wrapper uploads (src/backend/cuda/us.rs `shadow_prepare` is this).
    use medfm_robust::backend::packing::us_shadow as shadow_prepare;

    /// A sector-shaped speckled "ultrasound" image (apex at the top centre).
    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 8, 3);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let (x, y) = (
                (i % w) as f32 + 0.5 - w as f32 / 2.0,
                ((i / w) % h) as f32 + 0.5,
            );
            let inside = x.abs() < 0.7 * y;
            *v = if inside {
                (0.3 + 0.5 * rng.uniform(0, i as u32)).clamp(0.0, 1.0)
            } else {
                0.0
            };
        }
        img
    }

    #[test]
    fn acoustic_shadow_matches_cpu_bit_for_bit() {
        let pert = by_id("us_acoustic_shadow").unwrap();
        let (lo, hi) = pert.info().strength_range;
        for (k, &(w, h, c)) in [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 33, 1),
            (40, 41, 3),
            (5, 3, 1),
        ]
        .iter()
        .enumerate()
        {
            let img = test_image(w, h, c, k as u64);
            let n = w * h;
            for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
                let ctx = Ctx::new(seed, 0x7000 + k as u32);
                let (field, p) = shadow_prepare(&img, &ctx);
                let prepared = pert.prepare(&img, &ctx).unwrap();
                for f in [0.0f32, 0.013, 0.25, 0.4, 0.6, 1.0] {
                    let s = lo + (hi - lo) * f;
                    let cpu = prepared.apply(s);
                    let mut gpu = img.clone();
                    if s > 0.0 {
                        for ch in 0..c {
                            for q in 0..n {
                                // SAFETY: pure function; p has 20 floats.
                                gpu.data[ch * n + q] = unsafe {
                                    mfr_host_us_acoustic_shadow(
                                        img.data[ch * n + q],
                                        field[q],
                                        field[n + q],
                                        p.as_ptr(),
                                        s,
                                    )
                                };
                            }
                        }
                    }
                    for (i, (a, b)) in cpu.data.iter().zip(&gpu.data).enumerate() {
                        assert_eq!(a.to_bits(), b.to_bits(), "us_acoustic_shadow {w}x{h}x{c} seed {seed} s {s} sample {i}: cpu {a} kernel {b}");
                    }
                }
            }
        }
    }

    /// us_reverberation: the CPU's own `reverberation_fields`, packed by backend::packing as the
    /// launch wrapper packs them, through the host build of `mfr_us_reverberation`.
    #[test]
    fn reverberation_matches_cpu_bit_for_bit() {
        use medfm_robust::backend::packing::{us_reverb_planes, us_reverb_record};
        use medfm_robust::perturb::us::reverberation_fields;
        let pert = by_id("us_reverberation").unwrap();
        let mut changed = 0;
        for (k, &(w, h, c)) in [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 33, 1),
            (40, 41, 3),
            (5, 3, 1),
            (90, 70, 1),
        ]
        .iter()
        .enumerate()
        {
            let img = test_image(w, h, c, k as u64);
            let n = w * h;
            for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
                let ctx = Ctx::new(seed, 0x7100 + k as u32);
                let f = reverberation_fields(&img, &ctx);
                let p = us_reverb_record(&f).unwrap();
                let planes = us_reverb_planes(&f);
                let prepared = pert.prepare(&img, &ctx).unwrap();
                for s in [0.0f32, 0.013, 0.4, 1.0, 1.7, 3.0] {
                    let cpu = prepared.apply(s);
                    let mut gpu = img.clone();
                    for ch in 0..c {
                        for q in 0..n {
                            // SAFETY: pure function; p has US_REVERB_PARAMS floats.
                            gpu.data[ch * n + q] = unsafe {
                                mfr_host_us_reverberation(
                                    img.data[ch * n + q],
                                    planes[q],
                                    planes[n + q],
                                    planes[2 * n + q],
                                    planes[3 * n + q],
                                    p.as_ptr(),
                                    s,
                                )
                            };
                        }
                    }
                    for (i, (a, b)) in cpu.data.iter().zip(&gpu.data).enumerate() {
                        assert_eq!(a.to_bits(), b.to_bits(), "us_reverberation {w}x{h}x{c} seed {seed} s {s} sample {i}: cpu {a} kernel {b}");
                    }
                    changed += (cpu.data != img.data) as usize;
                }
            }
        }
        assert!(changed >= 6 * 3 * 3, "only {changed} perturbed outputs");
    }
}
