//! The perturbation catalogue: one [`Perturbation`] trait, one [`registry`].
//!
//! Every perturbation is a struct implementing [`Perturbation`]; [`registry::all`] lists them and
//! is the ONLY list in the crate: the CLI, manifests, reports, tests, benches and kernels enumerate
//! it. Ids are public names (CLI flag = manifest field = kernel symbol stem = test/bench id).
//!
//! Rules every implementation follows (spec/perturbations.md):
//! 1. all randomness comes from [`crate::rng::Rng`] keyed by (seed, image id, perturbation id) and
//!    is drawn in [`Perturbation::prepare`], at maximal extent, before any strength is known;
//! 2. [`Prepared::apply`] is a pure function of the strength: SSIM(clean, apply(s)) is
//!    non-increasing in s on typical images;
//! 3. strength 0 is the identity (exact, except jpeg);
//! 4. output is f32 in [0, 1], clipped;
//! 5. geometric perturbations warp the mask with the same transform (nearest neighbour, same
//!    border rule) in [`Prepared::warp_mask`]; all others leave it alone;
//! 6. grey and RGB both work; colour-only models work on luminance or return
//!    [`Error::NotApplicable`](crate::error::Error::NotApplicable).

pub mod common;
pub mod device;
pub mod registry;
pub mod volume;

pub mod base;
pub mod ct;
pub mod dermoscopy;
pub mod endoscopy;
pub mod mri;
pub mod oct;
pub mod pathology;
pub mod us;
pub mod xray;

use crate::error::Result;
use crate::image::{BitDepth, Image, Mask};
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

pub use registry::{all, by_id, catalogue, select};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Base,
    Medical,
    /// Beyond the paper's 40; excluded from paper-comparable selections unless asked for.
    Extra,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Base => "base",
            Category::Medical => "medical",
            Category::Extra => "extra",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Ct,
    Mri,
    Us,
    Pathology,
    Endoscopy,
    Oct,
    Xray,
    Dermoscopy,
}

impl Modality {
    pub const ALL: [Modality; 8] = [
        Modality::Ct,
        Modality::Mri,
        Modality::Us,
        Modality::Pathology,
        Modality::Endoscopy,
        Modality::Oct,
        Modality::Xray,
        Modality::Dermoscopy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Modality::Ct => "ct",
            Modality::Mri => "mri",
            Modality::Us => "us",
            Modality::Pathology => "pathology",
            Modality::Endoscopy => "endoscopy",
            Modality::Oct => "oct",
            Modality::Xray => "xray",
            Modality::Dermoscopy => "dermoscopy",
        }
    }

    /// Parse a modality name; `fundus` is an alias of `oct` (as in the reference code),
    /// `ultrasound` of `us`, `x-ray` of `xray`, `derm` of `dermoscopy`.
    pub fn parse(name: &str) -> Result<Modality> {
        let n = name.trim().to_ascii_lowercase();
        Ok(match n.as_str() {
            "ct" => Modality::Ct,
            "mri" | "mr" => Modality::Mri,
            "us" | "ultrasound" => Modality::Us,
            "pathology" | "histopathology" => Modality::Pathology,
            "endoscopy" => Modality::Endoscopy,
            "oct" | "fundus" => Modality::Oct,
            "xray" | "x-ray" | "cxr" => Modality::Xray,
            "dermoscopy" | "derm" => Modality::Dermoscopy,
            _ => {
                return Err(crate::error::Error::UnknownModality {
                    name: name.to_string(),
                })
            }
        })
    }
}

impl std::fmt::Display for Modality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the strength parameter behaves, which decides how calibration searches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StrengthKind {
    /// SSIM is continuous and non-increasing in s: plain bisection.
    Continuous,
    /// s is rounded to an integer (or an integer quality) internally: bisection, then the
    /// neighbouring integers are checked (small documented up-steps allowed).
    Integer,
    /// A warp (rotation, translation, scaling, row shifts): nearly monotone; neighbours checked.
    Warp,
}

/// Whether a perturbation needs colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// Works the same on every channel; grey and RGB alike.
    Any,
    /// A colour model (stain, blood); on grey input it works on luminance (documented per id).
    PrefersRgb,
}

