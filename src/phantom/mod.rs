//! Built-in synthetic images ("phantoms"), one per modality, with a lesion/structure mask.
//! Deterministic from a seed; sizes configurable. Used by `demo`, tests and benches.
//! Each modality lives in its own file with `pub fn make(width, height, channels, seed) -> (Image, Mask)`.

mod ct;
mod dermoscopy;
mod endoscopy;
mod mri;
mod oct;
mod pathology;
mod us;
mod xray;

use crate::image::{Image, Mask};
use crate::perturb::Modality;

/// A phantom image and its mask.
pub struct Phantom {
    pub modality: Modality,
    pub image: Image,
    pub mask: Mask,
}

/// The phantom of `modality` at `width x height`. `channels` is 1 or 3: grey modalities (CT, MRI,
/// US, OCT, X-ray) repeat their grey plane when 3 are asked for; colour modalities (pathology,
/// endoscopy, dermoscopy) give their luminance when 1 is asked for.
pub fn phantom(modality: Modality, width: usize, height: usize, channels: usize, seed: u64) -> Phantom {
    let (image, mask) = match modality {
        Modality::Ct => ct::make(width, height, channels, seed),
        Modality::Mri => mri::make(width, height, channels, seed),
        Modality::Us => us::make(width, height, channels, seed),
        Modality::Pathology => pathology::make(width, height, channels, seed),
        Modality::Endoscopy => endoscopy::make(width, height, channels, seed),
        Modality::Oct => oct::make(width, height, channels, seed),
        Modality::Xray => xray::make(width, height, channels, seed),
        Modality::Dermoscopy => dermoscopy::make(width, height, channels, seed),
    };
    debug_assert_eq!((image.width, image.height, image.channels), (width, height, channels));
    Phantom { modality, image, mask }
}

/// The channel count a modality's images usually have: RGB for pathology, endoscopy and
/// dermoscopy, grey otherwise.
pub fn natural_channels(modality: Modality) -> usize {
    match modality {
        Modality::Pathology | Modality::Endoscopy | Modality::Dermoscopy => 3,
        _ => 1,
    }
}

/// PLACEHOLDER shared by the per-modality files until each has its real phantom: a smooth
/// textured gradient with a disc lesion.
pub(crate) fn placeholder(width: usize, height: usize, channels: usize, seed: u64) -> (Image, Mask) {
    let mut image = Image::new(width, height, channels);
    let mut mask = Mask::new(width, height);
    let ph = (seed % 97) as f32 * 0.1;
    let (cx, cy, r) = (width as f32 * 0.55, height as f32 * 0.45, width.min(height) as f32 * 0.18);
    for c in 0..channels {
        for y in 0..height {
            for x in 0..width {
                let fx = x as f32 / width as f32;
                let fy = y as f32 / height as f32;
                let mut v = 0.2 + 0.5 * fx * (1.0 - fy) + 0.1 * ((fx * 17.0 + ph).sin() * (fy * 11.0).cos()) + 0.05 * c as f32;
                let d = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
                if d < r {
                    v += 0.25;
                    mask.data[y * width + x] = 1;
                }
                image.data[c * width * height + y * width + x] = v.clamp(0.0, 1.0);
            }
        }
    }
    (image, mask)
}
