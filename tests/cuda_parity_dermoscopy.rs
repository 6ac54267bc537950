//! GPU parity of kernels/dermoscopy.cu (derm_vignette) against the CPU oracle (spec/gpu.md
//! tolerances). Needs the `cuda` feature AND a GPU; anywhere else it prints "SKIPPED: ..." and
//! returns.

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_parity_dermoscopy_skipped() {
    eprintln!("SKIPPED: built without the `cuda` feature (cargo test --features cuda --test cuda_parity_dermoscopy)");
}

#[cfg(feature = "cuda")]
mod gpu {
    use medfm_robust::backend::cuda::{dermoscopy, CudaEngine, DeviceBatch};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::rng::Rng;
    use medfm_robust::Image;

    fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
        let rng = Rng::new(seed, 5, 6);
        let mut img = Image::new(w, h, c);
        for (i, v) in img.data.iter_mut().enumerate() {
            *v = rng.uniform(0, i as u32);
        }
        img
    }

    #[test]
    fn derm_vignette_matches_cpu_mixed_batch() {
        let e = match CudaEngine::new(0) {
            Ok(e) => e,
            Err(err) => {
                eprintln!("SKIPPED derm_vignette_matches_cpu_mixed_batch: {err}");
                return;
            }
        };
        let shapes = [(11usize, 11usize, 3usize), (17, 13, 1), (64, 48, 3), (97, 31, 3), (160, 129, 1)];
        let imgs: Vec<Image> = shapes.iter().enumerate().map(|(i, &(w, h, c))| test_image(w, h, c, i as u64)).collect();
        let ids: Vec<u32> = (0..imgs.len() as u32).collect();
        let batch = DeviceBatch::upload(&e, &imgs.iter().collect::<Vec<_>>(), &ids).unwrap();
        let strengths = [0.0f32, 0.5, 1.75, 2.0, 4.0];
        let got = dermoscopy::apply(&e, "derm_vignette", &batch, &strengths).unwrap().download(&e).unwrap();
        for (i, img) in imgs.iter().enumerate() {
            let want = by_id("derm_vignette").unwrap().prepare(img, &Ctx::new(1, ids[i])).unwrap().apply(strengths[i]);
            let mut differ = 0;
            for (g, w) in got[i].data.iter().zip(&want.data) {
                assert!((g - w).abs() <= 1e-5, "image {i}: {g} vs {w}");
                differ += (g.to_bits() != w.to_bits()) as usize;
            }
            assert!(differ * 1000 <= want.data.len(), "image {i}: {differ} samples differ");
        }
    }
}
