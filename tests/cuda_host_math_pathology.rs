//! kernels/pathology.cuh (path_stain_hsv, path_bubbles, and the RGB <-> HSV conversion) compiled
//! by the HOST C++ compiler (kernels/host/shim_pathology.cpp) against the CPU perturbations of
//! src/perturb/pathology/ and src/perturb/common/hsv.rs, on machines without a GPU. The shim gets
//! the same host-prepared inputs as the GPU wrapper (src/backend/object_prep.rs). Host C++ and
//! Rust use the same f32 operations with no FMA contraction and the same libm (expf, powf, fmodf),
//! so the outputs must be bit-identical (stricter than spec/gpu.md's 1e-5; on the device expf and
//! powf differ by a few ulp, see tests/cuda_parity_pathology.rs).

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::backend::object_prep::ObjectPrep;
    use medfm_robust::perturb::common::hsv::{hsv_to_rgb, rgb_to_hsv};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_rgb_to_hsv(r: f32, g: f32, b: f32, hsv: *mut f32);
        fn mfr_host_hsv_to_rgb(h: f32, s: f32, v: f32, rgb: *mut f32);
        fn mfr_host_path_stain_hsv(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            g: *const f32,
            draws: *const f32,
            s: f32,
        );
        fn mfr_host_path_bubbles(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            boxes: *const u32,
            offsets: *const u64,
            data: *const f32,
            bg: *const f32,
            s: f32,
        );
    }

    /// Deterministic textured image in [0, 1], with exact 0 and 1 samples and some grey pixels
    /// (equal channels: the HSV zero-saturation branch).
    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 3, 4);
        let mut img = Image::new(w, h, c);
        let n = w * h;
        for (i, v) in img.data.iter_mut().enumerate() {
            let p = i % n;
            let (x, y) = ((p % w) as f32, (p / w) as f32);
            let u = rng.uniform(
                0,
                if p.is_multiple_of(11) {
                    p as u32
                } else {
                    i as u32
                },
            );
            let smooth = 0.55 + 0.35 * (x * 0.23).sin() * (y * 0.19).cos() + 0.15 * (u - 0.5);
            *v = if u < 0.03 {
                0.0
            } else if u > 0.97 {
                1.0
            } else {
                smooth.clamp(0.0, 1.0)
            };
        }
        img
    }

    const SHAPES: [(usize, usize, usize); 6] = [
        (11, 11, 1),
        (37, 23, 1),
        (37, 23, 3),
        (64, 48, 1),
        (64, 48, 3),
        (33, 65, 3),
    ];

    fn strengths(id: &str) -> &'static [f32] {
        match id {
            "path_stain_hsv" => &[0.0, 0.013, 0.3, 0.9, 1.5, 2.1, 2.5],
            _ => &[0.0, 0.013, 0.1, 0.27, 0.5, 0.77, 1.0],
        }
    }

    #[test]
    fn hsv_conversions_match() {
        let rng = Rng::new(5, 6, 7);
        let mut k = 0u32;
        let mut next = || {
            k += 1;
            let u = rng.uniform(0, k);
            // exact 0, 1 and repeated values exercise every branch
            if u < 0.1 {
                0.0
            } else if u > 0.9 {
                1.0
            } else if u < 0.2 {
                0.5
            } else {
                u
            }
        };
        for _ in 0..20_000 {
            let (r, g, b) = (next(), next(), next());
            let mut hsv = [0.0f32; 3];
            // SAFETY: `hsv` holds the 3 floats written.
            unsafe { mfr_host_rgb_to_hsv(r, g, b, hsv.as_mut_ptr()) };
            let (h, s, v) = rgb_to_hsv(r, g, b);
            assert_eq!(
                hsv.map(f32::to_bits),
                [h, s, v].map(f32::to_bits),
                "rgb {r} {g} {b}"
            );
            let hh = h + (next() - 0.5) * 3.0; // hue turns outside [0, 1) as after a shift
            let mut rgb = [0.0f32; 3];
            // SAFETY: `rgb` holds the 3 floats written.
            unsafe { mfr_host_hsv_to_rgb(hh, s, v, rgb.as_mut_ptr()) };
            let (r2, g2, b2) = hsv_to_rgb(hh, s, v);
            assert_eq!(
                rgb.map(f32::to_bits),
                [r2, g2, b2].map(f32::to_bits),
                "hsv {hh} {s} {v}"
            );
        }
    }

    /// The host-compiled kernel math on one image with its prepared inputs.
    fn host_kernel(id: &str, img: &Image, prep: &ObjectPrep, s: f32) -> Vec<f32> {
        let (w, h, c) = (img.width as u32, img.height as u32, img.channels as u32);
        let mut out = vec![f32::NAN; img.data.len()];
        let (i, o) = (img.data.as_ptr(), out.as_mut_ptr());
        let t = &prep.table;
        assert_eq!(prep.floats.len(), 4);
        // SAFETY: `img.data` and `out` hold w*h*c samples; the prepared inputs come from
        // ObjectPrep::push for this very image (field w*h, 4 floats of draws or background, a
        // 28-entry sprite table with boxes inside the image and 3 layers each inside `data`),
        // asserted here.
        unsafe {
            if id == "path_stain_hsv" {
                assert_eq!(prep.fields[0].len(), img.plane_len());
                mfr_host_path_stain_hsv(
                    i,
                    o,
                    w,
                    h,
                    c,
                    prep.fields[0].as_ptr(),
                    prep.floats.as_ptr(),
                    s,
                )
            } else {
                assert_eq!((t.boxes.len(), t.offsets.len()), (28 * 4, 28));
                mfr_host_path_bubbles(
                    i,
                    o,
                    w,
                    h,
                    c,
                    t.boxes.as_ptr(),
                    t.offsets.as_ptr(),
                    t.data.as_ptr(),
                    prep.floats.as_ptr(),
                    s,
                )
            }
        }
        out
    }

    fn check(id: &str) {
        let p = by_id(id).unwrap();
        let mut changed = 0;
        let mut cases = 0;
        for (k, &(w, h, c)) in SHAPES.iter().enumerate() {
            for seed in [1u64, 7, 2024] {
                let img = test_image(w, h, c, seed + k as u64);
                let ctx = Ctx::new(seed, 1000 + k as u32);
                let mut prep = ObjectPrep::new(id).unwrap();
                prep.push(&img, &ctx).unwrap();
                let prepared = p.prepare(&img, &ctx).unwrap();
                for &s in strengths(id) {
                    let want = prepared.apply(s);
                    let got = host_kernel(id, &img, &prep, s);
                    for (i, (g, e)) in got.iter().zip(&want.data).enumerate() {
                        assert_eq!(
                            g.to_bits(),
                            e.to_bits(),
                            "{id} {w}x{h}x{c} seed {seed} s {s} sample {i}: {g} vs {e}"
                        );
                    }
                    changed += (want.data != img.data) as usize;
                    cases += (s > 0.0) as usize;
                }
            }
        }
        // the comparison is not vacuous: most strengths > 0 change the image
        assert!(
            changed * 4 >= cases * 3,
            "{id}: only {changed} of {cases} outputs perturbed"
        );
    }

    #[test]
    fn path_stain_hsv_matches_cpu() {
        check("path_stain_hsv");
    }

    #[test]
    fn path_bubbles_matches_cpu() {
        check("path_bubbles");
    }
}
