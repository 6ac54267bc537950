//! The fused-SSIM kernel's tile numbering (kernels/ssim.cu), computed on the host: which tiles of
//! the valid SSIM map each image of a batch owns. Compiled with or without the `cuda` feature, so
//! the host emulation of the kernel (tests/cuda_emulated.rs) numbers tiles with this very code.

use super::params::{ImageDesc, SsimParams};
use super::BackendError;

/// Side of the square output tile of one `ssim_tiles` block (kernels/ssim.cuh `MFR_SSIM_TILE`).
pub const SSIM_TILE: u32 = 32;
/// The window radii the kernel is instantiated for (kernels/ssim.cu `ssim_tiles`).
const SSIM_RADII: [u32; 2] = [3, 5];

/// First tile of each image (n + 1 entries) for the valid-map tiling of kernels/ssim.cu.
/// Errors if an image is smaller than the window, the radius has no kernel instantiation or the
/// tile count overflows u32.
pub fn tile_starts(descs: &[ImageDesc], p: &SsimParams) -> Result<Vec<u32>, BackendError> {
    if !SSIM_RADII.contains(&p.radius) {
        return Err(BackendError::cuda(
            "ssim",
            format!("window radius {} has no kernel (3 or 5)", p.radius),
        ));
    }
    let win = p.window() as u32;
    let mut starts = Vec::with_capacity(descs.len() + 1);
    let mut acc: u64 = 0;
    for d in descs {
        if d.width < win || d.height < win {
            return Err(BackendError::cuda(
                "ssim",
                format!(
                    "image {}x{} is smaller than the {win}x{win} SSIM window",
                    d.width, d.height
                ),
            ));
        }
        starts.push(
            u32::try_from(acc)
                .map_err(|_| BackendError::cuda("ssim", "too many tiles in one batch"))?,
        );
        let vw = (d.width - 2 * p.radius) as u64;
        let vh = (d.height - 2 * p.radius) as u64;
        acc += vw.div_ceil(SSIM_TILE as u64) * vh.div_ceil(SSIM_TILE as u64);
    }
    starts.push(
        u32::try_from(acc)
            .map_err(|_| BackendError::cuda("ssim", "too many tiles in one batch"))?,
    );
    Ok(starts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssim::SsimVariant;

    fn desc(width: u32, height: u32) -> ImageDesc {
        ImageDesc {
            width,
            height,
            channels: 3,
            ..Default::default()
        }
    }

    #[test]
    fn tile_starts_count_32px_tiles_of_the_valid_map() {
        let p = SsimParams::for_variant(SsimVariant::Wang, 3); // radius 5
                                                               // valid maps 1x1, 32x32 and 33x502: 1, 1 and 2 * 16 tiles
        let starts = tile_starts(&[desc(11, 11), desc(42, 42), desc(43, 512)], &p).unwrap();
        assert_eq!(starts, vec![0, 1, 2, 34]);
        let p = SsimParams::for_variant(SsimVariant::Skimage, 1); // radius 3: 506x506 valid
        assert_eq!(tile_starts(&[desc(512, 512)], &p).unwrap(), vec![0, 256]);
    }

    #[test]
    fn tile_starts_reject_small_images_and_radii_without_a_kernel() {
        let p = SsimParams::for_variant(SsimVariant::Wang, 1);
        let e = tile_starts(&[desc(10, 30)], &p).unwrap_err().to_string();
        assert!(e.contains("10x30") && e.contains("11x11"), "{e}");
        let mut p = SsimParams::for_variant(SsimVariant::Skimage, 1);
        p.radius = 4;
        let e = tile_starts(&[desc(64, 64)], &p).unwrap_err().to_string();
        assert!(e.contains("radius 4"), "{e}");
    }
}
