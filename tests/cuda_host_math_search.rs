//! The on-GPU search's update logic (kernels/search.cuh), compiled by the HOST C++ compiler
//! (kernels/host/shim_search.cpp) and driven with the CPU's f(s), against the CPU joint band
//! search `calibrate::search::search_bands` on the same f: every band's in/out status, reason
//! class, strength, SSIM and evaluation count must be identical (bit for bit: same f32/f64
//! operations), and so must the total number of evaluations. Curves: smooth, plateaued
//! (integer), stepped (skipped band), shallow (unreachable bands), steep (below the band at
//! s_min), noisy non-monotone, and real perturbation curves (SSIM of CPU perturbations).

#[cfg(not(medfm_host_math))]
#[test]
#[ignore = "the host-math shim was not built (no C++ compiler found by build.rs)"]
fn host_math_shim_not_built() {}

#[cfg(medfm_host_math)]
mod host {
    use medfm_robust::calibrate::search::{search_bands, Evaluations};
    use medfm_robust::calibrate::{Band, LevelOutcome, BANDS};
    use medfm_robust::perturb::{by_id, Ctx, StrengthKind};
    use medfm_robust::rng::Rng;
    use medfm_robust::ssim::{SsimReference, SsimVariant};
    use medfm_robust::Image;
    use std::ffi::c_void;

    extern "C" {
        fn mfr_host_search_new(
            lo: *const f64,
            hi: *const f64,
            n_bands: u32,
            max_evals: u32,
            continuous: u32,
            s_min: f32,
            s_max: f32,
            pending: *mut f32,
            active: *mut i32,
        ) -> *mut c_void;
        fn mfr_host_search_feed(h: *mut c_void, v: f64, pending: *mut f32) -> i32;
        fn mfr_host_search_result(
            h: *const c_void,
            i: u32,
            s: *mut f32,
            f: *mut f64,
            status: *mut u32,
            n: *mut u32,
            count: *mut u32,
            overflow: *mut u32,
        );
        fn mfr_host_search_free(h: *mut c_void);
        fn mfr_host_search_layout(out: *mut u64);
        fn mfr_host_quantise(input: *const f32, out: *mut f32, n: u64, max: f32);
    }

    /// One band's outcome from the state machine: (strength, ssim, status, evaluations).
    type Out = (f32, f64, u32, u32);

    /// Drive the C state machine with `f`; returns the per-band outcomes and the total count.
    fn run_c(
        f: &mut dyn FnMut(f32) -> f64,
        bands: &[Band],
        s_min: f32,
        s_max: f32,
        kind: StrengthKind,
        max_evals: u32,
    ) -> (Vec<Out>, u32) {
        let lo: Vec<f64> = bands.iter().map(|b| b.lo).collect();
        let hi: Vec<f64> = bands.iter().map(|b| b.hi).collect();
        let (mut pending, mut active) = (0.0f32, 0i32);
        // SAFETY: lo/hi hold n_bands values; the handle is used only below and freed once.
        let h = unsafe {
            mfr_host_search_new(
                lo.as_ptr(),
                hi.as_ptr(),
                bands.len() as u32,
                max_evals,
                (kind == StrengthKind::Continuous) as u32,
                s_min,
                s_max,
                &mut pending,
                &mut active,
            )
        };
        assert!(!h.is_null());
        let mut guard = 0;
        while active != 0 {
            let v = f(pending);
            // SAFETY: valid handle.
            active = unsafe { mfr_host_search_feed(h, v, &mut pending) };
            guard += 1;
            assert!(guard < 1000, "state machine does not terminate");
        }
        let mut out = Vec::new();
        let mut count = 0;
        for i in 0..bands.len() as u32 {
            let (mut s, mut v, mut st, mut n, mut ov) = (0.0f32, 0.0f64, 0u32, 0u32, 0u32);
            // SAFETY: valid handle, i < n_bands.
            unsafe {
                mfr_host_search_result(h, i, &mut s, &mut v, &mut st, &mut n, &mut count, &mut ov)
            };
            assert_eq!(ov, 0, "point list overflow");
            out.push((s, v, st, n));
        }
        // SAFETY: allocated above, freed once.
        unsafe { mfr_host_search_free(h) };
        (out, count)
    }

