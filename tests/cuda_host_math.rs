//! The CUDA kernels' per-pixel math, compiled by the HOST C++ compiler (kernels/host/shim.cpp,
//! built by build.rs), checked against the Rust CPU implementation, on machines without a GPU or
//! CUDA toolkit (spec/gpu.md, "Per-pixel math lives in small __host__ __device__ functions").
//!
//! Bit-level checks (Philox, uniform conversion, Box-Muller, index maths, clipping, and the base
//! noise/intensity kernels' per-pixel loops against the CPU perturbations of src/perturb/base/):
//! host C++ and Rust use the same libm and no FMA contraction, so any difference is a
//! transcription error. On the device the integer parts are identical too; the
//! f64 transcendental functions may differ by an ulp (tolerances in spec/gpu.md, checked by
//! tests/cuda_parity.rs on a GPU).
//!
//! The SSIM kernel's algorithm (valid-map tiling, five moments, separable window, formula) is
//! emulated on the host with the kernel's per-pixel arithmetic and checked against the known
//! scikit-image values of spec/ssim-calibration.md.
//!
//! Without a C++ compiler build.rs cannot build the shim; these tests are then reported
//! as ignored, with that reason (the cfg `medfm_host_math` is unset).

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
#[path = "host_math_ffi/ssim.rs"]
mod ssim_ffi;

#[cfg(medfm_host_math)]
mod host {
    use super::ssim_ffi;
    use medfm_robust::backend::params::{ImageDesc, RngKey, SsimParams};
    use medfm_robust::perturb::common::filter::reflect_index;
    use medfm_robust::perturb::device::{family_ids, Family};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::{box_muller, fnv1a32, philox4x32_10, unit_f32, Rng};
    use medfm_robust::ssim::SsimVariant;
    use medfm_robust::Image;
    use std::mem::{align_of, offset_of, size_of};

    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Moments {
        mx: f64,
        my: f64,
        exx_eyy: f64,
        exy: f64,
    }

    extern "C" {
        fn mfr_host_layout(out: *mut u64);
        fn mfr_host_philox(ctr: *const u32, key: *const u32, out: *mut u32);
        fn mfr_host_unit_f32(w: u32) -> f32;
        fn mfr_host_box_muller(w0: u32, w1: u32, z0: *mut f32, z1: *mut f32);
        fn mfr_host_rng_normal(k: RngKey, image_id: u32, stream: u32, index: u32) -> f32;
        fn mfr_host_rng_uniform(k: RngKey, image_id: u32, stream: u32, index: u32) -> f32;
        fn mfr_host_reflect_index(i: i32, n: i32) -> i32;
        fn mfr_host_clip01(v: f32) -> f32;
        fn mfr_host_ssim_from_moments(m: Moments, c1: f64, c2: f64, cov_norm: f64) -> f64;
        fn mfr_host_gaussian_noise(x: f32, n: f32, s: f32) -> f32;
        fn mfr_host_speckle_noise(x: f32, n: f32, s: f32) -> f32;
        fn mfr_host_salt_pepper_value(u: f32, v: f32, s: f32) -> f32;
        fn mfr_host_brightness_grey(x: f32, s: f32) -> f32;
        fn mfr_host_brightness_rgb(x: f32, v: f32, s: f32) -> f32;
        fn mfr_host_contrast(x: f32, mean: f32, s: f32) -> f32;
        fn mfr_host_pixelate_block(s: f32) -> u32;
        fn mfr_host_pixelate_block_mean(
            plane: *const f32,
            w: u32,
            h: u32,
            x0: u32,
            y0: u32,
            b: u32,
        ) -> f32;
        fn mfr_host_pixelate_block_mean_by_warp(
            plane: *const f32,
            w: u32,
            h: u32,
            x0: u32,
            y0: u32,
            b: u32,
        ) -> f32;
        fn mfr_host_blur_plane(
            input: *const f32,
            tmp: *mut f32,
            out: *mut f32,
            w: i32,
            h: i32,
            taps: *const f32,
            r: i32,
        );
        fn mfr_host_gaussian_taps(s: f32, max_r: i32, taps: *mut f32) -> i32;
    }

