//! SAM-family presets: what goes into the image encoder, the prompt decoder's inputs for a box,
//! and how the decoder's low-resolution logits become the final mask (spec/evaluation.md,
//! notes/ecosystem-research.md section 1). Pure functions: no ONNX Runtime here, so the parity
//! tests (tests/seg_parity.rs, fixtures from tools/gen_seg_fixtures.py) run without the library.
//!
//! | preset | encoder input | resize (Pillow, mode F) | values | box scale | logits -> mask |
//! |---|---|---|---|---|---|
//! | medsam | 3x1024x1024 squash | bicubic (a=-0.5, antialiased) | min-max to [0,1], no mean/std | 1024/W, 1024/H | bilinear to (H,W), > 0 |
//! | sam-med2d | 3x256x256 squash | bilinear (antialiased) | 0-255 RGB, ImageNet mean/std | 256/W, 256/H | bilinear to 256, bilinear to (H,W), > 0 |
//! | litemedsam | 3x256x256, longest side 256, zero pad bottom/right | box (= INTER_AREA when shrinking) | min-max to [0,1] before padding | 256/max(W,H) | (to 256 if smaller), crop to the unpadded size, bilinear to (H,W), > 0 |
//!
//! Grey images are repeated to 3 channels. Input images are on the crate's fixed [0,1] scale
//! (u8/255). The box comes from the ground-truth mask, inclusive max (the MedFM reference
//! convention), and is fed as two points labelled 2 and 3. `mask_input` is zeros with
//! `has_mask_input` = 0; `orig_im_size` is the encoder input size (S, S), so the graph's own
//! `masks` output is never cropped, and the final mask is computed here from `low_res_masks`.
//! Mask choice: index 0 (MedSAM, the MedFM reference for SAM-Med2D) or the best of 1..3 by
//! predicted IoU (the official SAM-Med2D evaluation), ties to the lowest index.

use super::resize::{bilinear_logits, resample, Filter};
use crate::error::{Error, Result};
use crate::image::{Image, Mask};
use crate::rng::{fnv1a32, Rng};
use serde::{Deserialize, Serialize};

/// ImageNet mean/std on 0-255 RGB (SAM's `pixel_mean` / `pixel_std`).
pub const IMAGENET_MEAN: [f32; 3] = [123.675, 116.28, 103.53];
pub const IMAGENET_STD: [f32; 3] = [58.395, 57.12, 57.375];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PresetKind {
    Medsam,
    SamMed2d,
    Litemedsam,
}

/// Which of the decoder's masks is the prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaskChoice {
    /// Mask token 0 (`multimask_output=False`).
    First,
    /// The best of masks 1..3 by `iou_predictions` (`multimask_output=True`).
    BestIou,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preset {
    pub kind: PresetKind,
    pub mask_choice: MaskChoice,
}

/// The decoder's prompt inputs for one box, in segment-anything's ONNX layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptInputs {
    /// (1, 2, 2): the box corners in encoder-input pixels.
    pub point_coords: [[f32; 2]; 2],
    /// (1, 2): 2 = top-left corner, 3 = bottom-right corner.
    pub point_labels: [f32; 2],
    /// (1, 1, 4e, 4e) zeros, e = embedding size; only its side is stored.
    pub mask_input_side: usize,
    /// (1,): 0.
    pub has_mask_input: f32,
    /// (2,): (S, S) as f32.
    pub orig_im_size: [f32; 2],
}

/// A box prompt on the original image, pixel indices, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoxPrompt {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl BoxPrompt {
    /// The tight box of the non-zero pixels; `None` for an empty mask.
    pub fn from_mask(mask: &Mask) -> Option<BoxPrompt> {
        mask.bbox()
            .map(|(x0, y0, x1, y1)| BoxPrompt { x0, y0, x1, y1 })
    }

    /// Widen each side by an independent integer in [0, max_shift] (MedSAM's training jitter),
    /// clamped to the image. Deterministic in (seed, image_id, `salt`); max_shift 0 is the identity.
    pub fn jittered(
        self,
        max_shift: u32,
        seed: u64,
        image_id: u32,
        salt: &str,
        width: usize,
        height: usize,
    ) -> BoxPrompt {
        if max_shift == 0 {
            return self;
        }
        let rng = Rng::new(seed, image_id, fnv1a32(&format!("prompt/{salt}")));
        let d = |k: u32| {
            ((rng.uniform(0, k) * (max_shift + 1) as f32) as usize).min(max_shift as usize)
        };
        BoxPrompt {
            x0: self.x0.saturating_sub(d(0)),
            y0: self.y0.saturating_sub(d(1)),
            x1: (self.x1 + d(2)).min(width.saturating_sub(1)),
            y1: (self.y1 + d(3)).min(height.saturating_sub(1)),
        }
    }
}

