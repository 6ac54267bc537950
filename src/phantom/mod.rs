//! Built-in synthetic images ("phantoms"), one per modality, with a lesion/structure mask.
//! Deterministic from a seed; sizes configurable. Used by `demo`, tests and benches.

use crate::image::{Image, Mask};
use crate::perturb::Modality;

/// A phantom image and its mask.
pub struct Phantom {
    pub modality: Modality,
    pub image: Image,
    pub mask: Mask,
}

/// The phantom of `modality` at `width x height` with `channels` (1 or 3; modalities that are
/// colour by nature, such as pathology, endoscopy and dermoscopy, are RGB when `channels == 3`).
pub fn phantom(modality: Modality, width: usize, height: usize, channels: usize, seed: u64) -> Phantom {
    let _ = seed;
    // PLACEHOLDER: a smooth gradient with a disc lesion until the per-modality phantoms land.
    let mut image = Image::new(width, height, channels);
    let mut mask = Mask::new(width, height);
    let (cx, cy, r) = (width as f32 * 0.55, height as f32 * 0.45, width.min(height) as f32 * 0.18);
    for c in 0..channels {
        for y in 0..height {
            for x in 0..width {
                let fx = x as f32 / width as f32;
                let fy = y as f32 / height as f32;
                let mut v = 0.2 + 0.5 * fx * (1.0 - fy) + 0.1 * ((fx * 17.0).sin() * (fy * 11.0).cos()) + 0.05 * c as f32;
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                if d < r {
                    v += 0.25;
                    mask.data[y * width + x] = 1;
                }
                image.data[c * width * height + y * width + x] = v.clamp(0.0, 1.0);
            }
        }
    }
    Phantom { modality, image, mask }
}
