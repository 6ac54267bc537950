//! GPU parity of kernels/us.cu (us_acoustic_shadow, us_reverberation) against the CPU perturbation
//! (tolerances of spec/gpu.md), over a mixed-size batch (odd sizes, grey and RGB), two seeds and
//! several strengths. Needs the `cuda` feature AND a GPU; anywhere else it prints "SKIPPED: ..."
//! and returns.

#[cfg(not(feature = "cuda"))]
#[test]
#[ignore = "needs the `cuda` feature and a GPU: tools/gpu_check.sh"]
fn cuda_parity_us_skipped() {
    eprintln!("SKIPPED: built without the `cuda` feature (cargo test --features cuda --test cuda_parity_us)");
}

#[cfg(feature = "cuda")]
mod cuda_support;

#[cfg(feature = "cuda")]
mod gpu {
    use super::cuda_support::{engine, test_image};
    use medfm_robust::backend::cuda::{us, DeviceBatch};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::Image;

    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn us_acoustic_shadow_matches_cpu() {
        let Some(e) = engine("us_acoustic_shadow_matches_cpu") else {
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
            for id in ["us_acoustic_shadow"] {
                let pert = by_id(id).unwrap();
                let (lo, hi) = pert.info().strength_range;
                for f in [0.0f32, 0.25, 0.6, 1.0] {
                    let strengths: Vec<f32> = (0..imgs.len())
                        .map(|k| lo + (hi - lo) * f * (1.0 - 0.1 * k as f32))
                        .collect();
                    let prep: Vec<_> = imgs
                        .iter()
                        .zip(&ctxs)
                        .map(|(im, c)| us::shadow_prepare(im, c))
                        .collect();
                    let got = us::acoustic_shadow(&e, &batch, &strengths, &prep)
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
                        // The device expf is not correctly rounded (<= 2 ulp): only the 1e-5 bound is asserted.
                        let _ = differ;
                    }
                }
            }
        }
    }

    /// us_reverberation: fields from the CPU's own `reverberation_fields`, uploaded once per batch
    /// and seed; device expf (<= 2 ulp), so only the 1e-5 bound is asserted.
    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn us_reverberation_matches_cpu() {
        let Some(e) = engine("us_reverberation_matches_cpu") else {
            return;
        };
        let shapes = [
            (13usize, 11usize, 1usize),
            (31, 17, 3),
            (64, 9, 1),
            (40, 41, 3),
            (128, 97, 1),
        ];
        let imgs: Vec<Image> = shapes
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| sector_image(w, h, c, k as u64))
            .collect();
        let refs: Vec<&Image> = imgs.iter().collect();
        let ids: Vec<u32> = (0..imgs.len() as u32).map(|k| 0x4100 + k).collect();
        let batch = DeviceBatch::upload(&e, &refs, &ids).unwrap();
        let pert = by_id("us_reverberation").unwrap();
        let (lo, hi) = pert.info().strength_range;
        for seed in [0u64, 9, 31337] {
            let prepared = us::ReverberationPrepared::new(&e, &refs, &batch, seed).unwrap();
            for f in [0.0f32, 0.2, 0.45, 0.8, 1.0] {
                let strengths: Vec<f32> = (0..imgs.len())
                    .map(|k| lo + (hi - lo) * f * (1.0 - 0.1 * k as f32))
                    .collect();
                let got = prepared
                    .apply(&e, &batch, &strengths)
                    .unwrap()
                    .download(&e)
                    .unwrap();
                for (k, img) in imgs.iter().enumerate() {
                    let cpu = pert
                        .prepare(img, &Ctx::new(seed, ids[k]))
                        .unwrap()
                        .apply(strengths[k]);
                    for (x, y) in got[k].data.iter().zip(&cpu.data) {
                        assert!(
                            (x - y).abs() <= 1e-5 * y.abs().max(1.0),
                            "us_reverberation image {k} seed {seed} s {}: gpu {x} cpu {y}",
                            strengths[k]
                        );
                    }
                }
            }
        }
    }

    /// A sector-shaped speckled image (apex at the top centre), so the cone and echoes are real.
    fn sector_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = medfm_robust::rng::Rng::new(seed, 8, 3);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let (x, y) = (
                (i % w) as f32 + 0.5 - w as f32 / 2.0,
                ((i / w) % h) as f32 + 0.5,
            );
            *v = if x.abs() < 0.7 * y {
                0.3 + 0.5 * rng.uniform(0, i as u32)
            } else {
                0.0
            };
        }
        img
    }
}
