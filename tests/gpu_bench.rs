//! GPU throughput report for tools/gpu_check.sh (`gpu_bench --ignored --nocapture`): one
//! `BENCH|name|value|unit` line per figure, for the targets of spec/gpu.md:
//!   - device copy bandwidth (the roofline) and the fused SSIM's share of it;
//!   - images/s and GB/s (bytes read + written) of every perturbation with a kernel;
//!   - images/s of the whole on-GPU calibration (five levels, 512x512 RGB, 8-bit) per id, and per
//!     modality (all its ids, per-id times summed: the unit of spec/gpu.md's 300 images/s);
//!   - the CPU (rayon) doing one calibration on the same machine, for scale.
//!
//! Timings are reported, never asserted. Inputs are resident on the device (uploads excluded);
//! every timed region ends with a stream synchronisation. Without a GPU it prints SKIPPED.

#[cfg(not(feature = "cuda"))]
#[test]
#[ignore = "needs the `cuda` feature and a GPU: tools/gpu_check.sh"]
fn gpu_bench_skipped() {
    eprintln!("SKIPPED: built without the `cuda` feature");
}

#[cfg(feature = "cuda")]
mod cuda_support;

#[cfg(feature = "cuda")]
mod gpu {
    use super::cuda_support::{engine, test_image};
    use medfm_robust::backend::cuda::search::{calibrate_batch, search_ids, strength_kernel};
    use medfm_robust::backend::cuda::{
        blur, geometric, motion_blur, ssim, CudaEngine, DeviceBatch,
    };
    use medfm_robust::backend::params::RngKey;
    use medfm_robust::calibrate::{calibrate_prepared, SearchOptions};
    use medfm_robust::perturb::device::{family_ids, Family};
    use medfm_robust::perturb::{all, by_id, Ctx, Modality};
    use medfm_robust::ssim::{SsimReference, SsimVariant};
    use medfm_robust::{BitDepth, Image};
    use std::time::Instant;

    const SIDE: usize = 512;

    fn time(e: &CudaEngine, iters: u32, f: &mut dyn FnMut()) -> f64 {
        f(); // warm-up (module load, allocations)
        e.synchronize().unwrap();
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        e.synchronize().unwrap();
        t.elapsed().as_secs_f64() / iters as f64
    }

    fn line(name: &str, value: f64, unit: &str) {
        println!("BENCH|{name}|{value:.4}|{unit}");
    }