    /// The status class of a CPU outcome (kernels/search.cuh MFR_BAND_*).
    fn status(o: &LevelOutcome) -> u32 {
        match (o.in_band, o.reason.as_deref()) {
            (true, _) => 0,
            (false, Some(r)) if r.contains("maximal strength") => 1,
            (false, Some(r)) if r.contains("minimal strength") => 2,
            (false, Some(r)) if r.starts_with("band skipped") => 3,
            _ => 4,
        }
    }

    /// Compare on one curve; returns the CPU outcomes for extra checks.
    fn compare(
        name: &str,
        f: &dyn Fn(f32) -> f64,
        bands: &[Band],
        s_min: f32,
        s_max: f32,
        kind: StrengthKind,
        max_evals: u32,
    ) -> Vec<LevelOutcome> {
        let mut e = Evaluations::new(|s: f32| Ok(f(s)));
        let cpu = search_bands(&mut e, bands, s_min, s_max, kind, max_evals).unwrap();
        let cpu_count = e.count;
        let (c, count) = run_c(&mut |s| f(s), bands, s_min, s_max, kind, max_evals);
        for (o, g) in cpu.iter().zip(&c) {
            let want: Out = (o.strength, o.ssim, status(o), o.evaluations);
            assert_eq!(
                g.0.to_bits(),
                want.0.to_bits(),
                "{name} L{}: strength {:?} vs {:?}",
                o.level,
                g,
                want
            );
            assert_eq!(
                g.1.to_bits(),
                want.1.to_bits(),
                "{name} L{}: ssim {:?} vs {:?}",
                o.level,
                g,
                want
            );
            assert_eq!(
                (g.2, g.3),
                (want.2, want.3),
                "{name} L{}: status/evaluations {:?} vs {:?}",
                o.level,
                g,
                want
            );
        }
        assert_eq!(count, cpu_count, "{name}: total evaluations");
        cpu
    }

    const KINDS: [StrengthKind; 2] = [StrengthKind::Continuous, StrengthKind::Integer];

