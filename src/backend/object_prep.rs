//! Host preparation of the endoscopy and pathology kernels' strength-independent inputs
//! (kernels/endoscopy.cuh, kernels/pathology.cuh), packed for a whole batch in the layouts of
//! kernels/objects.cuh. Pure host code, no CUDA: the launch wrappers
//! (src/backend/cuda/{endoscopy,pathology}.rs) upload it, and the host-math tests hand one image's
//! packing to the host-compiled kernel math, so both exercise the same packing.
//!
//! Every list, field and sprite comes from the CPU perturbation's own function (the one its
//! `prepare` calls) with the image's (seed, image id), so the kernels can't drift from the CPU in
//! their random draws or object rendering.

use super::BackendError;
use crate::image::Image;
use crate::perturb::common::objects::Sprite;
use crate::perturb::device::Family;
use crate::perturb::{endoscopy, pathology, Ctx};

/// Stride of the per-image channel constants (kernels/objects.cuh `MFR_CHAN_STRIDE`).
pub const CHAN_STRIDE: usize = 4;
/// endo_specular: spots per image and floats per spot (kernels/endoscopy.cuh).
pub const SPECULAR_N: usize = 48;
pub const SPOT_FLOATS: usize = 6;

/// Object list length of a sprite-table id (kernels/*.cuh `MFR_*_N`), None for the others.
pub fn sprites_per_image(id: &str) -> Option<usize> {
    match id {
        "endo_blood" => Some(24),
        "endo_bubbles" => Some(64),
        "path_bubbles" => Some(28),
        _ => None,
    }
}

/// Floats per image in [`ObjectPrep::floats`] (0: none).
pub fn floats_per_image(id: &str) -> usize {
    match id {
        "endo_specular" => SPECULAR_N * SPOT_FLOATS,
        "endo_blood" | "path_stain_hsv" | "path_bubbles" => CHAN_STRIDE,
        _ => 0,
    }
}

/// Does `id`'s kernel read a w * h field per image?
pub fn has_field(id: &str) -> bool {
    matches!(id, "endo_overexposure" | "path_stain_hsv")
}

/// Object lists of a batch (kernels/objects.cuh): image i's entry k at `boxes[4 (i K + k)..]`
/// (x0, y0, w, h; w == 0 when the object misses the image) and `offsets[i K + k]`, the start of
/// its layers in `data` (layer l of a w x h box at `offset + l * w * h`).
#[derive(Clone, Debug, Default)]
pub struct SpriteTable {
    pub boxes: Vec<u32>,
    pub offsets: Vec<u64>,
    pub data: Vec<f32>,
}

impl SpriteTable {
    /// Append one object: `layers` is the concatenation of exactly `n_layers` row-major layers of
    /// the sprite's box (checked), the box must lie inside the `img_w x img_h` image.
    fn push(
        &mut self,
        what: &str,
        img_w: usize,
        img_h: usize,
        obj: Option<(&Sprite, &[&[f32]])>,
        n_layers: usize,
    ) -> Result<(), BackendError> {
        let Some((sp, layers)) = obj else {
            self.boxes.extend([0, 0, 0, 0]);
            self.offsets.push(0);
            return Ok(());
        };
        let n = sp.w * sp.h;
        let total: usize = layers.iter().map(|l| l.len()).sum();
        if sp.x0 + sp.w > img_w
            || sp.y0 + sp.h > img_h
            || total != n_layers * n
            || sp.alpha.len() != n
        {
            return Err(BackendError::cuda(
                what.to_string(),
                "sprite box or layers inconsistent with the image",
            ));
        }
        let u = |v: usize| {
            u32::try_from(v)
                .map_err(|_| BackendError::cuda(what.to_string(), "sprite box too large"))
        };
        self.boxes
            .extend([u(sp.x0)?, u(sp.y0)?, u(sp.w)?, u(sp.h)?]);
        self.offsets.push(self.data.len() as u64);
        for l in layers {
            self.data.extend_from_slice(l);
        }
        Ok(())
    }
}

/// The prepared inputs of one id for a batch: image i's floats at `floats[i * floats_per_image]`,
/// its field `fields[i]` (w * h), its objects in `table`.
#[derive(Clone, Debug)]
pub struct ObjectPrep {
    pub id: &'static str,
    pub floats: Vec<f32>,
    pub fields: Vec<Vec<f32>>,
    pub table: SpriteTable,
    images: usize,
}

