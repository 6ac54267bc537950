//! Host-math check of kernels/mri.cuh (host-compiled through kernels/host/shim_mri.cpp) against
//! the CPU mri_bias_field of src/perturb/mri/bias_field.rs: bit-identical over odd sizes, grey and
//! RGB, several seeds and strengths. The log field the kernel receives is the CPU's own
//! `unit_log_field`, as src/backend/cuda/mri.rs uploads it. mri_ghosting: the kernel loop over the CPU's own
//! `ghost_field`, bit-identical to the CPU apply. mri_motion: the batch through kernels/mri_motion.cu's
//! two kernels themselves, run by the host CUDA emulation (kernels/host/cuda_emu.h) with the
//! packing and grids the wrapper uploads and launches, against the CPU apply (rustfft): within 1e-5
//! (spec/gpu.md).

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
#[path = "host_math_ffi/mri_motion.rs"]
mod mri_motion_ffi;

#[cfg(medfm_host_math)]
mod host {
    use super::mri_motion_ffi;
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
            *v = (0.5
                + 0.4 * (x * 0.13).sin() * (y * 0.09).cos()
                + 0.1 * (rng.uniform(0, i as u32) - 0.5))
                .clamp(0.0, 1.0);
        }
        img
    }

    #[test]
    fn bias_field_matches_cpu_bit_for_bit() {
        let pert = by_id("mri_bias_field").unwrap();
        let (lo, hi) = pert.info().strength_range;
        for (k, &(w, h, c)) in [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
            (1, 7, 1),
        ]
        .iter()
        .enumerate()
        {
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
                            for (p, &l) in lf.iter().enumerate().take(n) {
                                // SAFETY: pure function of plain values.
                                gpu.data[ch * n + p] =
                                    unsafe { mfr_host_mri_bias_field(img.data[ch * n + p], l, s) };
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
        for (k, &(w, h, c)) in [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
            (16, 16, 1),
        ]
        .iter()
        .enumerate()
        {
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
                    unsafe {
                        mfr_host_mri_ghosting(
                            img.data.as_ptr(),
                            g.as_ptr(),
                            gpu.as_mut_ptr(),
                            gpu.len() as u64,
                            s,
                        )
                    };
                    for (i, (a, b)) in gpu.iter().zip(&cpu.data).enumerate() {
                        assert_eq!(
                            a.to_bits(),
                            b.to_bits(),
                            "{w}x{h}x{c} seed {seed} s {s} sample {i}: kernel {a} cpu {b}"
                        );
                    }
                }
            }
        }
    }

    /// The packing's table width and block size are the kernel's.
    #[test]
    fn motion_constants_match_the_kernel() {
        use medfm_robust::backend::motion_pack::{MOTION_META_WORDS, MOTION_THREADS};
        extern "C" {
            fn mfr_host_motion_constants(out: *mut u64);
        }
        let mut c = [0u64; 2];
        // SAFETY: writes 2 values.
        unsafe { mfr_host_motion_constants(c.as_mut_ptr()) };
        assert_eq!(c, [MOTION_META_WORDS as u64, MOTION_THREADS as u64]);
    }

    /// mri_motion: one mixed-size batch (odd sizes, grey and RGB, a 1-px-wide and a 1-px-high
    /// image, several blocks per image) through the host CUDA emulation of both kernels (their
    /// own source, the wrapper's grids and packing), per-image strengths across the range, three
    /// seeds, against the CPU `apply`. The CPU projects with rustfft, the kernel with a direct
    /// circular convolution: both exact to ~1e-12 before the f32 rounding, so |d| <= 1e-5 is
    /// asserted and the worst difference printed; s = 0 must be the input bit for bit.
    #[test]
    fn motion_matches_cpu_within_tolerance() {
        use medfm_robust::backend::motion_pack::PackedMotion;
        use medfm_robust::backend::params::ImageDesc;
        use medfm_robust::perturb::mri::motion_plan;
        let pert = by_id("mri_motion").unwrap();
        let (lo, hi) = pert.info().strength_range;
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (40, 41, 3),
            (64, 9, 1),
            (1, 7, 1),
            (7, 1, 1),
            (8, 8, 3),
            (33, 20, 1),
            (97, 70, 3),
            (2, 4, 1),
            (64, 32, 3),
        ];
        let imgs: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 40 + k as u64))
            .collect();
        let mut descs = Vec::new();
        let mut input = Vec::new();
        for (k, img) in imgs.iter().enumerate() {
            descs.push(ImageDesc {
                offset: input.len() as u64,
                width: img.width as u32,
                height: img.height as u32,
                channels: img.channels as u32,
                image_id: 0x7000 + k as u32,
            });
            input.extend_from_slice(&img.data);
        }
        let dims: Vec<_> = imgs
            .iter()
            .map(|im| (im.width, im.height, im.channels))
            .collect();
        let (mut worst, mut differ, mut total, mut moved) = (0.0f32, 0usize, 0usize, 0.0f32);
        for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
            let ctxs: Vec<Ctx> = descs.iter().map(|d| Ctx::new(seed, d.image_id)).collect();
            let plans: Vec<_> = imgs
                .iter()
                .zip(&ctxs)
                .map(|(im, c)| motion_plan(im, c))
                .collect();
            let p = PackedMotion::new(&dims, &plans).unwrap();
            let prepared: Vec<_> = imgs
                .iter()
                .zip(&ctxs)
                .map(|(im, c)| pert.prepare(im, c).unwrap())
                .collect();
            for f in [0.0f32, 0.013, 0.1, 0.25, 0.45, 0.6, 0.8, 1.0] {
                let strengths: Vec<f32> = (0..imgs.len())
                    .map(|k| lo + (hi - lo) * f * (1.0 - 0.04 * k as f32))
                    .collect();
                let out = mri_motion_ffi::run(&p, &input, &descs, &strengths);
                for (k, img) in imgs.iter().enumerate() {
                    let cpu = prepared[k].apply(strengths[k]);
                    let o = descs[k].offset as usize;
                    let got = &out[o..o + img.data.len()];
                    for (i, (a, b)) in got.iter().zip(&cpu.data).enumerate() {
                        let d = (a - b).abs();
                        assert!(
                            d <= 1e-5,
                            "mri_motion {} seed {seed} s {}: sample {i}: kernel {a} cpu {b}",
                            img.shape_str(),
                            strengths[k]
                        );
                        if strengths[k] <= 0.0 {
                            assert_eq!(
                                a.to_bits(),
                                b.to_bits(),
                                "mri_motion s = 0 must return the input"
                            );
                        }
                        worst = worst.max(d);
                        differ += (a.to_bits() != b.to_bits()) as usize;
                        moved = moved.max((b - img.data[i]).abs());
                    }
                    total += got.len();
                }
            }
        }
        eprintln!(
            "mri_motion host math vs CPU: worst |d| = {worst:e}, {differ} of {total} samples not bit-identical"
        );
        // the comparison is not vacuous: the perturbation moved some sample a lot
        assert!(
            moved > 0.1,
            "mri_motion barely changed the images (max change {moved})"
        );
    }
}