    #[test]
    fn synthetic_curves_match_cpu_search() {
        type Curve = (&'static str, Box<dyn Fn(f32) -> f64>, f32, f32);
        fn c(name: &'static str, f: impl Fn(f32) -> f64 + 'static, lo: f32, hi: f32) -> Curve {
            (name, Box::new(f), lo, hi)
        }
        let curves: Vec<Curve> = vec![
            c("linear", |s: f32| 1.0 - 0.8 * s as f64, 0.0, 1.0),
            c("shallow", |s: f32| 1.0 - 0.25 * s as f64, 0.0, 1.0),
            c("steep-start", |s: f32| 0.85 - 0.5 * s as f64, 0.0, 1.0),
            c("exp", |s: f32| (-(s as f64) * 1.7).exp(), 0.0, 3.0),
            c("step", |s: f32| if s < 0.5 { 0.85 } else { 0.65 }, 0.0, 1.0),
            c(
                "plateaus",
                |s: f32| 1.0 - 0.05 * (s * 10.0).round() as f64,
                0.0,
                10.0,
            ),
            c(
                "noisy",
                |s: f32| 1.0 - 0.7 * s as f64 + 0.004 * ((s * 377.0).sin() as f64),
                0.0,
                1.0,
            ),
            c("sqrt", |s: f32| 1.0 - 0.6 * (s as f64).sqrt(), 0.0, 0.6),
        ];
        let mut in_band = 0;
        let mut skipped = 0;
        let mut unreachable = 0;
        for (name, f, lo, hi) in &curves {
            for kind in KINDS {
                for max_evals in [3u32, 8, 20] {
                    let cpu = compare(name, f.as_ref(), &BANDS, *lo, *hi, kind, max_evals);
                    in_band += cpu.iter().filter(|o| o.in_band).count();
                    skipped += cpu.iter().filter(|o| status(o) == 3).count();
                    unreachable += cpu.iter().filter(|o| matches!(status(o), 1 | 2)).count();
                }
                // single bands too (the per-level entry)
                for b in BANDS {
                    compare(name, f.as_ref(), &[b], *lo, *hi, kind, 20);
                }
            }
        }
        // every outcome class was exercised
        assert!(
            in_band > 50 && skipped > 0 && unreachable > 0,
            "{in_band} {skipped} {unreachable}"
        );
    }

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 1, 2);
        let mut img = Image::new(w, h, c);
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let smooth = 0.5
                        + 0.35 * ((x as f32 * 0.11 + ch as f32).sin() * (y as f32 * 0.07).cos());
                    let tex = 0.1 * (rng.uniform(ch as u32, (y * w + x) as u32) - 0.5);
                    img.data[ch * w * h + y * w + x] = (smooth + tex).clamp(0.0, 1.0);
                }
            }
        }
        img
    }

    /// Real SSIM curves of the perturbations the on-GPU search covers.
    #[test]
    fn perturbation_curves_match_cpu_search() {
        for (k, id) in [
            "gaussian_noise",
            "speckle_noise",
            "salt_pepper",
            "brightness",
            "contrast",
            "gaussian_blur",
            "pixelate",
            "oct_shadow",
            "derm_vignette",
        ]
        .iter()
        .enumerate()
        {
            let p = by_id(id).unwrap();
            let img = test_image(48 + k, 40, if k % 2 == 0 { 3 } else { 1 }, k as u64);
            let prepared = p.prepare(&img, &Ctx::new(7, k as u32)).unwrap();
            let reference = SsimReference::new(&img, SsimVariant::Wang).unwrap();
            let f = |s: f32| reference.ssim(&prepared.apply(s)).unwrap();
            let (lo, hi) = p.info().strength_range;
            compare(id, &f, &BANDS, lo, hi, p.info().kind, 20);
        }
    }

    /// The #[repr(C)] mirrors the on-GPU search reads back (src/backend/params.rs) against the C
    /// compiler's layout of MfrSearchConfig / MfrSearchState.
    #[test]
    fn search_struct_layouts_match_c() {
        use medfm_robust::backend::params::{SearchConfig, SearchState};
        use std::mem::{align_of, offset_of, size_of};
        let mut c = [0u64; 16];
        // SAFETY: writes exactly 16 values.
        unsafe { mfr_host_search_layout(c.as_mut_ptr()) };
        let rust = [
            size_of::<SearchConfig>(),
            offset_of!(SearchConfig, n_bands),
            offset_of!(SearchConfig, s_min),
            size_of::<SearchState>(),
            offset_of!(SearchState, f),
            offset_of!(SearchState, n_points),
            offset_of!(SearchState, pending),
            offset_of!(SearchState, f_max),
            offset_of!(SearchState, out_s),
            offset_of!(SearchState, out_f),
            offset_of!(SearchState, out_status),
            offset_of!(SearchState, out_n),
            offset_of!(SearchState, skip_a),
            offset_of!(SearchState, skip_fa),
            offset_of!(SearchState, overflow),
            align_of::<SearchState>(),
        ];
        assert_eq!(c.map(|v| v as usize), rust);
    }

    /// mfr_quantise (the search's quantisation before SSIM) against Image::quantised, bit for
    /// bit, at both bit depths, over ties (k + 0.5) / max, out-of-range values and NaN.
    #[test]
    fn quantise_matches_image_quantised() {
        use medfm_robust::image::BitDepth;
        let mut v: Vec<f32> = vec![
            f32::NAN,
            -1.0,
            -0.0,
            0.0,
            1.0,
            1.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        for k in 0..=255u32 {
            v.push((k as f32 + 0.5) / 255.0);
            v.push(k as f32 / 255.0);
        }
        for k in (0..=65535u32).step_by(97) {
            v.push((k as f32 + 0.5) / 65535.0);
        }
        let rng = Rng::new(5, 6, 7);
        v.extend((0..20_000u32).map(|i| rng.uniform(0, i) * 1.2 - 0.1));
        for depth in [BitDepth::U8, BitDepth::U16] {
            let img = Image::from_planes(v.len(), 1, 1, v.clone());
            let want = img.quantised(depth).data;
            let mut got = vec![0.0f32; v.len()];
            // SAFETY: both buffers hold v.len() values.
            unsafe {
                mfr_host_quantise(
                    v.as_ptr(),
                    got.as_mut_ptr(),
                    v.len() as u64,
                    depth.max_value(),
                )
            };
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    w.to_bits(),
                    "{depth:?} value {} -> {g} vs {w}",
                    v[i]
                );
            }
        }
    }
}
