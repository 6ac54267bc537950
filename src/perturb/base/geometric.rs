//! Global warps (catalogue "rotation", "scaling", "translation"): one [`Affine`] per strength,
//! applied to the image with bilinear sampling and to the mask with nearest neighbour under the
//! same border rule (`common::warp`). Direction and sign are drawn per image in `prepare`; the
//! strength only scales the angle, zoom or shift.
//!
//! Warps are nearly but not exactly monotone in SSIM (mirrored or padded borders bring back
//! structure; research notes section 9: rotation <= +0.0023 up to 45 deg, translation along a
//! fixed direction <= +0.016 grey, scaling <= +0.004): `monotone_tolerance` 0.02 (kind Warp).
//!
//! Translation range: the catalogue's starting point is 0.5*min(h,w); it is cut to 0.25 because
//! beyond ~0.2 the reflected border brings the mirrored image back and SSIM RISES again (measured
//! on smooth 96-192 px phantoms: minimum ~0.70 at s ~ 0.19, back to ~0.78 at 0.5), while textured
//! images reach L5 well inside 0.25 (skimage camera, 96 and 256 px: SSIM < 0.59 at s ~ 0.03-0.06).

use crate::error::Result;
use crate::image::{BitDepth, Image, Mask};
use crate::perturb::common::warp::{self, Affine, Border, PackedCodes};
use crate::perturb::device::{Device, Family};
use crate::perturb::{Category, Colour, Ctx, Info, Perturbation, Prepared, StrengthKind};

/// An image bound to a strength -> warp map and a border rule.
struct WarpPrepared<'a, F: Fn(f32) -> Affine + Send + Sync> {
    img: &'a Image,
    map: F,
    border: Border,
    /// The image's codes packed per pixel, for the 8-bit path of a non-separable map
    /// (rotation) on an 8-bit source: the same codes from a quarter of the bytes.
    packed: Option<PackedCodes>,
}

impl<F: Fn(f32) -> Affine + Send + Sync> Prepared for WarpPrepared<'_, F> {
    fn apply(&self, s: f32) -> Image {
        if s <= 0.0 {
            return self.img.clone();
        }
        warp::warp_image(self.img, &(self.map)(s), self.border)
    }

    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        if s <= 0.0 {
            return self.img.quantised(depth);
        }
        warp::warp_image_quantised(self.img, &(self.map)(s), self.border, depth)
    }

    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        if s <= 0.0 {
            return crate::perturb::common::codes::codes_into(self.img, out);
        }
        let map = (self.map)(s);
        if let Some(p) = &self.packed {
            if warp::warp_packed_u8(p, &map, self.border, out) {
                return;
            }
        }
        warp::warp_image_u8(self.img, &map, self.border, out)
    }

    fn warp_mask(&self, mask: &Mask, s: f32) -> Mask {
        if s <= 0.0 {
            return mask.clone();
        }
        warp::warp_mask(mask, &(self.map)(s), self.border)
    }
}

/// The per-image random draws of warp `id`, as its `prepare` uses them (one definition, shared
/// with the CUDA wrapper, which uploads them): rotation `[sign, 0]` (sign = param_sign(0));
/// translation `[ux, uy]`, the unit direction at angle param(0) * 2 pi; scaling `[0, 0]` (none).
pub fn warp_draws(id: &str, ctx: &Ctx) -> [f64; 2] {
    match id {
        "rotation" => [ctx.rng(id).param_sign(0) as f64, 0.0],
        "translation" => {
            let phi = ctx.rng(id).param(0) as f64 * std::f64::consts::TAU;
            let (uy, ux) = phi.sin_cos();
            [ux, uy]
        }
        _ => [0.0, 0.0],
    }
}

pub struct Rotation;

static ROTATION: Info = Info {
    id: "rotation",
    category: Category::Base,
    modality: None,
    model:
        "rotation about the image centre ((w-1)/2, (h-1)/2) by s degrees, sign fixed per image, \
            bilinear, reflect border (OpenCV BORDER_REFLECT); mask nearest, same border",
    strength_name: "angle, degrees",
    strength_range: (0.0, 90.0),
    kind: StrengthKind::Warp,
    geometric: true,
    colour: Colour::Any,
    source: "OpenCV warpAffine semantics (reference _rotation, fixed sign)",
    monotone_tolerance: 0.02,
    device: Device::search_op(Family::Warp, "affine_warp", "MFR_WARP_ROTATION", 0),
};

impl Perturbation for Rotation {
    fn info(&self) -> &Info {
        &ROTATION
    }
    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let [sign, _] = warp_draws(ROTATION.id, ctx);
        let (w, h) = (img.width, img.height);
        Ok(Box::new(WarpPrepared {
            img,
            map: move |s: f32| Affine::rotation(w, h, sign * s as f64),
            border: Border::Reflect,
            packed: PackedCodes::new(img),
        }))
    }
}

pub struct Scaling;

static SCALING: Info = Info {
    id: "scaling",
    category: Category::Base,
    modality: None,
    model: "zoom out by factor 1 - s about the image centre, bilinear, zero padding outside; mask \
            nearest, zero outside",
    strength_name: "size reduction (1 - zoom factor)",
    strength_range: (0.0, 0.8),
    kind: StrengthKind::Warp,
    geometric: true,
    colour: Colour::Any,
    source: "reference _scale (cv2.resize linear, pasted centred on zeros)",
    monotone_tolerance: 0.02,
    device: Device::search_op(Family::Warp, "affine_warp", "MFR_WARP_SCALING", 1),
};

impl Perturbation for Scaling {
    fn info(&self) -> &Info {
        &SCALING
    }
    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let (w, h) = (img.width, img.height);
        // the factor never reaches 0 (the range stops at 0.8; clamped for out-of-range callers)
        let map = move |s: f32| Affine::zoom(w, h, (1.0 - s as f64).max(0.01));
        Ok(Box::new(WarpPrepared {
            img,
            map,
            border: Border::Zero,
            packed: None,
        }))
    }
}

pub struct Translation;

static TRANSLATION: Info = Info {
    id: "translation",
    category: Category::Base,
    modality: None,
    model: "shift by s*min(h,w) px along a unit vector fixed per image, bilinear (sub-pixel), \
            reflect border; mask nearest, same border",
    strength_name: "shift, fraction of min(h,w)",
    strength_range: (0.0, 0.25),
    kind: StrengthKind::Warp,
    geometric: true,
    colour: Colour::Any,
    source: "reference _translation (fixed direction instead of randint(-s, s) per call)",
    monotone_tolerance: 0.02,
    device: Device::search_op(Family::Warp, "affine_warp", "MFR_WARP_TRANSLATION", 2),
};

impl Perturbation for Translation {
    fn info(&self) -> &Info {
        &TRANSLATION
    }
    fn prepare<'a>(&self, img: &'a Image, ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        let [ux, uy] = warp_draws(TRANSLATION.id, ctx);
        let side = img.width.min(img.height) as f64;
        let map = move |s: f32| {
            let d = s as f64 * side;
            Affine::translation(d * ux, d * uy)
        };
        Ok(Box::new(WarpPrepared {
            img,
            map,
            border: Border::Reflect,
            packed: None,
        }))
    }
}
