//! Host-math check of kernels/jpeg.cuh (host-compiled through kernels/host/shim_jpeg.cpp, the
//! stages of kernels/jpeg.cu run in the kernel's order) against the CPU jpeg of
//! src/perturb/base/jpeg/ (its direct integer round trip, itself checked byte for byte against the
//! real jpeg-encoder + image/zune-jpeg round trip in that module's tests): bit for bit
//! (every f32 sample identical) over odd sizes, grey and RGB, textured, noisy, saturated-colour,
//! flat and black images, qualities 100 down to 1, strength 0 (identity), negative, > 1 and NaN.
//! The emulation is exact, so the tolerance is zero; the mismatch count is printed before failing.

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
        fn mfr_host_jpeg_quality(s: f32) -> u32;
        fn mfr_host_jpeg(input: *const f32, out: *mut f32, w: u32, h: u32, c: u32, s: f32) -> i32;
    }

    /// The kernel's output for one image (the shim runs the kernel's stages on the host).
    fn kernel(img: &Image, s: f32) -> Image {
        let mut out = img.clone();
        // SAFETY: `input` and `out` hold w * h * c samples each (planar, as the kernel's image).
        let rc = unsafe {
            mfr_host_jpeg(
                img.data.as_ptr(),
                out.data.as_mut_ptr(),
                img.width as u32,
                img.height as u32,
                img.channels as u32,
                s,
            )
        };
        assert_eq!(rc, 0, "host shim allocation failed");
        out
    }

    /// Strength whose quality (jpeg.rs `quality`) is q: the inverse of round(100 - 99 s).
    fn strength_for(q: u32) -> f32 {
        (100 - q) as f32 / 99.0
    }

    #[derive(Clone, Copy, Debug)]
    enum Kind {
        Textured,
        Noise,
        Colour,
        Flat,
        Black,
    }

    fn test_image(w: usize, h: usize, c: usize, kind: Kind, seed: u64) -> Image {
        let rng = Rng::new(seed, 7, 11);
        let mut img = Image::new(w, h, c);
        let n = w * h;
        for (i, v) in img.data.iter_mut().enumerate() {
            let (ch, p) = (i / n, i % n);
            let (x, y) = ((p % w) as f32, (p / w) as f32);
            *v = match kind {
                // smooth texture + mild noise, not on the 8-bit grid (the kernel quantises)
                Kind::Textured => (0.5
                    + 0.35 * (x * 0.21 + ch as f32).sin() * (y * 0.17).cos()
                    + 0.1 * (rng.uniform(0, i as u32) - 0.5))
                    .clamp(0.0, 1.0),
                // white noise over [0, 1]: the largest DCT coefficients, clamping in the IDCT
                Kind::Noise => rng.uniform(1, i as u32),
                // saturated colour blocks and sharp edges (chroma clamping in YCbCr -> RGB),
                // slightly outside [0, 1] and one NaN to exercise the input clamp
                Kind::Colour => {
                    let cell = ((x as usize / 5) + 3 * (y as usize / 3) + ch) % 4;
                    [-0.2, 0.0, 1.0, 1.3][cell]
                }
                Kind::Flat => 0.4,
                Kind::Black => {
                    if (x as usize) < w / 2 {
                        0.0
                    } else {
                        0.02 * ((x as usize + y as usize) % 3) as f32
                    }
                }
            };
        }
        if let Kind::Colour = kind {
            img.data[n / 2] = f32::NAN;
        }
        img
    }

    const SIZES: [(usize, usize); 12] = [
        (1, 1),
        (1, 7),
        (7, 1),
        (13, 11),
        (31, 17),
        (40, 41),
        (64, 9),
        (17, 33),
        (100, 75),
        (16, 16),
        (8, 24),
        (33, 16),
    ];
    const QUALITIES: [u32; 11] = [100, 99, 95, 90, 89, 75, 50, 49, 20, 5, 1];
    const KINDS: [Kind; 5] = [
        Kind::Textured,
        Kind::Noise,
        Kind::Colour,
        Kind::Flat,
        Kind::Black,
    ];

    #[test]
    fn quality_mapping_matches_cpu() {
        for q in 1..=100u32 {
            // SAFETY: pure function of a plain value.
            assert_eq!(
                unsafe { mfr_host_jpeg_quality(strength_for(q)) },
                q,
                "strength {}",
                strength_for(q)
            );
        }
        for (s, q) in [
            (0.0f32, 100u32),
            (-1.0, 100),
            (1.0, 1),
            (7.5, 1),
            (0.5, 51),
            (0.004, 100),
            (0.006, 99),
            (f32::NAN, 0),
        ] {
            // SAFETY: pure function of a plain value.
            assert_eq!(unsafe { mfr_host_jpeg_quality(s) }, q, "strength {s}");
        }
    }

    /// Every sample of the kernel's output equals the CPU round trip's, bit for bit.
    #[test]
    fn round_trip_matches_cpu_bit_for_bit() {
        let pert = by_id("jpeg").unwrap();
        let ctx = Ctx::new(0, 0);
        let mut strengths: Vec<f32> = QUALITIES.iter().map(|&q| strength_for(q)).collect();
        strengths.extend([0.0, -0.3, 1.7, f32::NAN]);
        let (mut compared, mut changed, mut mismatches) = (0usize, 0usize, Vec::new());
        for (k, &(w, h)) in SIZES.iter().enumerate() {
            for c in [1usize, 3] {
                for (j, &kind) in KINDS.iter().enumerate() {
                    let img = test_image(w, h, c, kind, (k * 10 + j) as u64);
                    let prepared = pert.prepare(&img, &ctx).unwrap();
                    for &s in &strengths {
                        let cpu = prepared.apply(s);
                        let gpu = kernel(&img, s);
                        let bad = cpu
                            .data
                            .iter()
                            .zip(&gpu.data)
                            .filter(|(a, b)| a.to_bits() != b.to_bits())
                            .count();
                        compared += cpu.data.len();
                        changed += cpu
                            .data
                            .iter()
                            .zip(&img.data)
                            .filter(|(a, b)| a.to_bits() != b.to_bits())
                            .count();
                        if bad > 0 {
                            let first = cpu
                                .data
                                .iter()
                                .zip(&gpu.data)
                                .position(|(a, b)| a.to_bits() != b.to_bits())
                                .unwrap();
                            mismatches.push(format!(
                                "{w}x{h}x{c} {kind:?} s {s} (q {}): {bad} of {} samples differ, first at {first}: cpu {} kernel {}",
                                quality_of(s),
                                cpu.data.len(),
                                cpu.data[first] * 255.0,
                                gpu.data[first] * 255.0
                            ));
                        }
                    }
                }
            }
        }
        eprintln!(
            "jpeg host math: {compared} samples compared, {} cases differ",
            mismatches.len()
        );
        // the comparison is not vacuous: the round trips really changed the images
        assert!(
            changed > compared / 4,
            "only {changed} of {compared} samples changed by the round trips"
        );
        assert!(
            mismatches.is_empty(),
            "kernel math differs from the CPU round trip in {} cases:\n{}",
            mismatches.len(),
            mismatches.join("\n")
        );
    }

    /// The quality the CPU uses at strength s (for messages only).
    fn quality_of(s: f32) -> u32 {
        // SAFETY: pure function of a plain value.
        unsafe { mfr_host_jpeg_quality(s) }
    }
}