    // Safe wrappers. SAFETY (all): the shim functions are pure, take plain values or pointers to
    // arrays of the stated length that live for the call, and keep no state.
    fn c_philox(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
        let mut out = [0u32; 4];
        unsafe { mfr_host_philox(ctr.as_ptr(), key.as_ptr(), out.as_mut_ptr()) };
        out
    }

    fn c_layout() -> [u64; 12] {
        let mut out = [0u64; 12];
        unsafe { mfr_host_layout(out.as_mut_ptr()) };
        out
    }

    /// Deterministic test words: Philox itself over a counter (independent of the code under test
    /// only in its role; the KAT test pins the function first).
    fn words(n: usize, salt: u32) -> Vec<u32> {
        (0..n as u32)
            .flat_map(|i| philox4x32_10([i, salt, 0xC0DA, 0x5EED], [17, 42]))
            .take(n)
            .collect()
    }

    /// The host's tile numbering (src/backend/cuda/ssim.rs) and the kernel's tile side agree.
    #[test]
    fn ssim_tile_side_matches_the_kernel() {
        extern "C" {
            fn mfr_host_ssim_tile() -> u32;
        }
        assert_eq!(
            unsafe { mfr_host_ssim_tile() },
            medfm_robust::backend::ssim_tiles::SSIM_TILE
        );
    }

    #[test]
    fn struct_layouts_match_c() {
        let c = c_layout();
        let rust = [
            size_of::<ImageDesc>(),
            offset_of!(ImageDesc, width),
            offset_of!(ImageDesc, channels),
            offset_of!(ImageDesc, image_id),
            size_of::<RngKey>(),
            offset_of!(RngKey, perturbation_id),
            size_of::<SsimParams>(),
            offset_of!(SsimParams, c1),
            offset_of!(SsimParams, cov_norm),
            offset_of!(SsimParams, radius),
            offset_of!(SsimParams, n_images),
            align_of::<ImageDesc>(),
        ];
        assert_eq!(c.map(|v| v as usize), rust);
    }