impl Preset {
    /// `medsam`, `sam-med2d` (mask 0), `sam-med2d:best-iou`, `litemedsam`; any preset takes
    /// `:mask0` or `:best-iou` to override its mask choice.
    pub fn parse(s: &str) -> Result<Preset> {
        let s = s.trim().to_ascii_lowercase();
        let (name, opt) = match s.split_once(':') {
            Some((n, o)) => (n.to_string(), Some(o.to_string())),
            None => (s.clone(), None),
        };
        let kind = match name.as_str() {
            "medsam" => PresetKind::Medsam,
            "sam-med2d" | "sammed2d" | "sam_med2d" => PresetKind::SamMed2d,
            "litemedsam" | "lite-medsam" => PresetKind::Litemedsam,
            _ => {
                return Err(Error::invalid(
                    "--preset",
                    format!("unknown preset '{s}'; expected medsam, sam-med2d, sam-med2d:best-iou, litemedsam or generic (via a model TOML)"),
                ))
            }
        };
        let mask_choice = match opt.as_deref() {
            None | Some("mask0") => MaskChoice::First,
            Some("best-iou") | Some("multimask") => MaskChoice::BestIou,
            Some(o) => {
                return Err(Error::invalid(
                    "--preset",
                    format!("unknown option '{o}' in '{s}'; expected mask0 or best-iou"),
                ))
            }
        };
        Ok(Preset { kind, mask_choice })
    }

    pub fn name(&self) -> String {
        let base = match self.kind {
            PresetKind::Medsam => "medsam",
            PresetKind::SamMed2d => "sam-med2d",
            PresetKind::Litemedsam => "litemedsam",
        };
        match self.mask_choice {
            MaskChoice::First => base.to_string(),
            MaskChoice::BestIou => format!("{base}:best-iou"),
        }
    }

    /// Side S of the square encoder input.
    pub fn input_size(&self) -> usize {
        match self.kind {
            PresetKind::Medsam => 1024,
            PresetKind::SamMed2d | PresetKind::Litemedsam => 256,
        }
    }

    /// Size (w, h) of the resized image inside the S x S input (before any padding).
    pub fn scaled_size(&self, w: usize, h: usize) -> (usize, usize) {
        let s = self.input_size();
        match self.kind {
            PresetKind::Medsam | PresetKind::SamMed2d => (s, s),
            PresetKind::Litemedsam => {
                // LiteMedSAM: scale = S / max(H, W); new = int(old * scale + 0.5).
                let scale = s as f64 / w.max(h) as f64;
                (
                    ((w as f64 * scale + 0.5) as usize).clamp(1, s),
                    ((h as f64 * scale + 0.5) as usize).clamp(1, s),
                )
            }
        }
    }

