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