    // Random123 known-answer vectors (spec/gpu.md), through the C++ Philox.
    #[test]
    fn philox_known_answers_in_cuh() {
        assert_eq!(
            c_philox([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            c_philox([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            c_philox(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn philox_matches_rust_on_many_counters() {
        let w = words(6 * 4000, 1);
        for c in w.chunks_exact(6) {
            let (ctr, key) = ([c[0], c[1], c[2], c[3]], [c[4], c[5]]);
            assert_eq!(
                c_philox(ctr, key),
                philox4x32_10(ctr, key),
                "ctr {ctr:08x?} key {key:08x?}"
            );
        }
    }

    #[test]
    fn unit_f32_bit_identical() {
        let mut w = words(20_000, 2);
        w.extend([0, 1, 511, 512, u32::MAX, u32::MAX - 511, 1 << 31]);
        for x in w {
            let c = unsafe { mfr_host_unit_f32(x) };
            assert_eq!(c.to_bits(), unit_f32(x).to_bits(), "w = {x:#x}");
            assert!(c > 0.0 && c < 1.0);
        }
    }

    #[test]
    fn box_muller_bit_identical() {
        let mut w = words(40_000, 3);
        w.extend([0, 0, u32::MAX, u32::MAX, 0, u32::MAX]); // extreme radii and angles
        for p in w.chunks_exact(2) {
            let (mut z0, mut z1) = (0.0f32, 0.0f32);
            unsafe { mfr_host_box_muller(p[0], p[1], &mut z0, &mut z1) };
            let (r0, r1) = box_muller(p[0], p[1]);
            assert_eq!(
                (z0.to_bits(), z1.to_bits()),
                (r0.to_bits(), r1.to_bits()),
                "words {:#x} {:#x}",
                p[0],
                p[1]
            );
        }
    }

    #[test]
    fn keyed_normal_and_uniform_match_rng() {
        for (seed, image, pert) in [
            (0u64, 0u32, 0u32),
            (42, 0xDEAD_BEEF, 7),
            (u64::MAX, 1, u32::MAX),
        ] {
            let rng = Rng::new(seed, image, pert);
            let key = RngKey::new(seed, pert);
            for stream in [0u32, 1, 2, 0x8000_0003] {
                for index in (0..3000u32).chain([u32::MAX - 1, u32::MAX]) {
                    let n = unsafe { mfr_host_rng_normal(key, image, stream, index) };
                    let u = unsafe { mfr_host_rng_uniform(key, image, stream, index) };
                    assert_eq!(n.to_bits(), rng.normal(stream, index).to_bits());
                    assert_eq!(u.to_bits(), rng.uniform(stream, index).to_bits());
                }
            }
        }
    }

    #[test]
    fn reflect_index_matches_filter() {
        for n in [1usize, 2, 3, 7, 16] {
            for i in -40isize..40 {
                let c = unsafe { mfr_host_reflect_index(i as i32, n as i32) };
                assert_eq!(c as usize, reflect_index(i, n), "i {i} n {n}");
            }
        }
    }

    #[test]
    fn clip_matches_image_clip() {
        let vals = [
            f32::NAN,
            -0.0,
            -1e-30,
            0.5,
            1.0,
            1.0 + f32::EPSILON,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let mut img = Image::from_planes(vals.len(), 1, 1, vals.to_vec());
        img.clip();
        for (v, r) in vals.iter().zip(&img.data) {
            assert_eq!(
                unsafe { mfr_host_clip01(*v) }.to_bits(),
                r.to_bits(),
                "clip({v})"
            );
        }
    }

    // ---- SSIM -------------------------------------------------------------------------------

    /// The known-value images of spec/ssim-calibration.md: a = ((7i + 3j) mod 17)/16,
    /// b = 0.5a + 0.5 ((5i + 11j) mod 13)/12, row-major h x w (i = row, j = column).
    fn pattern(h: usize, w: usize) -> (Vec<f32>, Vec<f32>) {
        let mut a = Vec::with_capacity(h * w);
        let mut b = Vec::with_capacity(h * w);
        for i in 0..h {
            for j in 0..w {
                let av = ((7 * i + 3 * j) % 17) as f64 / 16.0;
                a.push(av as f32);
                b.push((0.5 * av + 0.5 * ((5 * i + 11 * j) % 13) as f64 / 12.0) as f32);
            }
        }
        (a, b)
    }

    fn emulate(a: &[f32], b: &[f32], w: usize, h: usize, c: usize, variant: SsimVariant) -> f64 {
        ssim_ffi::one(a, b, w, h, c, variant)
    }

    // scikit-image 0.26 values from spec/ssim-calibration.md (computed on float64 inputs; the
    // patterns are exact in f32 except b's twelfths, worth < 1e-8 of SSIM). Tolerance 1e-8.
    #[test]
    fn ssim_emulation_matches_skimage_known_values() {
        for (h, w, skimage, wang) in [
            (16, 16, 0.660658563447, 0.640767970884),
            (20, 24, 0.657896501477, 0.650133426496),
        ] {
            let (a, b) = pattern(h, w);
            let s = emulate(&a, &b, w, h, 1, SsimVariant::Skimage);
            assert!(
                (s - skimage).abs() < 1e-8,
                "{h}x{w} skimage: {s} vs {skimage}"
            );
            let g = emulate(&a, &b, w, h, 1, SsimVariant::Wang);
            assert!((g - wang).abs() < 1e-8, "{h}x{w} wang: {g} vs {wang}");
        }
    }

    #[test]
    fn ssim_emulation_rgb_known_value() {
        let (h, w) = (20, 24);
        let (a, b) = pattern(h, w);
        let at = |v: &[f32], i: usize, j: usize| v[i * w + j];
        // A = stack(a, a[::-1, :], a[:, ::-1]), B = stack(b, 1 - b, b^2), planar here.
        let mut aa = a.clone();
        let mut bb = b.clone();
        for i in 0..h {
            for j in 0..w {
                aa.push(at(&a, h - 1 - i, j));
            }
        }
        for i in 0..h {
            for j in 0..w {
                aa.push(at(&a, i, w - 1 - j));
            }
        }
        bb.extend(b.iter().map(|v| 1.0 - v));
        bb.extend(b.iter().map(|v| v * v));
        let s = emulate(&aa, &bb, w, h, 3, SsimVariant::Skimage);
        // f32 rounding of 1 - b and b^2 moves the value by < 1e-7.
        assert!((s - 0.338617739503).abs() < 1e-6, "rgb skimage: {s}");
    }

    #[test]
    fn ssim_emulation_identity_compat_and_too_small() {
        let (a, _) = pattern(13, 17);
        for v in [SsimVariant::Wang, SsimVariant::Skimage, SsimVariant::Compat] {
            assert!((emulate(&a, &a, 17, 13, 1, v) - 1.0).abs() < 1e-12, "{v:?}");
        }
        // compat is invariant to an affine change of either image's range.
        let (a, b) = pattern(16, 16);
        let b2: Vec<f32> = b.iter().map(|v| 0.25 + 0.5 * v).collect();
        let (c1, c2) = (
            emulate(&a, &b, 16, 16, 1, SsimVariant::Compat),
            emulate(&a, &b2, 16, 16, 1, SsimVariant::Compat),
        );
        assert!((c1 - c2).abs() < 1e-6, "{c1} {c2}");
        assert!(
            emulate(&a, &b, 10, 16, 1, SsimVariant::Wang).is_nan(),
            "10 px < 11-px window"
        );
    }

    /// The emulated kernel (its own phase functions, thread by thread) against the Rust CPU SSIM
    /// on images that exercise the tiling: sizes below, at and across the 32-px tile, the minimum
    /// window, grey and RGB, every variant, structured and noisy content, flat planes (compat's
    /// zero-range rule) and 16-bit-like fine levels. Both are f64 with different summation
    /// orders, so they agree to rounding; 1e-10 is 10^4 x below the parity tolerance (1e-6).
    #[test]
    fn ssim_emulation_matches_cpu_ssim() {
        let sizes = [
            (11, 11),
            (7, 9),
            (32, 32),
            (42, 42),
            (43, 41),
            (75, 47),
            (100, 33),
            (129, 64),
        ];
        let mut checked = 0;
        for (si, &(w, h)) in sizes.iter().enumerate() {
            for c in [1usize, 3] {
                let a = test_image(w, h, c, 10 + si as u64);
                let mut b = a.clone();
                let rng = Rng::new(99 + si as u64, 7, 1);
                for (i, v) in b.data.iter_mut().enumerate() {
                    let n = rng.uniform(0, i as u32) - 0.5;
                    *v = (*v * 0.7 + 0.3 * n * n + (i % 5) as f32 / 65535.0).clamp(0.0, 1.0);
                }
                if c == 3 {
                    let plane = w * h;
                    b.data[plane..2 * plane].iter_mut().for_each(|v| *v = 0.25);
                    // flat plane
                }
                for variant in [SsimVariant::Wang, SsimVariant::Skimage, SsimVariant::Compat] {
                    if w < variant.window_size() || h < variant.window_size() {
                        assert!(
                            emulate(&a.data, &b.data, w, h, c, variant).is_nan(),
                            "{w}x{h} {variant:?}"
                        );
                        continue;
                    }
                    let cpu = medfm_robust::ssim::ssim(&a, &b, variant).unwrap();
                    let gpu = emulate(&a.data, &b.data, w, h, c, variant);
                    assert!(
                        (gpu - cpu).abs() < 1e-10,
                        "{w}x{h}x{c} {variant:?}: kernel {gpu} vs cpu {cpu}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 46, "cases run");
    }

    #[test]
    fn ssim_formula_clamps_negative_variance() {
        // E[x^2 + y^2] - mx^2 - my^2 negative (as rounding makes it, exaggerated here so that a
        // missing clamp would show): the variances count as 0 (spec).
        let m = Moments {
            mx: 0.5,
            my: 0.5,
            exx_eyy: 0.5 - 1e-6,
            exy: 0.25,
        };
        let v = unsafe { mfr_host_ssim_from_moments(m, 1e-4, 9e-4, 1.0) };
        assert!((v - 1.0).abs() < 1e-12, "{v}");
        let m = Moments {
            mx: 0.2,
            my: 0.6,
            exx_eyy: 0.05 + 0.4,
            exy: 0.1,
        };
        let (vx, vy, vxy) = (0.05 - 0.04, 0.4 - 0.36, 0.1 - 0.12);
        let expect = ((2.0 * 0.2 * 0.6 + 1e-4) * (2.0 * vxy + 9e-4))
            / ((0.04 + 0.36 + 1e-4) * (vx + vy + 9e-4));
        let v = unsafe { mfr_host_ssim_from_moments(m, 1e-4, 9e-4, 1.0) };
        assert!((v - expect).abs() < 1e-12, "{v} vs {expect}");
    }

    // ---- base noise/intensity family (kernels/noise.cuh) -----------------------------------
    // The kernels' per-pixel loop, emulated here with the C++ per-pixel functions and the C++
    // RNG, must give the CPU perturbation's output (src/perturb/base/) bit for bit.

    /// Smooth-plus-texture test image with exact 0 and 1 samples and a black pixel.
    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 3, 4);
        let mut img = Image::new(w, h, c);
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let smooth = 0.5
                        + 0.45 * ((x as f32 * 0.13 + ch as f32).sin() * (y as f32 * 0.09).cos());
                    let tex = 0.2 * (rng.uniform(ch as u32, (y * w + x) as u32) - 0.5);
                    img.data[ch * w * h + y * w + x] = (smooth + tex).clamp(0.0, 1.0);
                }
            }
            img.data[ch * w * h] = 0.0;
            img.data[ch * w * h + 1] = 1.0;
        }
        img
    }

    /// What kernels/noise.cu computes for one image (loop order differs, values do not).
    fn kernel_emulation(id: &str, img: &Image, s: f32, seed: u64, image_id: u32) -> Image {
        let key = RngKey::new(seed, fnv1a32(id));
        let n = img.plane_len();
        let mut out = img.clone();
        // SAFETY (all calls below): pure shim functions on plain values.
        for p in 0..n {
            match id {
                "gaussian_noise" | "speckle_noise" => {
                    for c in 0..img.channels {
                        let z = unsafe { mfr_host_rng_normal(key, image_id, c as u32, p as u32) };
                        let x = img.data[c * n + p];
                        out.data[c * n + p] = if id == "gaussian_noise" {
                            unsafe { mfr_host_gaussian_noise(x, z, s) }
                        } else {
                            unsafe { mfr_host_speckle_noise(x, z, s) }
                        };
                    }
                }
                "salt_pepper" => {
                    let u = unsafe { mfr_host_rng_uniform(key, image_id, 0, p as u32) };
                    let v = unsafe { mfr_host_rng_uniform(key, image_id, 1, p as u32) };
                    let r = unsafe { mfr_host_salt_pepper_value(u, v, s) };
                    if r >= 0.0 {
                        for c in 0..img.channels {
                            out.data[c * n + p] = r;
                        }
                    }
                }
                "brightness" if img.channels == 3 => {
                    let v = img.data[p].max(img.data[n + p]).max(img.data[2 * n + p]);
                    for c in 0..3 {
                        out.data[c * n + p] =
                            unsafe { mfr_host_brightness_rgb(img.data[c * n + p], v, s) };
                    }
                }
                "brightness" => {
                    for c in 0..img.channels {
                        out.data[c * n + p] =
                            unsafe { mfr_host_brightness_grey(img.data[c * n + p], s) };
                    }
                }
                "contrast" => {
                    for c in 0..img.channels {
                        // The kernel gets the f64 channel mean from reduce.cu (tree order; GPU
                        // parity tests cover that order) and rounds it to f32 as here.
                        let m =
                            (img.plane(c).iter().map(|&v| v as f64).sum::<f64>() / n as f64) as f32;
                        out.data[c * n + p] =
                            unsafe { mfr_host_contrast(img.data[c * n + p], m, s) };
                    }
                }
                _ => unreachable!("{id}"),
            }
        }
        out
    }

    #[test]
    fn noise_family_matches_cpu_perturbations_bit_for_bit() {
        let ids = family_ids(Family::Noise);
        assert_eq!(ids.len(), 5, "the noise family: {ids:?}");
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 40, 3),
        ];
        for id in ids {
            let pert = by_id(id).unwrap();
            let (lo, hi) = pert.info().strength_range;
            for (k, &(w, h, c)) in shapes.iter().enumerate() {
                let img = test_image(w, h, c, k as u64);
                for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
                    let image_id = 0x1000 + k as u32;
                    let prepared = pert.prepare(&img, &Ctx::new(seed, image_id)).unwrap();
                    for f in [0.0f32, 0.013, 0.25, 0.6, 1.0] {
                        let s = lo + (hi - lo) * f;
                        let cpu = prepared.apply(s);
                        let emu = kernel_emulation(id, &img, s, seed, image_id);
                        let bad = cpu
                            .data
                            .iter()
                            .zip(&emu.data)
                            .position(|(a, b)| a.to_bits() != b.to_bits());
                        assert!(
                            bad.is_none(),
                            "{id} {}x{}x{} seed {seed} s {s}: first difference at sample {:?}: cpu {:?} kernel {:?}",
                            w, h, c, bad, bad.map(|i| cpu.data[i]), bad.map(|i| emu.data[i])
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn salt_pepper_is_nested_in_s() {
        for p in words(10_000, 11).chunks_exact(2) {
            let (u, v) = (unit_f32(p[0]), unit_f32(p[1]));
            let mut prev = -1.0f32;
            for s in [0.0f32, 0.1, 0.3, 0.5] {
                let r = unsafe { mfr_host_salt_pepper_value(u, v, s) };
                assert!(
                    prev < 0.0 || prev == r,
                    "a flipped pixel stays flipped to the same value"
                );
                prev = r;
            }
        }
    }

    // gaussian_blur (kernels/blur.cuh): both passes per plane, against the CPU perturbation,
    // including sigmas whose kernel is longer than the image (multiple reflections).
    #[test]
    fn gaussian_blur_matches_cpu_bit_for_bit() {
        let pert = by_id("gaussian_blur").unwrap();
        for (k, &(w, h, c)) in [(13usize, 11usize, 1usize), (31, 17, 3), (5, 40, 1)]
            .iter()
            .enumerate()
        {
            let img = test_image(w, h, c, 20 + k as u64);
            let prepared = pert.prepare(&img, &Ctx::new(1, 2)).unwrap();
            for s in [0.0f32, 0.3, 1.0, 2.7, 9.0, 25.0] {
                let cpu = prepared.apply(s);
                // the taps as kernels/blur.cu `blur_taps` builds them on the device
                let (taps, r) = device_taps(s, 100);
                let mut emu = vec![0.0f32; img.data.len()];
                let mut tmp = vec![0.0f32; w * h];
                for (src, dst) in img.planes().zip(emu.chunks_mut(w * h)) {
                    // SAFETY: src, tmp and dst hold w * h floats; taps 2r + 1.
                    unsafe {
                        mfr_host_blur_plane(
                            src.as_ptr(),
                            tmp.as_mut_ptr(),
                            dst.as_mut_ptr(),
                            w as i32,
                            h as i32,
                            taps.as_ptr(),
                            r,
                        )
                    };
                }
                let bad = cpu
                    .data
                    .iter()
                    .zip(&emu)
                    .position(|(a, b)| a.to_bits() != b.to_bits());
                assert!(
                    bad.is_none(),
                    "{w}x{h}x{c} sigma {s}: first difference at {bad:?}"
                );
            }
        }
    }

    /// `mfr_gaussian_taps` at strength `s` with a buffer for radius `max_r`: (taps, radius).
    fn device_taps(s: f32, max_r: i32) -> (Vec<f32>, i32) {
        let mut taps = vec![f32::NAN; 2 * max_r as usize + 1];
        // SAFETY: `taps` holds 2 max_r + 1 floats, the most the function writes.
        let r = unsafe { mfr_host_gaussian_taps(s, max_r, taps.as_mut_ptr()) };
        taps.truncate(2 * r as usize + 1);
        (taps, r)
    }

    // gaussian_blur's device-built taps (blur.cuh `mfr_gaussian_taps`) against the CPU's
    // `gaussian_kernel`, bit for bit over the whole strength range, and the radius cap.
    #[test]
    fn gaussian_taps_match_cpu_bit_for_bit() {
        let mut checked = 0;
        for i in 0..=2500 {
            let s = i as f32 * 0.01; // 0 ..= 25, the strength range
            let want = medfm_robust::perturb::common::filter::gaussian_kernel(s as f64, 4.0);
            let (got, r) = device_taps(s, 100);
            assert_eq!(r as usize, want.len() / 2, "radius at sigma {s}");
            let bad = got
                .iter()
                .zip(&want)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            assert!(
                bad.is_none(),
                "sigma {s}: tap {bad:?} differs: {:?} vs {:?}",
                bad.map(|k| got[k]),
                bad.map(|k| want[k])
            );
            checked += got.len();
        }
        assert!(checked > 100_000);
        // the identity at s <= 0, and the memory cap: sigma 25 needs radius 100, a buffer of 10
        // stops at 10 (never reached from the search, which stays inside the strength range)
        assert_eq!(device_taps(0.0, 100), (vec![1.0], 0));
        assert_eq!(device_taps(-1.0, 100), (vec![1.0], 0));
        assert_eq!(device_taps(25.0, 10).1, 10);
    }

    // pixelate (kernels/pixelate.cuh): block size rule and block means against the CPU
    // perturbation, with partial blocks at the right and bottom edges.
    #[test]
    fn pixelate_matches_cpu_bit_for_bit() {
        let pert = by_id("pixelate").unwrap();
        for (k, &(w, h, c)) in [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (150, 97, 1),
        ]
        .iter()
        .enumerate()
        {
            let img = test_image(w, h, c, 40 + k as u64);
            let prepared = pert.prepare(&img, &Ctx::new(1, 2)).unwrap();
            for s in [0.0f32, 0.49, 0.5, 1.5, 2.5, 3.2, 7.0, 9.6, 20.0, 37.0, 63.0] {
                let b = unsafe { mfr_host_pixelate_block(s) };
                assert_eq!(
                    b as usize,
                    1 + s.max(0.0).round() as usize,
                    "block size at s {s}"
                );
                let cpu = prepared.apply(s);
                let mut emu = img.clone();
                for (src, dst) in img.planes().zip(emu.planes_mut()) {
                    for y0 in (0..h).step_by(b as usize) {
                        for x0 in (0..w).step_by(b as usize) {
                            // SAFETY: src holds w * h floats; (x0, y0) inside the plane.
                            let m = unsafe {
                                mfr_host_pixelate_block_mean(
                                    src.as_ptr(),
                                    w as u32,
                                    h as u32,
                                    x0 as u32,
                                    y0 as u32,
                                    b,
                                )
                            };
                            if (8..=64).contains(&b) {
                                // SAFETY: as above; b <= 64 rows fit the emulation's row buffer.
                                let by_warp = unsafe {
                                    mfr_host_pixelate_block_mean_by_warp(
                                        src.as_ptr(),
                                        w as u32,
                                        h as u32,
                                        x0 as u32,
                                        y0 as u32,
                                        b,
                                    )
                                };
                                assert_eq!(
                                    by_warp.to_bits(),
                                    m.to_bits(),
                                    "{w}x{h} b {b} block ({x0}, {y0}): warp path"
                                );
                            }
                            for y in y0..(y0 + b as usize).min(h) {
                                for x in x0..(x0 + b as usize).min(w) {
                                    dst[y * w + x] = m;
                                }
                            }
                        }
                    }
                }
                let bad = cpu
                    .data
                    .iter()
                    .zip(&emu.data)
                    .position(|(a, b)| a.to_bits() != b.to_bits());
                assert!(
                    bad.is_none(),
                    "{w}x{h}x{c} s {s}: first difference at {bad:?}"
                );
            }
        }
    }
}