/// Static metadata of a perturbation: what `list --json` prints and docs/perturbations.md shows.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    pub id: &'static str,
    pub category: Category,
    pub modality: Option<Modality>,
    /// Physical/photometric model in one line.
    pub model: &'static str,
    /// What the strength means (e.g. "sigma (fraction of range)").
    pub strength_name: &'static str,
    pub strength_range: (f32, f32),
    pub kind: StrengthKind,
    pub geometric: bool,
    pub colour: Colour,
    /// Where the model comes from (paper, library, file).
    pub source: &'static str,
    /// Allowed SSIM up-step over a 50-point sweep (0 for strictly non-increasing ones); non-zero
    /// only for integer and warp strengths, as the catalogue allows.
    pub monotone_tolerance: f32,
    /// How it runs on the GPU: its kernel, launch wrapper and op selector, or why it has none
    /// (src/perturb/device.rs, the GPU side's only catalogue).
    pub device: device::Device,
}

/// Everything a perturbation may depend on besides the image and strength.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub seed: u64,
    /// Stable hash of the image's path relative to the input root (see [`crate::io::image_id`]).
    pub image_id: u32,
}

impl Ctx {
    pub fn new(seed: u64, image_id: u32) -> Self {
        Ctx { seed, image_id }
    }

    /// The RNG for this (seed, image, perturbation).
    pub fn rng(&self, perturbation_id: &str) -> Rng {
        Rng::new(
            self.seed,
            self.image_id,
            crate::rng::fnv1a32(perturbation_id),
        )
    }
}

/// One perturbation of the catalogue.
pub trait Perturbation: Send + Sync {
    fn info(&self) -> &Info;

    /// Draw every random quantity and precompute everything that does not depend on the strength
    /// (noise fields, object lists, spectra, blurred copies). The result is applied at many
    /// strengths during calibration.
    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>>;

    fn id(&self) -> &'static str {
        self.info().id
    }

    /// For a strength that is an integer in disguise (kind Integer): its distinct steps, so
    /// calibration searches the integer domain directly. None for every other perturbation.
    fn integer_steps(&self) -> Option<IntegerSteps> {
        None
    }

    /// Convenience: prepare and apply once.
    fn apply(&self, img: &Image, strength: f32, ctx: &Ctx) -> Result<Image> {
        Ok(self.prepare(img, ctx)?.apply(strength))
    }

    /// How the op acts on a volume (src/perturb/volume.rs): per slice with each slice's own
    /// draws unless it overrides this.
    fn volume_form(&self) -> VolumeForm {
        VolumeForm::PerSlice
    }

    /// The op's own volumetric form, for [`VolumeForm::Own`]: `vol` is a grey volume whose
    /// channels are its slices.
    fn prepare_volume<'a>(&self, vol: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Err(crate::error::Error::invalid(
            self.id(),
            format!(
                "has no volumetric form (a {}-slice volume was given)",
                vol.channels
            ),
        ))
    }
}

/// How a perturbation acts on the slices of a volume (src/perturb/volume.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VolumeForm {
    /// The 2-D op on every slice, each with its own random draws.
    PerSlice,
    /// The 2-D op on every slice with the same draws (one acquisition).
    OneAcquisition,
    /// The op's own volumetric form ([`Perturbation::prepare_volume`]).
    Own,
}

/// The distinct strengths of an integer-valued strength: step k = 0..=last has strength
/// `strength(k)`, increasing in k, step 0 at the range's lower end and `last` at its upper end;
/// every strength in the range gives the output of one step (the one it rounds to).
#[derive(Clone, Copy, Debug)]
pub struct IntegerSteps {
    pub last: u32,
    pub strength: fn(u32) -> f32,
}

/// A perturbation bound to one image with all its randomness drawn.
pub trait Prepared: Send + Sync {
    /// The perturbed image at strength `s` (clamped to the strength range by the caller).
    /// Output has the input's shape, values in [0, 1].
    fn apply(&self, s: f32) -> Image;

    /// `apply(s).quantised(depth)`, bit for bit: the image as written at the source depth, the
    /// path calibration and augmentation take. Perturbations override it to fuse the
    /// quantisation into their own pass (no second full-image pass or allocation).
    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        self.apply(s).into_quantised(depth)
    }

    /// The 8-bit path: the codes `apply_quantised(s, BitDepth::U8)` holds (its samples are
    /// `code / 255`), planar like `Image::data`, written into `out` (one byte per sample), bit for
    /// bit `apply_quantised(s, U8).to_u8()`. No image is allocated where a perturbation overrides
    /// it (the base ops do: lookup tables for pointwise ops on an 8-bit source, the codes written
    /// by the op's own pass otherwise); the caller reuses `out` across calls.
    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        // the code of a sample is the code of its quantised sample: no quantised image needed
        common::codes::codes_into(&self.apply(s), out)
    }

    /// The mask moved the way `apply(s)` moves anatomy. Identity unless the perturbation is
    /// geometric.
    fn warp_mask(&self, mask: &Mask, _s: f32) -> Mask {
        mask.clone()
    }
}
