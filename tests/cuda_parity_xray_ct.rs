//! GPU parity of kernels/xray.cu and kernels/ct.cu against the CPU perturbations (tolerances of
//! spec/gpu.md: |gpu - cpu| <= 1e-5 of the range, <= 0.1% of samples not bit-identical), over a
//! mixed-size batch (odd sizes, grey and RGB) and several strengths. Needs the `cuda` feature AND
//! a GPU; anywhere else it prints "SKIPPED: ..." and returns.

#[cfg(not(feature = "cuda"))]
#[test]
#[ignore = "needs the `cuda` feature and a GPU: tools/gpu_check.sh"]
fn cuda_parity_xray_ct_skipped() {
    eprintln!("SKIPPED: built without the `cuda` feature (cargo test --features cuda --test cuda_parity_xray_ct)");
}

#[cfg(feature = "cuda")]
mod cuda_support;

#[cfg(feature = "cuda")]
mod gpu {
    use super::cuda_support::{check_f32, engine};
    use medfm_robust::backend::cuda::{ct, xray, DeviceBatch};
    use medfm_robust::backend::params::RngKey;
    use medfm_robust::perturb::device::{family_ids, Family};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::{fnv1a32, Rng};
    use medfm_robust::Image;

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 1, 2);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            let (x, y) = (
                (i % w) as f32 / w as f32 - 0.5,
                ((i / w) % h) as f32 / h as f32 - 0.5,
            );
            let body = if x * x + y * y < 0.16 { 0.6 } else { 0.05 };
            *v = (body + 0.2 * (rng.uniform(0, i as u32) - 0.5)).clamp(0.0, 1.0);
        }
        img
    }

    const SHAPES: [(usize, usize, usize); 4] = [(13, 11, 1), (31, 17, 3), (64, 9, 1), (40, 41, 3)];

    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn xray_and_ct_kernels_match_cpu() {
        let Some(e) = engine("xray_and_ct_kernels_match_cpu") else {
            return;
        };
        let imgs: Vec<Image> = SHAPES
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, k as u64))
            .collect();
        let refs: Vec<&Image> = imgs.iter().collect();
        let ids: Vec<u32> = (0..imgs.len() as u32).map(|k| 0x2000 + k).collect();
        let batch = DeviceBatch::upload(&e, &refs, &ids).unwrap();
        for seed in [0u64, 9] {
            let ctxs: Vec<Ctx> = ids.iter().map(|&i| Ctx::new(seed, i)).collect();
            for id in &family_ids(Family::Xray)
                .into_iter()
                .chain(family_ids(Family::Ct))
                .chain(family_ids(Family::CtMetalStreaks))
                .collect::<Vec<_>>()
            {
                let pert = by_id(id).unwrap();
                let (lo, hi) = pert.info().strength_range;
                for f in [0.0f32, 0.25, 0.6, 1.0] {
                    let strengths: Vec<f32> = (0..imgs.len())
                        .map(|k| lo + (hi - lo) * f * (1.0 - 0.1 * k as f32))
                        .collect();
                    let key = RngKey::new(seed, fnv1a32(id));
                    let out = if *id == "ct_metal_streaks" {
                        // the streak field drawn once per batch by the CPU's metal_streak_field
                        ct::MetalStreaksPrepared::new(&e, &refs, &batch, seed)
                            .unwrap()
                            .apply(&e, &batch, &strengths)
                            .unwrap()
                    } else if family_ids(Family::Xray).contains(id) {
                        let fields: Vec<Vec<f32>> = imgs
                            .iter()
                            .zip(&ctxs)
                            .map(|(im, c)| xray::prepare_field(id, im, c))
                            .collect();
                        xray::apply(&e, id, &batch, &strengths, &fields, key).unwrap()
                    } else {
                        let params: Vec<f32> =
                            ctxs.iter().map(|c| ct::prepare_param(id, c)).collect();
                        let fields: Vec<Vec<f32>> =
                            imgs.iter().map(|im| ct::prepare_field(id, im)).collect();
                        ct::apply(&e, id, &batch, &strengths, &params, &fields, key).unwrap()
                    };
                    let got = out.download(&e).unwrap();
                    for (k, img) in imgs.iter().enumerate() {
                        let cpu = pert.prepare(img, &ctxs[k]).unwrap().apply(strengths[k]);
                        check_f32(
                            &got[k].data,
                            &cpu.data,
                            true,
                            &format!("{id} image {k} seed {seed} s {}", strengths[k]),
                        );
                    }
                }
            }
        }
    }
}