    #[test]
    #[ignore = "benchmark; run by tools/gpu_check.sh"]
    fn gpu_bench_report() {
        let Some(e) = engine("gpu_bench_report") else {
            return;
        };
        println!("BENCH|device|0|{}", e.device_name());
        let s = e.stream();
        // Device copy bandwidth: the roofline the fused SSIM is measured against (spec/gpu.md).
        let n = 64 << 20; // 64 Mi f32 = 256 MiB
        let src = s.alloc_zeros::<f32>(n).unwrap();
        let mut dst = s.alloc_zeros::<f32>(n).unwrap();
        let t = time(&e, 20, &mut || s.memcpy_dtod(&src, &mut dst).unwrap());
        let copy_gbs = 2.0 * (n * 4) as f64 / t / 1e9;
        line("d2d_copy", copy_gbs, "GB/s (read + write)");
        drop((src, dst));

        let batch = 64usize;
        let imgs: Vec<Image> = (0..batch)
            .map(|i| test_image(SIDE, SIDE, 3, i as u64).quantised(BitDepth::U8))
            .collect();
        let ids: Vec<u32> = (0..batch as u32).collect();
        let ctxs: Vec<Ctx> = ids.iter().map(|&i| Ctx::new(1, i)).collect();
        let refs: Vec<&Image> = imgs.iter().collect();
        let a = DeviceBatch::upload(&e, &refs, &ids).unwrap();
        let bytes = 2.0 * (a.total * 4) as f64; // one read + one write of the batch
        let tag = format!("{SIDE}x{SIDE}x3");

        // Fused SSIM: reads two batches.
        let b = medfm_robust::backend::cuda::noise::apply(
            &e,
            "gaussian_noise",
            &a,
            &vec![0.1; batch],
            RngKey::new(1, 2),
        )
        .unwrap();
        for variant in [SsimVariant::Wang, SsimVariant::Skimage] {
            let mut plan = ssim::SsimPlan::new(&e, &a, variant).unwrap();
            let t = time(&e, 20, &mut || plan.run(&e, &a, &b).unwrap());
            let gbs = bytes / t / 1e9;
            line(
                &format!("ssim_{}_{tag}", variant.as_str()),
                batch as f64 / t,
                "images/s",
            );
            line(
                &format!("ssim_{}_bandwidth", variant.as_str()),
                100.0 * gbs / copy_gbs,
                "% of d2d copy",
            );
        }

        // One launch per family member, image i at a mid strength.
        let mid = |id: &str| {
            let (lo, hi) = by_id(id).unwrap().info().strength_range;
            vec![lo + 0.3 * (hi - lo); batch]
        };
        let family = |id: &str, f: &mut dyn FnMut()| {
            let t = time(&e, 10, f);
            line(
                &format!("{id}_{tag}"),
                batch as f64 / t,
                &format!("images/s, {:.0} GB/s", bytes / t / 1e9),
            );
        };
        // Every kernel with a device-strength entry, through the same interface the search uses
        // (strength-independent data prepared once, outside the timed region).
        let mut out = DeviceBatch::zeros_like(&e, &a).unwrap();
        for id in search_ids() {
            let k = strength_kernel(&e, id, &a, &refs, 1).unwrap().unwrap();
            let d_st = s.clone_htod(&mid(id)).unwrap();
            family(id, &mut || k.launch(&e, &a, &mut out, &d_st).unwrap());
        }
        // gaussian_blur at sigma 2, the strength tools/compare_torch.py uses (same name there).
        let k = strength_kernel(&e, "gaussian_blur", &a, &refs, 1)
            .unwrap()
            .unwrap();
        let d_st = s.clone_htod(&vec![2.0f32; batch]).unwrap();
        family("gaussian_blur_s2", &mut || {
            k.launch(&e, &a, &mut out, &d_st).unwrap()
        });
        // The one-shot host wrappers (per-call preparation and its upload included), named
        // `<id>_oneshot` so they do not repeat the search-path figures above.
        let st = mid("gaussian_blur");
        family("gaussian_blur_oneshot", &mut || {
            blur::gaussian_blur(&e, &a, &st).unwrap();
        });
        for id in family_ids(Family::Warp) {
            let st = mid(id);
            family(&format!("{id}_oneshot"), &mut || {
                geometric::apply(&e, id, &a, &st, &ctxs).unwrap();
            });
        }
        let st = mid("motion_blur");
        family("motion_blur_oneshot", &mut || {
            motion_blur::apply(&e, &a, &st, &ctxs).unwrap();
        });

        // The whole calibration on the GPU: 5 levels per image, SSIM wang, 8-bit.
        let opts = SearchOptions::default();
        let levels = [1u8, 2, 3, 4, 5];
        let mut per_image = std::collections::HashMap::new(); // id -> seconds per image
        for id in search_ids() {
            let p = by_id(id).unwrap();
            let k = strength_kernel(&e, id, &a, &refs, 1).unwrap().unwrap();
            let mut in_band = 0usize;
            let t = time(&e, 3, &mut || {
                let r = calibrate_batch(&e, k.as_ref(), p.info(), &a, &levels, &opts, BitDepth::U8)
                    .unwrap();
                in_band = r.iter().flatten().filter(|o| o.in_band).count();
            });
            per_image.insert(id, t / batch as f64);
            line(
                &format!("calibration_{id}_{tag}"),
                batch as f64 / t,
                &format!("images/s ({in_band} of {} levels in band)", batch * 5),
            );
        }
        // spec/gpu.md's calibration target counts all perturbations of a modality (the base ids
        // and the modality's own) x 5 levels per image: the sum of the per-id times above. An id
        // without an on-GPU search would be named as missing rather than left out silently.
        for m in Modality::ALL {
            let ids: Vec<&str> = all()
                .iter()
                .map(|p| p.info())
                .filter(|i| i.modality.is_none_or(|x| x == m))
                .map(|i| i.id)
                .collect();
            let missing: Vec<&str> = ids
                .iter()
                .copied()
                .filter(|id| !per_image.contains_key(id))
                .collect();
            let t: f64 = ids.iter().filter_map(|id| per_image.get(id)).sum();
            let note = if missing.is_empty() {
                String::new()
            } else {
                format!("; NOT measured: {}", missing.join(", "))
            };
            line(
                &format!("calibration_modality_{}_{tag}", m.as_str()),
                1.0 / t,
                &format!(
                    "images/s (all {} ids of the modality x 5 levels, per-id times summed{note})",
                    ids.len()
                ),
            );
        }

        // The CPU oracle on this machine, one image (rayon inside SSIM and the perturbations).
        let p = by_id("gaussian_noise").unwrap();
        let t0 = Instant::now();
        let prepared = p.prepare(&imgs[0], &ctxs[0]).unwrap();
        let reference = SsimReference::new(&imgs[0], SsimVariant::Wang).unwrap();
        calibrate_prepared(
            prepared.as_ref(),
            p,
            &reference,
            BitDepth::U8,
            &levels,
            &opts,
        )
        .unwrap();
        line(
            &format!("cpu_calibration_gaussian_noise_{tag}"),
            1.0 / t0.elapsed().as_secs_f64(),
            "images/s (CPU, rayon, same machine)",
        );
    }
}
