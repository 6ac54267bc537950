//! GPU parity of kernels/mri.cu (mri_bias_field, mri_ghosting) and kernels/mri_motion.cu
//! (mri_motion) against the CPU perturbations (|gpu - cpu| <= 1e-5 of the range, spec/gpu.md;
//! mri_bias_field and mri_motion are not bit-identical because of the device expf / f64 sincos),
//! over mixed-size batches (odd sizes, grey and RGB), two seeds and several strengths. Needs the
//! `cuda` feature AND a GPU; anywhere else it prints "SKIPPED: ..." and returns.

#[cfg(not(feature = "cuda"))]
#[test]
#[ignore = "needs the `cuda` feature and a GPU: tools/gpu_check.sh"]
fn cuda_parity_mri_skipped() {
    eprintln!("SKIPPED: built without the `cuda` feature (cargo test --features cuda --test cuda_parity_mri)");
}

#[cfg(feature = "cuda")]
mod cuda_support;

#[cfg(feature = "cuda")]
mod gpu {
    use super::cuda_support::{check_f32, engine, test_image};
    use medfm_robust::backend::cuda::{mri, DeviceBatch};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::Image;

    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn mri_matches_cpu() {
        let Some(e) = engine("mri_matches_cpu") else {
            return;
        };
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
        ];
        let imgs: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, k as u64))
            .collect();
        let refs: Vec<&Image> = imgs.iter().collect();
        let ids: Vec<u32> = (0..imgs.len() as u32).map(|k| 0x4000 + k).collect();
        let batch = DeviceBatch::upload(&e, &refs, &ids).unwrap();
        for seed in [0u64, 9] {
            let ctxs: Vec<Ctx> = ids.iter().map(|&i| Ctx::new(seed, i)).collect();
            for id in ["mri_bias_field"] {
                let pert = by_id(id).unwrap();
                let (lo, hi) = pert.info().strength_range;
                for f in [0.0f32, 0.25, 0.6, 1.0] {
                    let strengths: Vec<f32> = (0..imgs.len())
                        .map(|k| lo + (hi - lo) * f * (1.0 - 0.1 * k as f32))
                        .collect();
                    let fields: Vec<Vec<f32>> = imgs
                        .iter()
                        .zip(&ctxs)
                        .map(|(im, c)| mri::log_field(im.width, im.height, c))
                        .collect();
                    let got = mri::bias_field(&e, &batch, &strengths, &fields)
                        .unwrap()
                        .download(&e)
                        .unwrap();
                    for (k, img) in imgs.iter().enumerate() {
                        let cpu = pert.prepare(img, &ctxs[k]).unwrap().apply(strengths[k]);
                        let mut differ = 0usize;
                        for (x, y) in got[k].data.iter().zip(&cpu.data) {
                            assert!(
                                (x - y).abs() <= 1e-5,
                                "{id} image {k} seed {seed}: gpu {x} cpu {y}"
                            );
                            differ += (x.to_bits() != y.to_bits()) as usize;
                        }
                        // The device expf is not correctly rounded (CUDA: <= 2 ulp), so samples may differ in the last
                        // bits; only the 1e-5 bound of spec/gpu.md is asserted.
                        let _ = differ;
                    }
                }
            }
        }
    }

    /// mri_ghosting: the ghost component from the CPU's `ghost_field`, `clip(x - s G)` on the
    /// device; no transcendental, so bit-identical is expected (<= 0.1% of samples may differ,
    /// within 1e-5, as spec/gpu.md allows).
    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn mri_ghosting_matches_cpu() {
        use medfm_robust::perturb::mri::ghost_field;
        let Some(e) = engine("mri_ghosting_matches_cpu") else {
            return;
        };
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
        ];
        let imgs: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 30 + k as u64))
            .collect();
        let refs: Vec<&Image> = imgs.iter().collect();
        let ids: Vec<u32> = (0..imgs.len() as u32).map(|k| 0x4100 + k).collect();
        let batch = DeviceBatch::upload(&e, &refs, &ids).unwrap();
        let pert = by_id("mri_ghosting").unwrap();
        let (lo, hi) = pert.info().strength_range;
        for seed in [0u64, 9] {
            let ctxs: Vec<Ctx> = ids.iter().map(|&i| Ctx::new(seed, i)).collect();
            let fields: Vec<Vec<f32>> = imgs
                .iter()
                .zip(&ctxs)
                .map(|(im, c)| ghost_field(im, c))
                .collect();
            let k = mri::GhostingKernel::new(&e, &batch, &fields).unwrap();
            for f in [0.0f32, 0.25, 0.6, 1.0] {
                let strengths: Vec<f32> = (0..imgs.len())
                    .map(|j| lo + (hi - lo) * f * (1.0 - 0.1 * j as f32))
                    .collect();
                let got = k
                    .apply(&e, &batch, &strengths)
                    .unwrap()
                    .download(&e)
                    .unwrap();
                for (j, img) in imgs.iter().enumerate() {
                    let cpu = pert.prepare(img, &ctxs[j]).unwrap().apply(strengths[j]);
                    let mut differ = 0usize;
                    for (x, y) in got[j].data.iter().zip(&cpu.data) {
                        assert!(
                            (x - y).abs() <= 1e-5,
                            "mri_ghosting image {j} seed {seed}: gpu {x} cpu {y}"
                        );
                        differ += (x.to_bits() != y.to_bits()) as usize;
                    }
                    assert!(
                        differ * 1000 <= cpu.data.len(),
                        "mri_ghosting image {j} seed {seed}: {differ} samples not bit-identical"
                    );
                }
            }
        }
    }

    /// mri_motion: plans from the CPU's `motion_plan` (uploaded once), the warp and the
    /// per-segment circular convolution along y on the device. Its host emulation equals the CPU
    /// within 1e-5 (tests/cuda_host_math_mri.rs); on the device the angle's f64 sincos may differ
    /// by <= 2 ulp as well, so the 1e-5 bound is asserted and the non-identical samples are
    /// printed. Also: s = 0 is the input, two launches give the same bytes, and an image's result
    /// does not depend on the other images of its batch.
    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn mri_motion_matches_cpu() {
        use medfm_robust::backend::cuda::mri_motion::{self, MotionKernel};
        let Some(e) = engine("mri_motion_matches_cpu") else {
            return;
        };
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
            (1, 7, 1),
            (97, 70, 3),
            (33, 20, 1),
            (8, 8, 3),
            (64, 32, 1),
            (256, 128, 3),
        ];
        let imgs: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 50 + k as u64))
            .collect();
        let refs: Vec<&Image> = imgs.iter().collect();
        let ids: Vec<u32> = (0..imgs.len() as u32).map(|k| 0x4200 + k).collect();
        let batch = DeviceBatch::upload(&e, &refs, &ids).unwrap();
        let pert = by_id("mri_motion").unwrap();
        let (lo, hi) = pert.info().strength_range;
        let (mut worst, mut differ, mut total) = (0.0f32, 0usize, 0usize);
        for seed in [0u64, 9] {
            let k = MotionKernel::from_images(&e, &batch, &refs, seed).unwrap();
            for f in [0.0f32, 0.013, 0.25, 0.6, 1.0] {
                let strengths: Vec<f32> = (0..imgs.len())
                    .map(|j| lo + (hi - lo) * f * (1.0 - 0.05 * j as f32))
                    .collect();
                let got = k
                    .apply(&e, &batch, &strengths)
                    .unwrap()
                    .download(&e)
                    .unwrap();
                let again = k
                    .apply(&e, &batch, &strengths)
                    .unwrap()
                    .download(&e)
                    .unwrap();
                for (j, img) in imgs.iter().enumerate() {
                    assert_eq!(
                        got[j].data, again[j].data,
                        "mri_motion image {j}: two launches differ"
                    );
                    let cpu = pert
                        .prepare(img, &Ctx::new(seed, ids[j]))
                        .unwrap()
                        .apply(strengths[j]);
                    let what = format!(
                        "mri_motion {} seed {seed} s {}",
                        img.shape_str(),
                        strengths[j]
                    );
                    let (w, d) = check_f32(&got[j].data, &cpu.data, false, &what);
                    if strengths[j] <= 0.0 {
                        assert_eq!(got[j].data, img.data, "{what}: s = 0 must return the input");
                    }
                    worst = worst.max(w);
                    differ += d;
                    total += cpu.data.len();
                }
            }
            // batch-composition independence: images 3 and 9 alone equal their slots in the mixed batch
            for i in [3usize, 9] {
                let s = [lo + (hi - lo) * 0.6];
                let alone = DeviceBatch::upload(&e, &[&imgs[i]], &[ids[i]]).unwrap();
                let one = mri_motion::apply(&e, &alone, &[&imgs[i]], seed, &s)
                    .unwrap()
                    .download(&e)
                    .unwrap();
                let mut st = vec![0.0f32; imgs.len()];
                st[i] = s[0];
                let mixed = k.apply(&e, &batch, &st).unwrap().download(&e).unwrap();
                assert_eq!(
                    one[0].data, mixed[i].data,
                    "mri_motion image {i}: result depends on the batch"
                );
            }
        }
        eprintln!("mri_motion gpu vs cpu: worst |d| = {worst:e}, {differ} of {total} samples not bit-identical");
    }
}
