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

/// Smallest phantom side: the 11x11 SSIM window and the perturbations' kernels need room.
pub const MIN_SIZE: usize = 32;
/// Largest phantom side: 8192 x 8192 is the default pixel limit of the readers
/// (crate::io::DEFAULT_MAX_PIXELS).
pub const MAX_SIZE: usize = 8192;

/// [`phantom`] with its arguments checked: each side in [`MIN_SIZE`]..=[`MAX_SIZE`], 1 or 3
/// channels; a named error otherwise, never a panic.
pub fn try_phantom(
    modality: Modality,
    width: usize,
    height: usize,
    channels: usize,
    seed: u64,
) -> crate::error::Result<Phantom> {
    crate::error::Error::check_range(
        "phantom width",
        width as u64,
        MIN_SIZE as u64,
        MAX_SIZE as u64,
    )?;
    crate::error::Error::check_range(
        "phantom height",
        height as u64,
        MIN_SIZE as u64,
        MAX_SIZE as u64,
    )?;
    if channels != 1 && channels != 3 {
        return Err(crate::error::Error::invalid(
            "phantom channels",
            format!("{channels}; use 1 or 3"),
        ));
    }
    Ok(phantom(modality, width, height, channels, seed))
}

/// The phantom of `modality` at `width x height`. `channels` is 1 or 3: grey modalities (CT, MRI,
/// US, OCT, X-ray) repeat their grey plane when 3 are asked for; colour modalities (pathology,
/// endoscopy, dermoscopy) give their luminance when 1 is asked for.
///
/// Panics on a side of 0 or above [`MAX_SIZE`] or a channel count other than 1 or 3 (sides below
/// [`MIN_SIZE`] are allowed here for tests of small images); use [`try_phantom`] for sizes that
/// come from a user.
pub fn phantom(
    modality: Modality,
    width: usize,
    height: usize,
    channels: usize,
    seed: u64,
) -> Phantom {
    assert!(
        (1..=MAX_SIZE).contains(&width) && (1..=MAX_SIZE).contains(&height) && (channels == 1 || channels == 3),
        "phantom: {width}x{height}x{channels} is outside 1..={MAX_SIZE} per side, 1 or 3 channels; use try_phantom"
    );
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
    debug_assert_eq!(
        (image.width, image.height, image.channels),
        (width, height, channels)
    );
    Phantom {
        modality,
        image,
        mask,
    }
}

/// The channel count a modality's images usually have: RGB for pathology, endoscopy and
/// dermoscopy, grey otherwise.
pub fn natural_channels(modality: Modality) -> usize {
    match modality {
        Modality::Pathology | Modality::Endoscopy | Modality::Dermoscopy => 3,
        _ => 1,
    }
}
