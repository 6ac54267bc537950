//! kernels/endoscopy.cuh (endo_overexposure, endo_specular, endo_blood, endo_bubbles) compiled by
//! the HOST C++ compiler (kernels/host/shim_endoscopy.cpp) against the CPU perturbations of
//! src/perturb/endoscopy/, on machines without a GPU. The shim gets the same host-prepared inputs
//! as the GPU wrapper (src/backend/object_prep.rs). Host C++ and Rust use the same f32 operations
//! with no FMA contraction and the same libm (expf), so the outputs must be bit-identical (stricter
//! than spec/gpu.md's 1e-5; on the device expf differs by <= 2 ulp, see
//! tests/cuda_parity_endoscopy.rs).

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::backend::object_prep::ObjectPrep;
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_endo_overexposure(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            field: *const f32,
            s: f32,
        );
        fn mfr_host_endo_specular(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            spots: *const f32,
            s: f32,
        );
        fn mfr_host_endo_blood(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            boxes: *const u32,
            offsets: *const u64,
            data: *const f32,
            log_t: *const f32,
            s: f32,
        );
        fn mfr_host_endo_bubbles(
            input: *const f32,
            out: *mut f32,
            w: u32,
            h: u32,
            c: u32,
            boxes: *const u32,
            offsets: *const u64,
            data: *const f32,
            s: f32,
        );
    }

    /// Deterministic textured image in [0, 1], with exact 0 and 1 samples.
    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 3, 4);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let (x, y) = ((i % w) as f32, ((i / w) % h) as f32);
            let u = rng.uniform(0, i as u32);
            let smooth = 0.5 + 0.35 * (x * 0.23).sin() * (y * 0.19).cos() + 0.15 * (u - 0.5);
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
            "endo_overexposure" => &[0.0, 0.013, 0.2, 0.55, 1.0, 1.6, 2.0],
            "endo_specular" => &[0.0, 0.013, 0.3, 0.8, 1.0, 1.9, 3.0],
            _ => &[0.0, 0.013, 0.1, 0.27, 0.5, 0.77, 1.0],
        }
    }

    /// The host-compiled kernel math on one image with its prepared inputs.
    fn host_kernel(id: &str, img: &Image, prep: &ObjectPrep, s: f32) -> Vec<f32> {
        let (w, h, c) = (img.width as u32, img.height as u32, img.channels as u32);
        let mut out = vec![f32::NAN; img.data.len()];
        let (i, o) = (img.data.as_ptr(), out.as_mut_ptr());
        let t = &prep.table;
        // SAFETY: `img.data` and `out` hold w*h*c samples; the prepared inputs come from
        // ObjectPrep::push for this very image (field w*h, 48 spots * 6 floats, 4 floats of ln T,
        // sprite tables of the kernel's list length with boxes inside the image and their layers
        // inside `data`), asserted below.
        unsafe {
            match id {
                "endo_overexposure" => {
                    assert_eq!(prep.fields[0].len(), img.plane_len());
                    mfr_host_endo_overexposure(i, o, w, h, c, prep.fields[0].as_ptr(), s)
                }
                "endo_specular" => {
                    assert_eq!(prep.floats.len(), 48 * 6);
                    mfr_host_endo_specular(i, o, w, h, c, prep.floats.as_ptr(), s)
                }
                "endo_blood" => {
                    assert_eq!(
                        (t.boxes.len(), t.offsets.len(), prep.floats.len()),
                        (24 * 4, 24, 4)
                    );
                    mfr_host_endo_blood(
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
                _ => {
                    assert_eq!((t.boxes.len(), t.offsets.len()), (64 * 4, 64));
                    mfr_host_endo_bubbles(
                        i,
                        o,
                        w,
                        h,
                        c,
                        t.boxes.as_ptr(),
                        t.offsets.as_ptr(),
                        t.data.as_ptr(),
                        s,
                    )
                }
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
    fn endo_overexposure_matches_cpu() {
        check("endo_overexposure");
    }

    #[test]
    fn endo_specular_matches_cpu() {
        check("endo_specular");
    }

    #[test]
    fn endo_blood_matches_cpu() {
        check("endo_blood");
    }

    #[test]
    fn endo_bubbles_matches_cpu() {
        check("endo_bubbles");
    }
}
