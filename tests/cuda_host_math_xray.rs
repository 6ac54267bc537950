//! Host-math check of kernels/xray.cuh (compiled by the host C++ compiler through
//! kernels/host/shim_xray.cpp) against the CPU X-ray perturbations of src/perturb/xray/:
//! bit-identical over odd sizes, grey and RGB, several seeds and strengths. The prepared fields the
//! kernel receives from the host (haze field, grid rows, scatter veil) are rebuilt here from the
//! same public building blocks the CPU `prepare` uses; the underexposure noise is the kernel's own
//! Philox draw (normal, stream 0, plane index), checked bit for bit in tests/cuda_host_math.rs.

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::perturb::common::field::smooth_field;
    use medfm_robust::perturb::common::filter::gaussian_blur_plane;
    use medfm_robust::perturb::device::{family_ids, kernel_of, Family};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_xray_pixel(op: u32, v: f32, field: f32, n: f32, s: f32) -> f32;
    }

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 3, 5);
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

    /// The kernel's output for one image: `field(c, p)` gives the prepared field value, `noise(p)`
    /// the normal draw of plane index p.
    fn kernel_twin(
        img: &Image,
        op: u32,
        s: f32,
        field: &dyn Fn(usize, usize) -> f32,
        noise: &[f32],
    ) -> Image {
        let mut out = img.clone();
        if s <= 0.0 {
            return out;
        }
        let n = img.plane_len();
        for c in 0..img.channels {
            for p in 0..n {
                let nz = if noise.is_empty() { 0.0 } else { noise[p] };
                // SAFETY: pure function of plain values.
                out.data[c * n + p] =
                    unsafe { mfr_host_xray_pixel(op, img.data[c * n + p], field(c, p), nz, s) };
            }
        }
        out
    }

    #[test]
    fn xray_kernels_match_cpu_bit_for_bit() {
        // the registry's X-ray family with its op selectors
        let ids = family_ids(Family::Xray);
        assert_eq!(ids.len(), 5, "the X-ray family: {ids:?}");
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
        ];
        for id in &ids {
            let op = kernel_of(id).unwrap().1.op.unwrap().value;
            let pert = by_id(id).unwrap();
            let (lo, hi) = pert.info().strength_range;
            for (k, &(w, h, c)) in shapes.iter().enumerate() {
                let img = test_image(w, h, c, k as u64);
                for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
                    let ctx = Ctx::new(seed, 0x2000 + k as u32);
                    let rng = ctx.rng(id);
                    let mut noise = Vec::new();
                    let mut plane_field = Vec::new();
                    let mut full_field = Vec::new();
                    match *id {
                        "xray_underexposure" => {
                            noise = vec![0.0f32; w * h];
                            rng.fill_normal(0, &mut noise);
                        }
                        "xray_haze" => {
                            plane_field = smooth_field(&rng, 0, w, h, 3)
                                .iter()
                                .map(|v| v.powf(0.7))
                                .collect()
                        }
                        "xray_grid" => {
                            let p = rng.param_range(0, 3.0, 8.0);
                            plane_field = (0..h)
                                .map(|y| {
                                    1.0 - (1.0
                                        - 1.0
                                            * (1.0 + (std::f32::consts::TAU * y as f32 / p).cos())
                                            / 2.0)
                                })
                                .collect();
                        }
                        "xray_scatter" => {
                            let sigma = 0.06 * w.min(h) as f64;
                            for pl in img.planes() {
                                full_field.extend(gaussian_blur_plane(pl, w, h, sigma, 4.0));
                            }
                        }
                        _ => {}
                    }
                    let field = |ch: usize, p: usize| -> f32 {
                        match *id {
                            "xray_haze" => plane_field[p],
                            "xray_grid" => plane_field[p / w],
                            "xray_scatter" => full_field[ch * w * h + p],
                            _ => 0.0,
                        }
                    };
                    let prepared = pert.prepare(&img, &ctx).unwrap();
                    for f in [0.0f32, 0.013, 0.25, 0.6, 1.0] {
                        let s = lo + (hi - lo) * f;
                        let cpu = prepared.apply(s);
                        let gpu = kernel_twin(&img, op, s, &field, &noise);
                        assert_eq!(cpu.data.len(), gpu.data.len());
                        for (i, (a, b)) in cpu.data.iter().zip(&gpu.data).enumerate() {
                            assert_eq!(
                                a.to_bits(),
                                b.to_bits(),
                                "{id} {w}x{h}x{c} seed {seed} s {s} sample {i}: cpu {a} kernel {b}"
                            );
                        }
                    }
                }
            }
        }
    }
}
