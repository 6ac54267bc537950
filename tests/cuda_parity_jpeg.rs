//! GPU parity of kernels/jpeg.cu against the CPU jpeg (src/perturb/base/jpeg/, the
//! jpeg-encoder + zune-jpeg round trip computed without the bitstream): one mixed-size batch (odd sizes, partial MCUs, grey and
//! RGB, 1 x 1 and 1-pixel-wide images), per-image strengths, qualities 100 to 1 and s = 0.
//! Tolerance (spec/gpu.md, u8 outputs): every sample equal or one level off, at most 0.1% of the
//! samples off; the kernel's math is an exact emulation (bit-identical on the host,
//! tests/cuda_host_math_jpeg.rs), so 0 differing samples are expected and the count is printed.
//! Needs the `cuda` feature AND a GPU; anywhere else it prints "SKIPPED: ..." and returns.

#[cfg(not(feature = "cuda"))]
#[test]
#[ignore = "needs the `cuda` feature and a GPU: tools/gpu_check.sh"]
fn cuda_parity_jpeg_skipped() {
    eprintln!("SKIPPED: built without the `cuda` feature (cargo test --features cuda --test cuda_parity_jpeg)");
}

#[cfg(feature = "cuda")]
mod cuda_support;

#[cfg(feature = "cuda")]
mod gpu {
    use super::cuda_support::{engine, test_image};
    use medfm_robust::backend::cuda::{jpeg, DeviceBatch};
    use medfm_robust::perturb::{by_id, Ctx};
    use medfm_robust::Image;

    const SHAPES: [(usize, usize, usize); 9] = [
        (13, 11, 1),
        (31, 17, 3),
        (64, 9, 1),
        (40, 41, 3),
        (1, 7, 3),
        (17, 33, 1),
        (100, 75, 3),
        (1, 1, 1),
        (16, 16, 3),
    ];

    /// Strength at quality q (inverse of jpeg.rs `quality`).
    fn strength_for(q: u32) -> f32 {
        (100 - q) as f32 / 99.0
    }

    /// u8-output parity: returns (samples not bit-identical, samples one level off); panics past
    /// the spec's tolerance.
    fn check_levels(gpu: &Image, cpu: &Image, what: &str) -> (usize, usize) {
        assert_eq!(gpu.data.len(), cpu.data.len(), "{what}: length");
        let (mut differ, mut off_by_one) = (0usize, 0usize);
        for (x, y) in gpu.data.iter().zip(&cpu.data) {
            if x.to_bits() == y.to_bits() {
                continue;
            }
            differ += 1;
            let d = ((x * 255.0).round() - (y * 255.0).round()).abs();
            assert!(d <= 1.0, "{what}: gpu {x} cpu {y} differ by {d} levels");
            off_by_one += 1;
        }
        assert!(
            off_by_one * 1000 <= cpu.data.len(),
            "{what}: {off_by_one} of {} samples one level off",
            cpu.data.len()
        );
        (differ, off_by_one)
    }

    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn jpeg_matches_cpu() {
        let Some(e) = engine("jpeg_matches_cpu") else {
            return;
        };
        let imgs: Vec<Image> = SHAPES
            .iter()
            .enumerate()
            .map(|(k, &(w, h, c))| test_image(w, h, c, 70 + k as u64))
            .collect();
        let refs: Vec<&Image> = imgs.iter().collect();
        let ids: Vec<u32> = (0..imgs.len() as u32).map(|k| 0x7000 + k).collect();
        let batch = DeviceBatch::upload(&e, &refs, &ids).unwrap();
        let pert = by_id("jpeg").unwrap();
        let prepared: Vec<_> = imgs
            .iter()
            .map(|im| pert.prepare(im, &Ctx::new(0, 0)).unwrap())
            .collect();
        let (mut total, mut differ) = (0usize, 0usize);
        for q in [100u32, 99, 95, 90, 75, 50, 20, 5, 1] {
            // per-image strengths: image k at a quality a few steps from q (s = 0 for one image)
            let strengths: Vec<f32> = (0..imgs.len())
                .map(|k| {
                    if k == 3 && q == 50 {
                        0.0
                    } else {
                        strength_for(q.saturating_sub(k as u32 % 3).max(1))
                    }
                })
                .collect();
            let got = jpeg::apply(&e, &batch, &strengths)
                .unwrap()
                .download(&e)
                .unwrap();
            for (k, p) in prepared.iter().enumerate() {
                let cpu = p.apply(strengths[k]);
                let what = format!("jpeg image {k} {} s {}", imgs[k].shape_str(), strengths[k]);
                differ += check_levels(&got[k], &cpu, &what).0;
                total += cpu.data.len();
            }
        }
        eprintln!(
            "jpeg GPU parity: {differ} of {total} samples not bit-identical to the CPU round trip"
        );
    }

    /// Channel counts JPEG cannot hold are a typed error, as the CPU `prepare` refuses them.
    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn jpeg_rejects_two_channels() {
        let Some(e) = engine("jpeg_rejects_two_channels") else {
            return;
        };
        let img = test_image(9, 9, 2, 1);
        let batch = DeviceBatch::upload(&e, &[&img], &[1]).unwrap();
        assert!(jpeg::apply(&e, &batch, &[0.5]).is_err());
    }
}
