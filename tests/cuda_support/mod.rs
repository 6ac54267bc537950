//! Shared by the GPU parity tests (tests/cuda_parity*.rs): the engine probe that turns "no GPU"
//! into a printed SKIPPED, the deterministic textured test image of the per-family tests, and the
//! sample-parity check of spec/gpu.md.
#![allow(dead_code)]

use medfm_robust::backend::cuda::CudaEngine;
use medfm_robust::rng::Rng;
use medfm_robust::Image;

/// The CUDA engine, or None after printing "SKIPPED <test>: <why>" (no driver, no device).
pub fn engine(test: &str) -> Option<CudaEngine> {
    match CudaEngine::new(0) {
        Ok(e) => Some(e),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

/// A smooth textured image with a little keyed noise, values in [0, 1].
pub fn test_image(w: usize, h: usize, c: usize, seed: u64) -> Image {
    let rng = Rng::new(seed, 1, 2);
    let mut img = Image::new(w, h, c);
    for (i, v) in img.data.iter_mut().enumerate() {
        let (x, y) = ((i % w) as f32, ((i / w) % h) as f32);
        *v = (0.5
            + 0.4 * (x * 0.21).sin() * (y * 0.17).cos()
            + 0.1 * (rng.uniform(0, i as u32) - 0.5))
            .clamp(0.0, 1.0);
    }
    img
}

/// Sample parity (spec/gpu.md): |gpu - cpu| <= 1e-5 relative to max(|cpu|, 1) (the [0, 1] data
/// range) everywhere; with `bit_level`, also at most 0.1% of the samples not bit-identical (kernels
/// without device transcendental functions). Returns (worst difference, samples not identical).
pub fn check_f32(gpu: &[f32], cpu: &[f32], bit_level: bool, what: &str) -> (f32, usize) {
    assert_eq!(gpu.len(), cpu.len(), "{what}: length");
    let mut worst = 0.0f32;
    let mut differ = 0usize;
    for (x, y) in gpu.iter().zip(cpu) {
        worst = worst.max((x - y).abs() / y.abs().max(1.0));
        differ += (x.to_bits() != y.to_bits()) as usize;
    }
    assert!(worst <= 1e-5, "{what}: worst difference {worst}");
    if bit_level {
        assert!(
            differ * 1000 <= cpu.len(),
            "{what}: {differ} of {} samples differ",
            cpu.len()
        );
    }
    (worst, differ)
}
