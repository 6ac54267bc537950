//! The CUDA kernels' own source (kernels/*.cu, not a transcription) run on the CPU by a host
//! emulation of the CUDA execution model (kernels/host/cuda_emu.h: one OS thread per CUDA
//! thread, real block and warp barriers, exited threads leaving them, warp shuffles), launched
//! with the grids and blocks of the Rust launch wrappers, and checked against the CPU oracle.
//!
//! This exercises what the host-math tests cannot: the kernels' launch geometry, tile and block
//! decoding, barrier placement, early returns, shared-memory reuse between phases and blocks, and
//! the host-side numbering they rely on. It is not a GPU: no warp lockstep, no device
//! transcendental functions, races only shown when the OS interleaves badly. tests/cuda_parity*.rs
//! remain the device checks.
//!
//! Built where build.rs built the host shim (cfg `medfm_host_math`); elsewhere it is reported as ignored, with the reason.

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_emulation_not_built() {}

#[cfg(medfm_host_math)]
#[path = "host_math_ffi/ssim.rs"]
mod ssim_ffi;

#[cfg(medfm_host_math)]
#[path = "host_math_ffi/mri_motion.rs"]
mod mri_motion_ffi;

#[cfg(medfm_host_math)]
mod emu {
    use super::ssim_ffi::{self, minmax};
    use medfm_robust::backend::params::{ImageDesc, SsimParams};
    use medfm_robust::backend::ssim_tiles::tile_starts;
    use medfm_robust::rng::Rng;
    use medfm_robust::ssim::SsimVariant;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_emu_set_reverse_order(reverse: i32);
        fn mfr_emu_reductions(
            x: *const f32,
            descs: *const ImageDesc,
            n: u32,
            max_c: u32,
            minmax: *mut f32,
            means: *mut f64,
        );
        #[allow(clippy::too_many_arguments)]
        fn mfr_emu_noise(
            which: u32,
            input: *const f32,
            out: *mut f32,
            descs: *const ImageDesc,
            strength: *const f32,
            key: medfm_robust::backend::params::RngKey,
            means: *const f64,
            max_c: u32,
            n: u32,
            blocks_x: u32,
        );
        #[allow(clippy::too_many_arguments)]
        fn mfr_emu_calibrate_gaussian_noise(
            clean: *const f32,
            descs: *const ImageDesc,
            n: u32,
            total: u64,
            key: medfm_robust::backend::params::RngKey,
            cfg: *const medfm_robust::backend::params::SearchConfig,
            sp: *const SsimParams,
            tile_start: *const u32,
            max_v: f32,
            max_iters: u32,
            states: *mut medfm_robust::backend::params::SearchState,
        ) -> i32;
        #[allow(clippy::too_many_arguments)]
        fn mfr_emu_gaussian_blur(
            input: *const f32,
            tmp: *mut f32,
            out: *mut f32,
            descs: *const ImageDesc,
            strength: *const f32,
            taps: *mut f32,
            radius: *mut u32,
            tap_off: *const u32,
            max_r: u32,
            n: u32,
            blocks_x: u32,
        );
        #[allow(clippy::too_many_arguments)]
        fn mfr_emu_motion_blur(
            input: *const f32,
            out: *mut f32,
            descs: *const ImageDesc,
            strength: *const f32,
            sin_cos: *const f64,
            cap: *const f64,
            max_len: f64,
            grid: *mut f64,
            dx: *mut i32,
            dy: *mut i32,
            wt: *mut f32,
            tap_start: *const u32,
            tap_count: *mut u32,
            stride: u64,
            n: u32,
            blocks_x: u32,
        );
        #[allow(clippy::too_many_arguments)]
        fn mfr_emu_warp(
            input: *const f32,
            out: *mut f32,
            descs: *const ImageDesc,
            strength: *const f32,
            params: *const f64,
            kind: u32,
            border: u32,
            maps: *mut f64,
            identity: *mut u32,
            n: u32,
            blocks_x: u32,
        );
        fn mfr_emu_jpeg(
            input: *const f32,
            out: *mut f32,
            descs: *const ImageDesc,
            strength: *const f32,
            n: u32,
            blocks_x: u32,
        );
        fn mfr_emu_pixelate(
            input: *const f32,
            out: *mut f32,
            descs: *const ImageDesc,
            strength: *const f32,
            n: u32,
            blocks_x: u32,
        );
    }

    /// Run `f` with the emulator scheduling threads in ascending, then descending index order (a
    /// missing barrier shows in one of them, kernels/host/cuda_emu.h). One test at a time: the
    /// order is process-wide.
    fn in_both_orders(mut f: impl FnMut(&str)) {
        static ORDER: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = ORDER.lock().unwrap_or_else(|e| e.into_inner());
        for (reverse, name) in [(0, "ascending"), (1, "descending")] {
            // SAFETY: sets a flag read by later launches.
            unsafe { mfr_emu_set_reverse_order(reverse) };
            f(name);
        }
        unsafe { mfr_emu_set_reverse_order(0) };
    }

    /// Smooth-plus-texture image in [0, 1] (deterministic).
    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 5, 6);
        let mut img = Image::new(w, h, c);
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let smooth =
                        0.5 + 0.4 * ((x as f32 * 0.17 + ch as f32).sin() * (y as f32 * 0.05).cos());
                    let tex = 0.15 * (rng.uniform(ch as u32, (y * w + x) as u32) - 0.5);
                    img.data[ch * w * h + y * w + x] = (smooth + tex).clamp(0.0, 1.0);
                }
            }
        }
        img
    }

    /// Images packed back to back with their descriptors (the DeviceBatch layout).
    fn pack(imgs: &[Image]) -> (Vec<f32>, Vec<ImageDesc>) {
        let mut data = Vec::new();
        let mut descs = Vec::new();
        for (i, im) in imgs.iter().enumerate() {
            descs.push(ImageDesc {
                offset: data.len() as u64,
                width: im.width as u32,
                height: im.height as u32,
                channels: im.channels as u32,
                image_id: i as u32,
            });
            data.extend_from_slice(&im.data);
        }
        (data, descs)
    }

    /// kernels/ssim.cu over one mixed batch (sizes below, at and across the 32-px tile, grey and
    /// RGB, one flat plane), every variant: each image's SSIM equals the CPU SSIM to 1e-10; the
    /// same image alone gives the same bits (batch independence), and a second launch the same
    /// bits (determinism).
    #[test]
    fn ssim_kernel_matches_cpu() {
        in_both_orders(ssim_batch_check);
    }

    fn ssim_batch_check(order: &str) {
        let shapes = [
            (11usize, 11usize, 1usize),
            (43, 41, 3),
            (75, 47, 1),
            (32, 38, 3),
            (100, 33, 1),
        ];
        let clean: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(i, &(w, h, c))| test_image(w, h, c, i as u64))
            .collect();
        let mut pert: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(i, &(w, h, c))| test_image(w, h, c, 50 + i as u64))
            .collect();
        let plane = 43 * 41;
        pert[1].data[plane..2 * plane]
            .iter_mut()
            .for_each(|v| *v = 0.25); // a flat plane
        let (a, descs) = pack(&clean);
        let (b, _) = pack(&pert);
        let run = |descs: &[ImageDesc],
                   a: &[f32],
                   b: &[f32],
                   mm: Option<(&[f32], &[f32])>,
                   p: &SsimParams| ssim_ffi::batch(a, b, descs, mm, p).unwrap();
        for variant in [SsimVariant::Wang, SsimVariant::Skimage, SsimVariant::Compat] {
            let p = SsimParams::for_variant(variant, descs.len() as u32);
            let compat = variant == SsimVariant::Compat;
            let mma: Vec<f32> = clean.iter().flat_map(|im| minmax(&im.data)).collect();
            let mmb: Vec<f32> = pert.iter().flat_map(|im| minmax(&im.data)).collect();
            let mm = compat.then_some((&mma[..], &mmb[..]));
            let got = run(&descs, &a, &b, mm, &p);
            assert_eq!(
                got,
                run(&descs, &a, &b, mm, &p),
                "{variant:?} ({order}): two launches differ"
            );
            for (i, g) in got.iter().enumerate() {
                let (x, y) = (&clean[i], &pert[i]);
                let cpu = medfm_robust::ssim::ssim(x, y, variant).unwrap();
                assert!(
                    (g - cpu).abs() < 1e-10,
                    "{variant:?} ({order}) image {i} {}: kernel {g} cpu {cpu}",
                    x.shape_str()
                );
                let alone = ssim_ffi::one(&x.data, &y.data, x.width, x.height, x.channels, variant);
                assert_eq!(
                    alone.to_bits(),
                    g.to_bits(),
                    "{variant:?} ({order}) image {i}: depends on the batch"
                );
            }
        }
    }

    /// kernels/mri_motion.cu's two kernels over one batch (odd sizes, a 1-px-wide image, grey
    /// and RGB, several blocks per image), three strengths per image including 0: within 1e-5 of
    /// the CPU `apply` (the CPU projects with rustfft, the kernel by a direct sum; the difference
    /// is printed), s = 0 returns the input bit for bit, and the result does not depend on the
    /// thread schedule.
    #[test]
    fn mri_motion_kernels_match_cpu() {
        use medfm_robust::backend::motion_pack::PackedMotion;
        use medfm_robust::perturb::mri::motion_plan;
        use medfm_robust::perturb::{by_id, Ctx};
        let pert = by_id("mri_motion").unwrap();
        let (lo, hi) = pert.info().strength_range;
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (1, 7, 1),
            (8, 8, 3),
            (16, 16, 1),
            (64, 32, 1),
        ];
        let imgs: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 70 + k as u64))
            .collect();
        let (input, descs) = pack(&imgs);
        let dims: Vec<_> = imgs
            .iter()
            .map(|im| (im.width, im.height, im.channels))
            .collect();
        let seed = 9u64;
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
        let mut results: Vec<Vec<f32>> = Vec::new();
        in_both_orders(|order| {
            for f in [0.0f32, 0.3, 1.0] {
                let strengths: Vec<f32> = (0..imgs.len())
                    .map(|k| lo + (hi - lo) * f * (1.0 - 0.05 * k as f32))
                    .collect();
                let out = super::mri_motion_ffi::run(&p, &input, &descs, &strengths);
                let mut worst = 0.0f32;
                for (k, img) in imgs.iter().enumerate() {
                    let cpu = prepared[k].apply(strengths[k]);
                    let o = descs[k].offset as usize;
                    for (i, (a, b)) in out[o..o + img.data.len()].iter().zip(&cpu.data).enumerate()
                    {
                        assert!(
                            (a - b).abs() <= 1e-5,
                            "mri_motion ({order}) {} s {}: sample {i}: kernel {a} cpu {b}",
                            img.shape_str(),
                            strengths[k]
                        );
                        if strengths[k] <= 0.0 {
                            assert_eq!(
                                a.to_bits(),
                                b.to_bits(),
                                "mri_motion ({order}): s = 0 must return the input"
                            );
                        }
                        worst = worst.max((a - b).abs());
                    }
                }
                eprintln!(
                    "mri_motion kernels ({order}, f = {f}): worst |kernel - cpu| = {worst:e}"
                );
                results.push(out);
            }
        });
        assert_eq!(
            results[..3],
            results[3..],
            "the result depends on the thread schedule"
        );
    }

    /// Run a one-launch image kernel (`emu(input, out, descs, strengths, n, blocks_x)`) over a
    /// packed batch at per-image strengths and compare every image with the CPU `apply`, bit for
    /// bit, in both schedules.
    fn image_kernel_matches_cpu(
        id: &str,
        imgs: &[Image],
        strengths: &[f32],
        blocks_x: u32,
        emu: unsafe extern "C" fn(*const f32, *mut f32, *const ImageDesc, *const f32, u32, u32),
    ) {
        let (input, descs) = pack(imgs);
        in_both_orders(|order| {
            let mut out = vec![f32::NAN; input.len()];
            // SAFETY: descs describe input and out; one strength per image; blocks_x covers every
            // image's work as the launch wrapper computes it.
            unsafe {
                emu(
                    input.as_ptr(),
                    out.as_mut_ptr(),
                    descs.as_ptr(),
                    strengths.as_ptr(),
                    descs.len() as u32,
                    blocks_x,
                )
            };
            check_batch(id, 1, order, imgs, &descs, &out, strengths);
        });
    }

    /// kernels/jpeg.cu over a mixed batch (partial MCUs, grey and RGB, a 1-px image) at qualities
    /// from 100 to 1 and s = 0: bit-identical to the CPU's jpeg-encoder + zune-jpeg round trip.
    #[test]
    fn jpeg_kernel_matches_cpu() {
        let shapes = [
            (17usize, 9usize, 3usize),
            (1, 1, 1),
            (40, 33, 1),
            (16, 16, 3),
            (23, 31, 3),
        ];
        let imgs: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 90 + k as u64))
            .collect();
        // the wrapper's grid (src/backend/cuda/jpeg.rs): the most 16 x 16 tiles of any image
        let blocks = shapes
            .iter()
            .map(|&(w, h, _)| w.div_ceil(16) * h.div_ceil(16))
            .max()
            .unwrap() as u32;
        for strengths in [[0.0f32, 0.1, 0.5, 0.8, 1.0], [1.0, 0.0, 0.33, 0.02, 0.6]] {
            image_kernel_matches_cpu("jpeg", &imgs, &strengths, blocks, mfr_emu_jpeg);
        }
    }

    /// kernels/pixelate.cu over a mixed batch at block sizes on both sides of the warp path's
    /// bounds (1, 7: a thread per cell; 8, 33, 64: a warp per cell) including partial edge blocks:
    /// bit-identical to the CPU pixelate.
    #[test]
    fn pixelate_kernel_matches_cpu() {
        let shapes = [
            (70usize, 45usize, 3usize),
            (9, 13, 1),
            (64, 64, 1),
            (100, 3, 3),
        ];
        let imgs: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 110 + k as u64))
            .collect();
        // the wrapper's grid (src/backend/cuda/pixelate.rs `grid`): per image the larger of a
        // thread per (pixel, channel) and a warp per (8 x 8 cell, channel), in 256-thread blocks
        let most = shapes
            .iter()
            .map(|&(w, h, c)| (w * h).max(32 * w.div_ceil(8) * h.div_ceil(8)) * c)
            .max()
            .unwrap();
        let blocks = most.div_ceil(256) as u32;
        // strength s gives block size 1 + round(s)
        for strengths in [
            [0.0f32, 6.0, 7.0, 32.0],
            [63.0, 7.0, 6.4, 0.0],
            [32.0, 63.0, 7.0, 7.0],
        ] {
            image_kernel_matches_cpu("pixelate", &imgs, &strengths, blocks, mfr_emu_pixelate);
        }
    }

    /// Check one emulated batch result against the CPU `apply` of `id` (image i under
    /// `Ctx::new(seed, image id)`), bit for bit.
    fn check_batch(
        id: &str,
        seed: u64,
        order: &str,
        imgs: &[Image],
        descs: &[ImageDesc],
        out: &[f32],
        strengths: &[f32],
    ) {
        use medfm_robust::perturb::{by_id, Ctx};
        let pert = by_id(id).unwrap();
        for (k, img) in imgs.iter().enumerate() {
            let cpu = pert
                .prepare(img, &Ctx::new(seed, descs[k].image_id))
                .unwrap()
                .apply(strengths[k]);
            let o = descs[k].offset as usize;
            let bad = out[o..o + img.data.len()]
                .iter()
                .zip(&cpu.data)
                .position(|(a, b)| a.to_bits() != b.to_bits());
            assert!(
                bad.is_none(),
                "{id} ({order}) {} s {}: first difference at sample {bad:?}",
                img.shape_str(),
                strengths[k]
            );
        }
    }

    /// Shapes for the builder kernels: odd sizes, grey and RGB, a strip narrower than the blur.
    const BUILDER_SHAPES: [(usize, usize, usize); 4] =
        [(37, 29, 3), (5, 40, 1), (64, 48, 1), (23, 23, 3)];

    /// gaussian_blur as the on-GPU search runs it: taps built on the device from each image's
    /// sigma (`blur_taps`, buffers sized for the largest), then both passes: bit-identical to the
    /// CPU, sigma 0 (identity) and sigmas whose radius exceeds a side included.
    #[test]
    fn gaussian_blur_kernels_match_cpu() {
        use medfm_robust::perturb::common::filter::gaussian_kernel;
        let imgs: Vec<Image> = BUILDER_SHAPES
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 130 + k as u64))
            .collect();
        let (input, descs) = pack(&imgs);
        let n = imgs.len();
        let strengths = [2.5f32, 0.0, 7.3, 12.0];
        // as src/backend/cuda/blur.rs: radius of the largest sigma, 2 max_r + 1 taps per image
        let max_r = (gaussian_kernel(12.0, 4.0).len() / 2) as u32;
        let stride = 2 * max_r as usize + 1;
        let tap_off: Vec<u32> = (0..n).map(|i| (i * stride) as u32).collect();
        let blocks = imgs
            .iter()
            .map(|im| im.width * im.height)
            .max()
            .unwrap()
            .div_ceil(256) as u32;
        in_both_orders(|order| {
            let (mut tmp, mut out) = (vec![f32::NAN; input.len()], vec![f32::NAN; input.len()]);
            let (mut taps, mut radius) = (vec![f32::NAN; n * stride], vec![0u32; n]);
            // SAFETY: buffers sized as above; descs describe input/tmp/out.
            unsafe {
                mfr_emu_gaussian_blur(
                    input.as_ptr(),
                    tmp.as_mut_ptr(),
                    out.as_mut_ptr(),
                    descs.as_ptr(),
                    strengths.as_ptr(),
                    taps.as_mut_ptr(),
                    radius.as_mut_ptr(),
                    tap_off.as_ptr(),
                    max_r,
                    n as u32,
                    blocks,
                )
            };
            check_batch("gaussian_blur", 1, order, &imgs, &descs, &out, &strengths);
        });
    }

    /// motion_blur as the on-GPU search runs it: the line PSF built on the device (`motion_taps`:
    /// the block zeroes the grid, then one thread draws the line) from each image's length and the
    /// CPU's angle, then the sparse convolution: bit-identical to the CPU, length 0 and lengths
    /// past the min(w, h) / 2 cap included.
    #[test]
    fn motion_blur_kernels_match_cpu() {
        use medfm_robust::perturb::base::{motion_blur_angle, motion_blur_cap};
        use medfm_robust::perturb::common::psf::line_psf_radius;
        use medfm_robust::perturb::Ctx;
        let imgs: Vec<Image> = BUILDER_SHAPES
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 140 + k as u64))
            .collect();
        let (input, descs) = pack(&imgs);
        let n = imgs.len();
        let strengths = [9.5f32, 30.0, 0.0, 17.25];
        // as src/backend/cuda/motion_blur.rs: angles as (sin, cos), caps, one stride for the batch
        let max_len = 30.0f64;
        let caps: Vec<f64> = descs
            .iter()
            .map(|d| motion_blur_cap(d.width as usize, d.height as usize))
            .collect();
        let side = |len: f64| 2 * line_psf_radius(len) as usize + 1;
        let stride = caps
            .iter()
            .map(|&c| side(max_len.min(c)).pow(2))
            .max()
            .unwrap();
        let sin_cos: Vec<f64> = descs
            .iter()
            .flat_map(|d| {
                let (s, c) = motion_blur_angle(&Ctx::new(1, d.image_id)).sin_cos();
                [s, c]
            })
            .collect();
        let start: Vec<u32> = (0..n).map(|i| (i * stride) as u32).collect();
        let blocks = imgs
            .iter()
            .map(|im| im.data.len())
            .max()
            .unwrap()
            .div_ceil(256) as u32;
        in_both_orders(|order| {
            let mut out = vec![f32::NAN; input.len()];
            let mut grid = vec![f64::NAN; n * stride];
            let (mut dx, mut dy, mut wt) = (
                vec![0i32; n * stride],
                vec![0i32; n * stride],
                vec![f32::NAN; n * stride],
            );
            let mut count = vec![0u32; n];
            // SAFETY: buffers sized as above; descs describe input/out; one strength per image.
            unsafe {
                mfr_emu_motion_blur(
                    input.as_ptr(),
                    out.as_mut_ptr(),
                    descs.as_ptr(),
                    strengths.as_ptr(),
                    sin_cos.as_ptr(),
                    caps.as_ptr(),
                    max_len,
                    grid.as_mut_ptr(),
                    dx.as_mut_ptr(),
                    dy.as_mut_ptr(),
                    wt.as_mut_ptr(),
                    start.as_ptr(),
                    count.as_mut_ptr(),
                    stride as u64,
                    n as u32,
                    blocks,
                )
            };
            check_batch("motion_blur", 1, order, &imgs, &descs, &out, &strengths);
        });
    }

    /// rotation, scaling and translation as the on-GPU search runs them: each image's inverse map
    /// built on the device (`warp_maps`) from its strength and the CPU's draws, then the bilinear
    /// warp with the id's border: bit-identical to the CPU, strength 0 included.
    #[test]
    fn warp_kernels_match_cpu() {
        use medfm_robust::perturb::base::warp_draws;
        use medfm_robust::perturb::{by_id, Ctx};
        let imgs: Vec<Image> = BUILDER_SHAPES
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 150 + k as u64))
            .collect();
        let (input, descs) = pack(&imgs);
        let n = imgs.len();
        let blocks = imgs
            .iter()
            .map(|im| im.data.len())
            .max()
            .unwrap()
            .div_ceil(256) as u32;
        // kind and border as src/backend/cuda/geometric.rs (`kind`, `border`)
        for (id, kind, border) in [
            ("rotation", 0u32, 0u32),
            ("scaling", 1, 1),
            ("translation", 2, 0),
        ] {
            let (lo, hi) = by_id(id).unwrap().info().strength_range;
            let strengths: Vec<f32> = [0.37f32, 0.0, 0.81, 0.05]
                .iter()
                .map(|f| lo + (hi - lo) * f)
                .collect();
            let params: Vec<f64> = descs
                .iter()
                .flat_map(|d| warp_draws(id, &Ctx::new(1, d.image_id)))
                .collect();
            in_both_orders(|order| {
                let mut out = vec![f32::NAN; input.len()];
                let (mut maps, mut identity) = (vec![f64::NAN; 6 * n], vec![7u32; n]);
                // SAFETY: params 2n, maps 6n, identity n; descs describe input/out.
                unsafe {
                    mfr_emu_warp(
                        input.as_ptr(),
                        out.as_mut_ptr(),
                        descs.as_ptr(),
                        strengths.as_ptr(),
                        params.as_ptr(),
                        kind,
                        border,
                        maps.as_mut_ptr(),
                        identity.as_mut_ptr(),
                        n as u32,
                        blocks,
                    )
                };
                check_batch(id, 1, order, &imgs, &descs, &out, &strengths);
            });
        }
    }

    /// The on-GPU calibration's device side end to end (search_init, then gaussian_noise ->
    /// quantise_batch -> fused SSIM -> search_update until no state is active; the order and
    /// launch shapes of src/backend/cuda/search.rs), all five levels, 8-bit: every level's
    /// strength, SSIM, verdict and evaluation count equal the CPU's `calibrate_prepared`.
    #[test]
    fn gaussian_noise_calibration_matches_cpu() {
        use medfm_robust::backend::params::{
            band_status, BandSpec, RngKey, SearchConfig, SearchState,
        };
        use medfm_robust::calibrate::{band, calibrate_prepared, SearchOptions};
        use medfm_robust::perturb::{by_id, Ctx, StrengthKind};
        use medfm_robust::ssim::SsimReference;
        use medfm_robust::BitDepth;
        let id = "gaussian_noise";
        let p = by_id(id).unwrap();
        let opts = SearchOptions::default();
        let levels = [1u8, 2, 3, 4, 5];
        let imgs: Vec<Image> = [(48usize, 40usize, 1usize), (33, 29, 3), (64, 64, 1)]
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 160 + k as u64).quantised(BitDepth::U8))
            .collect();
        let (clean, descs) = pack(&imgs);
        let n = descs.len();
        // the configuration src/backend/cuda/search.rs `calibrate_batch` uploads
        let (s_min, s_max) = p.info().strength_range;
        let mut cfg = SearchConfig {
            n_bands: 5,
            max_evals: opts.max_evals_per_band,
            continuous: (p.info().kind == StrengthKind::Continuous) as u32,
            s_min,
            s_max,
            ..Default::default()
        };
        for (slot, &l) in cfg.bands.iter_mut().zip(&levels) {
            let b = band(l).unwrap();
            *slot = BandSpec { lo: b.lo, hi: b.hi };
        }
        let sp = SsimParams::for_variant(opts.variant, n as u32);
        let starts = tile_starts(&descs, &sp).unwrap();
        let seed = 5u64;
        let key = RngKey::new(seed, medfm_robust::rng::fnv1a32(id));
        let mut iterations = Vec::new();
        let mut in_band = 0;
        in_both_orders(|order| {
            // SAFETY: SearchState is plain old data (the C struct's mirror); all fields are set by search_init.
            let mut states: Vec<SearchState> = vec![unsafe { std::mem::zeroed() }; n];
            // SAFETY: clean/descs describe the batch; starts has n + 1 entries; states has n.
            let it = unsafe {
                mfr_emu_calibrate_gaussian_noise(
                    clean.as_ptr(),
                    descs.as_ptr(),
                    n as u32,
                    clean.len() as u64,
                    key,
                    &cfg,
                    &sp,
                    starts.as_ptr(),
                    BitDepth::U8.max_value(),
                    1000,
                    states.as_mut_ptr(),
                )
            };
            assert!(it > 0, "{order}: the search did not finish");
            iterations.push(it);
            for (k, img) in imgs.iter().enumerate() {
                let ctx = Ctx::new(seed, descs[k].image_id);
                let reference = SsimReference::new(img, opts.variant).unwrap();
                let cpu = calibrate_prepared(
                    p.prepare(img, &ctx).unwrap().as_ref(),
                    p,
                    &reference,
                    BitDepth::U8,
                    &levels,
                    &opts,
                )
                .unwrap();
                let st = &states[k];
                assert_eq!(st.overflow, 0);
                for (j, o) in cpu.iter().enumerate() {
                    let what = format!("{order}: image {k} {} level {}", img.shape_str(), o.level);
                    assert_eq!(
                        st.out_s[j].to_bits(),
                        o.strength.to_bits(),
                        "{what}: strength"
                    );
                    assert!(
                        (st.out_f[j] - o.ssim).abs() < 1e-10,
                        "{what}: ssim {} vs {}",
                        st.out_f[j],
                        o.ssim
                    );
                    assert_eq!(
                        st.out_status[j] == band_status::IN,
                        o.in_band,
                        "{what}: verdict"
                    );
                    assert_eq!(st.out_n[j], o.evaluations, "{what}: evaluations");
                    in_band += o.in_band as usize;
                }
            }
        });
        assert_eq!(iterations[0], iterations[1]);
        eprintln!(
            "gaussian_noise calibration: {} iterations, {in_band} of 30 levels in band",
            iterations[0]
        );
        assert!(
            in_band >= 24,
            "the searches found too few bands ({in_band} of 30) to compare much"
        );
    }

    /// kernels/reduce.cu's per-image reductions (fixed-order block trees) and the base
    /// noise/intensity kernels of kernels/noise.cu, contrast fed by the emulated channel means:
    /// min/max exact, means within 1e-12 of an f64 sum, every kernel bit-identical to its CPU
    /// perturbation over a mixed batch at several strengths.
    #[test]
    fn reductions_and_base_kernels_match_cpu() {
        use medfm_robust::backend::params::RngKey;
        use medfm_robust::perturb::by_id;
        let imgs: Vec<Image> = [
            (37usize, 29usize, 3usize),
            (5, 40, 1),
            (64, 48, 1),
            (300, 7, 3),
        ]
        .iter()
        .enumerate()
        .map(|(k, &(w, h, c))| test_image(w, h, c, 170 + k as u64))
        .collect();
        let (input, descs) = pack(&imgs);
        let n = imgs.len();
        let max_c = 3usize;
        let blocks = imgs
            .iter()
            .map(|im| im.width * im.height)
            .max()
            .unwrap()
            .div_ceil(256) as u32;
        let seed = 3u64;
        in_both_orders(|order| {
            let (mut minmax, mut means) = (vec![f32::NAN; 2 * n], vec![f64::NAN; n * max_c]);
            // SAFETY: descs describe input; minmax has 2n values, means n max_c.
            unsafe {
                mfr_emu_reductions(
                    input.as_ptr(),
                    descs.as_ptr(),
                    n as u32,
                    max_c as u32,
                    minmax.as_mut_ptr(),
                    means.as_mut_ptr(),
                )
            };
            for (k, img) in imgs.iter().enumerate() {
                let lo = img.data.iter().cloned().fold(f32::INFINITY, f32::min);
                let hi = img.data.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                assert_eq!(
                    [minmax[2 * k], minmax[2 * k + 1]],
                    [lo, hi],
                    "{order}: image {k} min/max"
                );
                for (c, plane) in img.planes().enumerate() {
                    let m = plane.iter().map(|&v| v as f64).sum::<f64>() / plane.len() as f64;
                    assert!(
                        (means[k * max_c + c] - m).abs() < 1e-12,
                        "{order}: image {k} channel {c} mean {} vs {m}",
                        means[k * max_c + c]
                    );
                }
            }
            for (which, id) in [
                "gaussian_noise",
                "speckle_noise",
                "salt_pepper",
                "brightness",
                "contrast",
            ]
            .iter()
            .enumerate()
            {
                let (lo, hi) = by_id(id).unwrap().info().strength_range;
                let key = RngKey::new(seed, medfm_robust::rng::fnv1a32(id));
                for f in [0.0f32, 0.2, 0.9] {
                    let strengths: Vec<f32> = (0..n)
                        .map(|k| lo + (hi - lo) * f * (1.0 - 0.1 * k as f32))
                        .collect();
                    let mut out = vec![f32::NAN; input.len()];
                    // SAFETY: descs describe input/out; one strength per image; means n max_c.
                    unsafe {
                        mfr_emu_noise(
                            which as u32,
                            input.as_ptr(),
                            out.as_mut_ptr(),
                            descs.as_ptr(),
                            strengths.as_ptr(),
                            key,
                            means.as_ptr(),
                            max_c as u32,
                            n as u32,
                            blocks,
                        )
                    };
                    check_batch(id, seed, order, &imgs, &descs, &out, &strengths);
                }
            }
        });
    }
}