    /// The encoder input for `img`: 3 x S x S, planar (CHW), f32.
    pub fn preprocess(&self, img: &Image) -> Result<Vec<f32>> {
        if img.width == 0 || img.height == 0 {
            return Err(Error::invalid("image", "empty image"));
        }
        let rgb = img.to_rgb();
        let s = self.input_size();
        let (nw, nh) = self.scaled_size(img.width, img.height);
        let mut out = vec![0.0f32; 3 * s * s];
        match self.kind {
            PresetKind::Medsam => {
                for c in 0..3 {
                    let r = resample(rgb.plane(c), img.width, img.height, s, s, Filter::Bicubic);
                    out[c * s * s..(c + 1) * s * s].copy_from_slice(&r);
                }
                min_max(&mut out);
            }
            PresetKind::SamMed2d => {
                for c in 0..3 {
                    let scaled: Vec<f32> = rgb.plane(c).iter().map(|v| v * 255.0).collect();
                    let r = resample(&scaled, img.width, img.height, s, s, Filter::Bilinear);
                    for (o, v) in out[c * s * s..(c + 1) * s * s].iter_mut().zip(r) {
                        *o = (v - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
                    }
                }
            }
            PresetKind::Litemedsam => {
                let mut planes = Vec::with_capacity(3 * nw * nh);
                for c in 0..3 {
                    planes.extend(resample(
                        rgb.plane(c),
                        img.width,
                        img.height,
                        nw,
                        nh,
                        Filter::Box,
                    ));
                }
                min_max(&mut planes);
                for c in 0..3 {
                    for y in 0..nh {
                        let src = &planes[c * nw * nh + y * nw..c * nw * nh + (y + 1) * nw];
                        out[c * s * s + y * s..c * s * s + y * s + nw].copy_from_slice(src);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The decoder's prompt inputs for `bx` on a `w x h` image; `embed_side` is the side of the
    /// encoder's `image_embeddings` (mask_input is 4x that).
    pub fn prompt(&self, bx: BoxPrompt, w: usize, h: usize, embed_side: usize) -> PromptInputs {
        let s = self.input_size() as f32;
        let (sx, sy) = match self.kind {
            PresetKind::Medsam | PresetKind::SamMed2d => (s / w as f32, s / h as f32),
            PresetKind::Litemedsam => {
                let k = s / w.max(h) as f32;
                (k, k)
            }
        };
        PromptInputs {
            point_coords: [
                [bx.x0 as f32 * sx, bx.y0 as f32 * sy],
                [bx.x1 as f32 * sx, bx.y1 as f32 * sy],
            ],
            point_labels: [2.0, 3.0],
            mask_input_side: 4 * embed_side,
            has_mask_input: 0.0,
            orig_im_size: [s, s],
        }
    }

    /// Which mask of `n` to take given the predicted IoUs.
    pub fn choose(&self, iou_predictions: &[f32]) -> Result<usize> {
        match self.mask_choice {
            MaskChoice::First => Ok(0),
            MaskChoice::BestIou => {
                if iou_predictions.len() < 4 {
                    return Err(Error::invalid(
                        "mask choice best-iou",
                        format!(
                            "needs 4 masks from the decoder, got {}",
                            iou_predictions.len()
                        ),
                    ));
                }
                let mut best = 1;
                for i in 2..4 {
                    if iou_predictions[i] > iou_predictions[best] {
                        best = i;
                    }
                }
                Ok(best)
            }
        }
    }

    /// The final logits on the original `w x h` grid from one low-resolution logit map
    /// (`lw x lh`, covering the S x S encoder input).
    pub fn logits_to_original(
        &self,
        low: &[f32],
        lw: usize,
        lh: usize,
        w: usize,
        h: usize,
    ) -> Vec<f32> {
        let s = self.input_size();
        match self.kind {
            PresetKind::Medsam => bilinear_logits(low, lw, lh, w, h),
            PresetKind::SamMed2d => {
                let full = if (lw, lh) == (s, s) {
                    low.to_vec()
                } else {
                    bilinear_logits(low, lw, lh, s, s)
                };
                bilinear_logits(&full, s, s, w, h)
            }
            PresetKind::Litemedsam => {
                let full = if (lw, lh) == (s, s) {
                    low.to_vec()
                } else {
                    bilinear_logits(low, lw, lh, s, s)
                };
                let (nw, nh) = self.scaled_size(w, h);
                let mut crop = Vec::with_capacity(nw * nh);
                for y in 0..nh {
                    crop.extend_from_slice(&full[y * s..y * s + nw]);
                }
                bilinear_logits(&crop, nw, nh, w, h)
            }
        }
    }
}

/// Logits > 0 (sigmoid > 0.5).
pub fn threshold(logits: &[f32], w: usize, h: usize, t: f32) -> Mask {
    Mask {
        width: w,
        height: h,
        data: logits.iter().map(|&v| (v > t) as u8).collect(),
    }
}

/// (x - min) / max(max - min, 1e-8) over the whole buffer (MedSAM, LiteMedSAM).
fn min_max(v: &mut [f32]) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for &x in v.iter() {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    let d = (hi - lo).max(1e-8);
    for x in v.iter_mut() {
        *x = (*x - lo) / d;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_names_round_trip() {
        for s in ["medsam", "sam-med2d", "sam-med2d:best-iou", "litemedsam"] {
            assert_eq!(Preset::parse(s).unwrap().name(), s);
        }
        assert!(Preset::parse("sam2").is_err());
    }

    #[test]
    fn best_iou_skips_mask_zero() {
        let p = Preset::parse("sam-med2d:best-iou").unwrap();
        assert_eq!(p.choose(&[0.99, 0.2, 0.7, 0.5]).unwrap(), 2);
        assert_eq!(
            Preset::parse("medsam")
                .unwrap()
                .choose(&[0.1, 0.9, 0.9, 0.9])
                .unwrap(),
            0
        );
        assert!(p.choose(&[0.5]).is_err());
    }

    #[test]
    fn litemedsam_keeps_aspect_and_pads() {
        let p = Preset::parse("litemedsam").unwrap();
        assert_eq!(p.scaled_size(512, 256), (256, 128));
        let img = Image::from_planes(4, 2, 1, vec![0.0, 0.5, 1.0, 0.5, 0.2, 0.4, 0.6, 0.8]);
        let t = p.preprocess(&img).unwrap();
        // Bottom half is padding.
        assert!(t[200 * 256..256 * 256].iter().all(|&v| v == 0.0));
    }

    #[test]
    fn jitter_is_deterministic_and_bounded() {
        let b = BoxPrompt {
            x0: 10,
            y0: 10,
            x1: 20,
            y1: 20,
        };
        let j1 = b.jittered(5, 7, 3, "clean", 64, 64);
        assert_eq!(j1, b.jittered(5, 7, 3, "clean", 64, 64));
        assert!(j1.x0 <= 10 && j1.x0 >= 5 && j1.x1 >= 20 && j1.x1 <= 25);
        assert_eq!(b.jittered(0, 7, 3, "clean", 64, 64), b);
    }
}