impl ObjectPrep {
    /// An empty preparation for `id` (a perturbation of the Endoscopy or Pathology device family).
    pub fn new(id: &str) -> Result<Self, BackendError> {
        let id = match crate::perturb::device::kernel_of(id) {
            Some((id, k)) if matches!(k.family, Family::Endoscopy | Family::Pathology) => id,
            _ => {
                return Err(BackendError::cuda(
                    id.to_string(),
                    "no object kernel (endoscopy.cu, pathology.cu) for this perturbation",
                ))
            }
        };
        Ok(ObjectPrep {
            id,
            floats: Vec::new(),
            fields: Vec::new(),
            table: SpriteTable::default(),
            images: 0,
        })
    }

    /// Number of images pushed so far.
    pub fn len(&self) -> usize {
        self.images
    }

    pub fn is_empty(&self) -> bool {
        self.images == 0
    }

    /// Append image `img`'s inputs, drawn with `ctx` exactly as the CPU `prepare` draws them.
    pub fn push(&mut self, img: &Image, ctx: &Ctx) -> Result<(), BackendError> {
        let (w, h, c) = (img.width, img.height, img.channels);
        if c == 0 || c > CHAN_STRIDE {
            return Err(BackendError::cuda(
                self.id,
                format!("{c} channels: 1 to {CHAN_STRIDE} supported"),
            ));
        }
        let pad = |v: &[f32]| -> [f32; CHAN_STRIDE] {
            std::array::from_fn(|k| {
                v.get(k.min(v.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or(0.0)
            })
        };
        match self.id {
            "endo_overexposure" => self.fields.push(endoscopy::overexposure_field(w, h, ctx)),
            "endo_specular" => {
                let spots = endoscopy::specular_spots(w, h, ctx);
                if spots.len() != SPECULAR_N {
                    return Err(BackendError::cuda(
                        self.id,
                        "spot count differs from the kernel's constant",
                    ));
                }
                self.floats.extend(
                    spots
                        .iter()
                        .flat_map(|s| [s.cx, s.cy, s.cos, s.sin, s.sigma_major, s.sigma_minor]),
                );
            }
            "endo_blood" => {
                let blobs = endoscopy::blood_blobs(w, h, ctx);
                self.check_count(blobs.len())?;
                for b in &blobs {
                    let obj = b.as_ref().map(|s| (s, [s.alpha.as_slice()]));
                    self.table
                        .push(self.id, w, h, obj.as_ref().map(|(s, l)| (*s, &l[..])), 1)?;
                }
                // ln T of channel min(c, 2): the CPU's log_t[min(c, len - 1)] (3 colours, or one
                // value repeated on every channel)
                let lt = endoscopy::blood_log_transmittance(c);
                self.floats.extend(pad(&lt[..lt.len().min(3)]));
            }
            "endo_bubbles" => {
                let bubbles = endoscopy::bubble_list(img, ctx);
                self.check_count(bubbles.len())?;
                for b in &bubbles {
                    let obj = b.as_ref().map(|b| {
                        (
                            &b.sprite,
                            [b.sprite.alpha.as_slice(), &b.white, &b.interior],
                        )
                    });
                    self.table.push(
                        self.id,
                        w,
                        h,
                        obj.as_ref().map(|(s, l)| (*s, &l[..])),
                        2 + c,
                    )?;
                }
            }
            "path_stain_hsv" => {
                let d = pathology::stain_draws(w, h, ctx);
                self.floats.extend([d.uh, d.us, d.uv, 0.0]);
                self.fields.push(d.g);
            }
            _ => {
                // path_bubbles
                let bubbles = pathology::bubble_list(w, h, ctx);
                self.check_count(bubbles.len())?;
                for b in &bubbles {
                    let obj = b
                        .as_ref()
                        .map(|b| (&b.interior, [b.interior.alpha.as_slice(), &b.rim, &b.line]));
                    self.table
                        .push(self.id, w, h, obj.as_ref().map(|(s, l)| (*s, &l[..])), 3)?;
                }
                let mut bg = [0.0f32; CHAN_STRIDE];
                bg[..c].copy_from_slice(&pathology::background(img));
                self.floats.extend(bg);
            }
        }
        self.images += 1;
        Ok(())
    }

    fn check_count(&self, n: usize) -> Result<(), BackendError> {
        if Some(n) != sprites_per_image(self.id) {
            return Err(BackendError::cuda(
                self.id,
                "object count differs from the kernel's constant",
            ));
        }
        Ok(())
    }
}
