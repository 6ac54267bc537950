//! GPU parity of kernels/geometric.cu (rotation, scaling, translation) against the CPU warps
//! (tolerances of spec/gpu.md), over a mixed-size batch (odd sizes, grey and RGB), two seeds and
//! several strengths. Needs the `cuda` feature AND a GPU; anywhere else it prints "SKIPPED: ..."
//! and returns.

#[cfg(not(feature = "cuda"))]
#[test]
#[ignore = "needs the `cuda` feature and a GPU: tools/gpu_check.sh"]
fn cuda_parity_geometric_skipped() {
    eprintln!("SKIPPED: built without the `cuda` feature (cargo test --features cuda --test cuda_parity_geometric)");
}

#[cfg(feature = "cuda")]
mod cuda_support;

#[cfg(feature = "cuda")]
mod gpu {
    use super::cuda_support::{engine, test_image};
    use medfm_robust::backend::cuda::{geometric, DeviceBatch};
    use medfm_robust::perturb::device::{family_ids, Family};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::Image;

    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn warps_match_cpu() {
        let Some(e) = engine("warps_match_cpu") else {
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
            for id in family_ids(Family::Warp) {
                let pert = by_id(id).unwrap();
                let (lo, hi) = pert.info().strength_range;
                for f in [0.0f32, 0.25, 0.6, 1.0] {
                    let strengths: Vec<f32> = (0..imgs.len())
                        .map(|k| lo + (hi - lo) * f * (1.0 - 0.1 * k as f32))
                        .collect();
                    let got = geometric::apply(&e, id, &batch, &strengths, &ctxs)
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
                        assert!(
                            differ * 1000 <= cpu.data.len(),
                            "{id} image {k}: {differ} samples not bit-identical"
                        );
                    }
                }
            }
        }
    }
}
