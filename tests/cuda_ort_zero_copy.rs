//! Zero-copy handoff (src/backend/cuda/ort_io.rs): a batch that lives in device memory goes to an
//! ONNX Runtime session with the CUDA execution provider as a CUDA-memory tensor, and the
//! session's output equals the output for the same batch given as a host tensor (the demo encoder,
//! models/demo/encoder.onnx, input [batch, 3, 256, 256]).
//!
//! Runs only where all three are present: the `cuda` feature, a GPU, and an ONNX Runtime library
//! with the CUDA execution provider (onnxruntime-gpu, via ORT_DYLIB_PATH). Anywhere else it prints
//! SKIPPED with the missing piece and passes. The project's default library (tools/setup_ort.sh)
//! is the CPU build, so this test skips in CI.

#[cfg(not(feature = "cuda"))]
#[test]
#[ignore = "needs the `cuda` feature and a GPU: tools/gpu_check.sh"]
fn cuda_ort_zero_copy_skipped() {
    eprintln!("SKIPPED: built without the `cuda` feature");
}

#[cfg(feature = "cuda")]
mod cuda_support;

#[cfg(feature = "cuda")]
mod gpu {
    use super::cuda_support::{engine, test_image};
    use medfm_robust::backend::cuda::ort_io::batch_tensor;
    use medfm_robust::backend::cuda::DeviceBatch;
    use medfm_robust::eval::seg::ort::{open_session, Device};
    use medfm_robust::Image;
    use ort::value::TensorRef;
    use std::path::Path;

    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn device_batch_feeds_the_cuda_provider_without_a_host_copy() {
        let Some(e) = engine("device_batch_feeds_the_cuda_provider_without_a_host_copy") else {
            return;
        };
        let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo/encoder.onnx");
        let mut session = match open_session(&model, Device::Cuda(0), 1) {
            Ok(s) => s,
            Err(err) => {
                eprintln!("SKIPPED device_batch_feeds_the_cuda_provider_without_a_host_copy: no ONNX Runtime with the CUDA provider here ({err})");
                return;
            }
        };
        let imgs: Vec<Image> = (0..3).map(|i| test_image(256, 256, 3, 40 + i)).collect();
        let batch = DeviceBatch::upload(&e, &imgs.iter().collect::<Vec<_>>(), &[1, 2, 3]).unwrap();

        let device_out: Vec<f32> = {
            let t = batch_tensor(&e, &batch, 0).unwrap();
            let outs = session.run(ort::inputs!["image" => t]).unwrap();
            outs["image_embeddings"]
                .try_extract_tensor::<f32>()
                .unwrap()
                .1
                .to_vec()
        };
        let host: Vec<f32> = imgs.iter().flat_map(|im| im.data.iter().copied()).collect();
        let host_out: Vec<f32> = {
            let t = TensorRef::from_array_view(([3i64, 3, 256, 256], host.as_slice())).unwrap();
            let outs = session.run(ort::inputs!["image" => t]).unwrap();
            outs["image_embeddings"]
                .try_extract_tensor::<f32>()
                .unwrap()
                .1
                .to_vec()
        };
        assert_eq!(device_out.len(), host_out.len());
        let worst = device_out
            .iter()
            .zip(&host_out)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= 1e-6,
            "device-tensor and host-tensor runs differ by {worst}"
        );
    }

    #[test]
    #[ignore = "needs a GPU: tools/gpu_check.sh"]
    fn mixed_size_batches_are_refused() {
        let Some(e) = engine("mixed_size_batches_are_refused") else {
            return;
        };
        let a = test_image(32, 32, 3, 1);
        let b = test_image(40, 32, 3, 2);
        let batch = DeviceBatch::upload(&e, &[&a, &b], &[1, 2]).unwrap();
        let err = batch_tensor(&e, &batch, 0)
            .expect_err("mixed sizes have no NCHW view")
            .to_string();
        assert!(err.contains("image 1 is 40x32x3"), "{err}");
    }
}
