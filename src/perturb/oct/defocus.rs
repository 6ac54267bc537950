//! `oct_defocus`: out-of-focus beam, modelled in geometric optics as convolution with a uniform
//! disk (circle of confusion) of radius s px.
//!
//! Model: `out = x (*) D_s`, `D_s` the anti-aliased disk of [`psf::disk_kernel`] (tap weight
//! `clamp(s + 0.5 - d, 0, 1)`, normalised), reflect border (scipy `mode='reflect'`), computed by the
//! run-length form [`psf::convolve_disk`]. The kernel
//! grows continuously with s and is the identity for s <= 0.5 px. Range 0-10 px as catalogued.
//!
//! Source: catalogue `oct_defocus` (disk PSF option); ImageNet-C `defocus_blur` uses a disk
//! kernel too; the reference SEG code uses a Gaussian.

use crate::error::Result;
use crate::image::Image;
use crate::perturb::common::psf;
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Modality, Perturbation, Prepared, StrengthKind};

pub struct OctDefocus;

static INFO: Info = Info {
    id: "oct_defocus",
    category: Category::Medical,
    modality: Some(Modality::Oct),
    model: "out-of-focus beam: convolution with an anti-aliased uniform disk PSF of radius s px, reflect border",
    strength_name: "disk radius (px)",
    strength_range: (0.0, 10.0),
    kind: StrengthKind::Continuous,
    geometric: false,
    colour: Colour::Any,
    source: "catalogue (disk PSF); ImageNet-C defocus_blur; MedFM-Robust SEG uses a Gaussian",
    monotone_tolerance: 0.0,
    device: Device::search(Family::Oct, "oct_defocus"),
};

impl Perturbation for OctDefocus {
    fn info(&self) -> &Info {
        &INFO
    }

    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(Prepped { img }))
    }
}

struct Prepped<'a> {
    img: &'a Image,
}

impl Prepared for Prepped<'_> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.5 {
            return self.img.clone();
        }
        let (w, h) = (self.img.width, self.img.height);
        let mut data = Vec::with_capacity(self.img.data.len());
        for plane in self.img.planes() {
            data.extend(
                psf::convolve_disk(plane, w, h, s)
                    .into_iter()
                    .map(|v| v.clamp(0.0, 1.0)),
            );
        }
        Image::from_planes(w, h, self.img.channels, data)
    }
}
