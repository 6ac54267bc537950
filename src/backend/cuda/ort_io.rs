//! Zero-copy handoff of a device batch to ONNX Runtime (spec/evaluation.md): a [`DeviceBatch`]
//! of equally sized images is already an NCHW f32 tensor in device memory (images back to back,
//! planar), so it is given to a session with the CUDA execution provider as a CUDA-memory tensor
//! view: no download, no host copy, no device copy.
//!
//! Contract: the batch must hold `n` images of one shape `c x h x w` (mixed sizes have no NCHW
//! view: an error, never a silent repack). The view borrows the batch, so the batch cannot be
//! freed or changed while ONNX Runtime may read it. ONNX Runtime's CUDA provider runs on its own
//! stream: [`batch_tensor`] synchronises the engine's stream first, so every queued kernel that
//! writes the batch has finished when the session reads it. The engine uses the device's primary
//! context, which is the context ONNX Runtime's CUDA provider uses too.

use super::{CudaEngine, DeviceBatch};
use crate::backend::params::ImageDesc;
use crate::backend::BackendError;
use cudarc::driver::DevicePtr;
use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
use ort::value::{Shape, TensorRefMut};

/// The NCHW shape of a uniform batch, or an error naming the first image that differs.
pub fn nchw_shape(descs: &[ImageDesc]) -> Result<[i64; 4], BackendError> {
    let Some(first) = descs.first() else {
        return Err(BackendError::cuda("onnx handoff", "the batch is empty"));
    };
    for (i, d) in descs.iter().enumerate() {
        if (d.width, d.height, d.channels) != (first.width, first.height, first.channels) {
            return Err(BackendError::cuda(
                "onnx handoff",
                format!(
                    "image {i} is {}x{}x{}, image 0 is {}x{}x{}: an NCHW tensor needs one shape (resize first)",
                    d.width, d.height, d.channels, first.width, first.height, first.channels
                ),
            ));
        }
    }
    Ok([
        descs.len() as i64,
        first.channels as i64,
        first.height as i64,
        first.width as i64,
    ])
}

/// The batch as an `[n, c, h, w]` f32 tensor in CUDA memory of device `device_id` (the engine's
/// device), for `session.run` with the CUDA execution provider.
pub fn batch_tensor<'a>(
    engine: &CudaEngine,
    batch: &'a DeviceBatch,
    device_id: i32,
) -> Result<TensorRefMut<'a, f32>, BackendError> {
    let shape = nchw_shape(&batch.descs)?;
    engine.synchronize()?;
    let info = MemoryInfo::new(
        AllocationDevice::CUDA,
        device_id,
        AllocatorType::Device,
        MemoryType::Default,
    )
    .map_err(|e| BackendError::cuda("onnx handoff", format!("CUDA memory info: {e}")))?;
    let (ptr, _sync) = batch.data.device_ptr(engine.stream());
    // SAFETY: `ptr` is the start of `batch.data`, a live device allocation of `batch.total` f32
    // on this engine's device, and n * c * h * w == total because every image has the one shape
    // checked above and images are packed back to back. The returned view borrows `batch` for
    // 'a, so the allocation outlives it; the engine's stream was synchronised above, so no queued
    // kernel writes the memory while ONNX Runtime reads it.
    unsafe { TensorRefMut::from_raw(info, ptr as usize as *mut _, Shape::new(shape)) }
        .map_err(|e| BackendError::cuda("onnx handoff", format!("tensor view: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(offset: u64, w: u32, h: u32, c: u32) -> ImageDesc {
        ImageDesc {
            offset,
            width: w,
            height: h,
            channels: c,
            image_id: 0,
        }
    }

    #[test]
    fn nchw_shape_of_uniform_and_mixed_batches() {
        assert_eq!(
            nchw_shape(&[desc(0, 4, 3, 3), desc(36, 4, 3, 3)]).unwrap(),
            [2, 3, 3, 4]
        );
        let e = nchw_shape(&[desc(0, 4, 3, 3), desc(36, 4, 3, 3), desc(72, 5, 3, 3)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("image 2 is 5x3x3"), "{e}");
        assert!(nchw_shape(&[]).is_err());
        assert!(
            nchw_shape(&[desc(0, 4, 3, 1), desc(12, 4, 3, 3)]).is_err(),
            "channel count differs"
        );
    }
}
