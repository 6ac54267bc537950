//! Host-math check of kernels/motion_blur.cuh (host-compiled through
//! kernels/host/shim_motion_blur.cpp) against the CPU motion_blur of src/perturb/base/blur.rs:
//! bit-identical over odd sizes, grey and RGB, several seeds and lengths (including lengths past
//! the min(w, h)/2 cap). The taps are built as the device builds them (`mfr_line_psf`, from the
//! host's sin/cos of the CPU's angle) and are checked bit for bit against the CPU's `line_psf`.

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::perturb::base::{motion_blur_angle, motion_blur_cap};
    use medfm_robust::perturb::common::psf::line_psf;
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    extern "C" {
        fn mfr_host_motion_blur_plane(
            input: *const f32,
            out: *mut f32,
            w: i32,
            h: i32,
            dx: *const i32,
            dy: *const i32,
            wt: *const f32,
            n: u32,
        );
        fn mfr_host_line_psf_side(length: f64) -> i32;
        fn mfr_host_line_psf(
            length: f64,
            sn: f64,
            cs: f64,
            grid: *mut f64,
            dx: *mut i32,
            dy: *mut i32,
            wt: *mut f32,
        ) -> u32;
    }

    /// The taps kernels/motion_blur.cu `motion_taps` builds for `length` > 0 at `angle`.
    fn device_taps(length: f64, angle: f64) -> Vec<(isize, isize, f32)> {
        let (sn, cs) = angle.sin_cos(); // on the host, as src/backend/cuda/motion_blur.rs uploads them
                                        // SAFETY: pure function of a plain value.
        let side = unsafe { mfr_host_line_psf_side(length) } as usize;
        let mut grid = vec![0.0f64; side * side];
        let (mut dx, mut dy, mut wt) = (
            vec![0i32; side * side],
            vec![0i32; side * side],
            vec![0f32; side * side],
        );
        // SAFETY: grid (zeroed), dx, dy and wt hold side^2 entries, the most the function touches.
        let n = unsafe {
            mfr_host_line_psf(
                length,
                sn,
                cs,
                grid.as_mut_ptr(),
                dx.as_mut_ptr(),
                dy.as_mut_ptr(),
                wt.as_mut_ptr(),
            )
        } as usize;
        (0..n)
            .map(|k| (dx[k] as isize, dy[k] as isize, wt[k]))
            .collect()
    }

    #[test]
    fn device_line_psf_matches_cpu_bit_for_bit() {
        let mut taps = 0;
        for i in 1..=400 {
            let length = i as f64 * 0.25 + 0.013 * (i % 7) as f64; // 0.25 ..= ~100 px
            for j in 0..9 {
                let angle = j as f64 * std::f64::consts::PI / 9.0 + 0.01 * i as f64;
                let want = line_psf(length, angle).taps;
                let got = device_taps(length, angle);
                assert_eq!(
                    got.len(),
                    want.len(),
                    "length {length} angle {angle}: tap count"
                );
                for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        g.0 == w.0 && g.1 == w.1 && g.2.to_bits() == w.2.to_bits(),
                        "length {length} angle {angle} tap {k}: {g:?} vs {w:?}"
                    );
                }
                taps += got.len();
            }
        }
        assert!(taps > 100_000, "{taps}");
    }

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 6, 1);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let (x, y) = ((i % w) as f32, ((i / w) % h) as f32);
            *v = (0.5
                + 0.4 * (x * 0.31).sin() * (y * 0.23).cos()
                + 0.2 * (rng.uniform(0, i as u32) - 0.5))
                .clamp(0.0, 1.0);
        }
        img
    }

    #[test]
    fn motion_blur_matches_cpu_bit_for_bit() {
        let pert = by_id("motion_blur").unwrap();
        for (k, &(w, h, c)) in [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
        ]
        .iter()
        .enumerate()
        {
            let img = test_image(w, h, c, k as u64);
            let n = w * h;
            for seed in [0u64, 9, 0xFFFF_FFFF_0000_0001] {
                let ctx = Ctx::new(seed, 0x6000 + k as u32);
                let angle = motion_blur_angle(&ctx);
                let prepared = pert.prepare(&img, &ctx).unwrap();
                for s in [0.0f32, 0.3, 1.0, 2.7, 7.5, 19.0, 100.0] {
                    let cpu = prepared.apply(s);
                    let mut gpu = img.clone();
                    if s > 0.0 {
                        let taps = device_taps((s as f64).min(motion_blur_cap(w, h)), angle);
                        let dx: Vec<i32> = taps.iter().map(|t| t.0 as i32).collect();
                        let dy: Vec<i32> = taps.iter().map(|t| t.1 as i32).collect();
                        let wt: Vec<f32> = taps.iter().map(|t| t.2).collect();
                        for ch in 0..c {
                            // SAFETY: planes of w * h floats, tap arrays of taps.len() entries.
                            unsafe {
                                mfr_host_motion_blur_plane(
                                    img.data[ch * n..].as_ptr(),
                                    gpu.data[ch * n..].as_mut_ptr(),
                                    w as i32,
                                    h as i32,
                                    dx.as_ptr(),
                                    dy.as_ptr(),
                                    wt.as_ptr(),
                                    taps.len() as u32,
                                )
                            };
                        }
                    }
                    for (i, (a, b)) in cpu.data.iter().zip(&gpu.data).enumerate() {
                        assert_eq!(a.to_bits(), b.to_bits(), "motion_blur {w}x{h}x{c} seed {seed} s {s} sample {i}: cpu {a} kernel {b}");
                    }
                }
            }
        }
    }
}
