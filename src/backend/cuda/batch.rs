//! Packed image batches on the device: planar images back to back in one f32 buffer plus the
//! per-image descriptor table ([`ImageDesc`]) the kernels index through, so mixed sizes need no
//! padding (spec/gpu.md).

use super::{err, CudaEngine};
use crate::backend::params::ImageDesc;
use crate::backend::BackendError;
use crate::image::Image;
use cudarc::driver::{CudaSlice, LaunchConfig};

/// The `apply` of every prepared kernel (host strengths in, a new batch out): check one strength
/// per image, make a zeroed batch of `input`'s layout, upload the strengths and call `launch`
/// (the kernel's device-strength entry). An empty batch launches nothing.
pub fn apply_with(
    engine: &CudaEngine,
    id: &str,
    input: &DeviceBatch,
    strengths: &[f32],
    launch: impl FnOnce(&mut DeviceBatch, &CudaSlice<f32>) -> Result<(), BackendError>,
) -> Result<DeviceBatch, BackendError> {
    if strengths.len() != input.len() {
        return Err(BackendError::cuda(
            id.to_string(),
            "one strength per image is required",
        ));
    }
    let mut out = DeviceBatch::zeros_like(engine, input)?;
    if input.is_empty() {
        return Ok(out);
    }
    let strength = engine
        .stream()
        .clone_htod(strengths)
        .map_err(err("strength upload"))?;
    launch(&mut out, &strength)?;
    Ok(out)
}

/// A batch resident on the GPU. `descs` (host copy) and `d_descs` (device copy) describe the same
/// layout; `data` holds `total` samples.
pub struct DeviceBatch {
    pub descs: Vec<ImageDesc>,
    pub d_descs: CudaSlice<ImageDesc>,
    pub data: CudaSlice<f32>,
    pub total: usize,
}

/// Descriptor table for `images` packed back to back; `image_ids[i]` is image i's RNG id.
pub fn layout(
    images: &[&Image],
    image_ids: &[u32],
) -> Result<(Vec<ImageDesc>, usize), BackendError> {
    if images.len() != image_ids.len() {
        return Err(BackendError::cuda(
            "batch layout",
            "one image id per image is required",
        ));
    }
    if images.len() > 65_535 {
        return Err(BackendError::cuda(
            "batch layout",
            "at most 65535 images per launch (grid.y)",
        ));
    }
    let mut offset = 0usize;
    let mut descs = Vec::with_capacity(images.len());
    for (img, &image_id) in images.iter().zip(image_ids) {
        let too_big = |v: usize| u32::try_from(v).is_err();
        if too_big(img.width) || too_big(img.height) || too_big(img.plane_len()) {
            return Err(BackendError::cuda(
                "batch layout",
                format!("image {} too large", img.shape_str()),
            ));
        }
        descs.push(ImageDesc {
            offset: offset as u64,
            width: img.width as u32,
            height: img.height as u32,
            channels: img.channels as u32,
            image_id,
        });
        offset += img.data.len();
    }
    Ok((descs, offset))
}

impl DeviceBatch {
    /// Upload `images` (any sizes, 1 or 3 channels).
    pub fn upload(
        engine: &CudaEngine,
        images: &[&Image],
        image_ids: &[u32],
    ) -> Result<Self, BackendError> {
        let (descs, total) = layout(images, image_ids)?;
        let mut host = Vec::with_capacity(total);
        for img in images {
            host.extend_from_slice(&img.data);
        }
        let s = engine.stream();
        let data = s.clone_htod(&host).map_err(err("batch upload"))?;
        let d_descs = s.clone_htod(&descs).map_err(err("batch upload"))?;
        Ok(DeviceBatch {
            descs,
            d_descs,
            data,
            total,
        })
    }

    /// A zeroed batch with the same layout (kernel outputs).
    pub fn zeros_like(engine: &CudaEngine, other: &DeviceBatch) -> Result<Self, BackendError> {
        let s = engine.stream();
        let data = s
            .alloc_zeros::<f32>(other.total.max(1))
            .map_err(err("batch alloc"))?;
        let d_descs = s.clone_htod(&other.descs).map_err(err("batch alloc"))?;
        Ok(DeviceBatch {
            descs: other.descs.clone(),
            d_descs,
            data,
            total: other.total,
        })
    }

    pub fn len(&self) -> usize {
        self.descs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.descs.is_empty()
    }

    /// Largest plane (w * h) of the batch: the launch grid's x extent.
    pub fn max_plane(&self) -> usize {
        self.descs
            .iter()
            .map(|d| d.width as usize * d.height as usize)
            .max()
            .unwrap_or(0)
    }

    /// Launch shape of the one-thread-per-sample kernels: `threads` per block, grid.x covering
    /// the largest image's w * h * channels samples, grid.y = one image each; `None` when there is
    /// nothing to launch (empty batch or empty images). `id` names the perturbation in the error.
    pub fn sample_grid(
        &self,
        threads: u32,
        id: &str,
    ) -> Result<Option<LaunchConfig>, BackendError> {
        let most = self
            .descs
            .iter()
            .map(|d| d.width as usize * d.height as usize * d.channels as usize)
            .max()
            .unwrap_or(0);
        if self.is_empty() || most == 0 {
            return Ok(None);
        }
        let blocks_x = u32::try_from(most.div_ceil(threads as usize))
            .map_err(|_| BackendError::cuda(id.to_string(), "image too large for one launch"))?;
        Ok(Some(LaunchConfig {
            grid_dim: (blocks_x, self.len() as u32, 1),
            block_dim: (threads, 1, 1),
            shared_mem_bytes: 0,
        }))
    }

    /// Download back into [`Image`]s.
    pub fn download(&self, engine: &CudaEngine) -> Result<Vec<Image>, BackendError> {
        let host = engine
            .stream()
            .clone_dtoh(&self.data)
            .map_err(err("batch download"))?;
        Ok(self
            .descs
            .iter()
            .map(|d| {
                let n = (d.width * d.height * d.channels) as usize;
                let o = d.offset as usize;
                Image::from_planes(
                    d.width as usize,
                    d.height as usize,
                    d.channels as usize,
                    host[o..o + n].to_vec(),
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_packs_mixed_sizes_back_to_back() {
        let a = Image::new(5, 3, 1);
        let b = Image::new(7, 2, 3);
        let (d, total) = layout(&[&a, &b], &[11, 12]).unwrap();
        assert_eq!(total, 15 + 42);
        assert_eq!((d[0].offset, d[1].offset), (0, 15));
        assert_eq!(
            (d[1].width, d[1].height, d[1].channels, d[1].image_id),
            (7, 2, 3, 12)
        );
        assert!(layout(&[&a], &[]).is_err());
    }
}
