//! Segmentation metrics: IoU and Dice of a binary prediction against a binary ground truth
//! (spec/evaluation.md, "Segmentation metrics").
//!
//! Contract:
//! - IoU = |P ∩ G| / |P ∪ G|, Dice = 2 |P ∩ G| / (|P| + |G|), both in [0, 1]; a pixel is in a set
//!   when its mask value is non-zero.
//! - Empty rule (documented in docs/segmentation.md): an empty prediction with an empty ground
//!   truth scores 1 for both (nothing to find, nothing found). An empty prediction against a
//!   non-empty truth, or the reverse, scores 0. medpy's `dc`/`jc` return 0 for empty/empty; that is
//!   the only case where we differ, on purpose.
//! - No epsilon: values are exact ratios of counts (SAM-Med2D's eps = 1e-7 changes them by < 1e-7).
//! - Per image, then averaged by the caller (the mean of per-image scores, not a pooled ratio).

use crate::error::{Error, Result};
use crate::image::Mask;

/// Overlap counts of a prediction against a ground truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Overlap {
    pub intersection: u64,
    pub pred: u64,
    pub truth: u64,
}

impl Overlap {
    /// Count the overlap; the masks must have the same width and height.
    pub fn of(pred: &Mask, truth: &Mask) -> Result<Overlap> {
        if pred.width != truth.width || pred.height != truth.height {
            return Err(Error::Shape {
                what: "predicted mask vs ground truth".into(),
                expected: format!("{}x{}", truth.width, truth.height),
                found: format!("{}x{}", pred.width, pred.height),
            });
        }
        let mut o = Overlap::default();
        for (&p, &t) in pred.data.iter().zip(&truth.data) {
            let (p, t) = (p != 0, t != 0);
            o.pred += p as u64;
            o.truth += t as u64;
            o.intersection += (p && t) as u64;
        }
        Ok(o)
    }

    pub fn union(&self) -> u64 {
        self.pred + self.truth - self.intersection
    }

    /// Intersection over union; 1 when both masks are empty.
    pub fn iou(&self) -> f64 {
        let u = self.union();
        if u == 0 {
            1.0
        } else {
            self.intersection as f64 / u as f64
        }
    }

    /// Dice (F1) coefficient; 1 when both masks are empty.
    pub fn dice(&self) -> f64 {
        let s = self.pred + self.truth;
        if s == 0 {
            1.0
        } else {
            2.0 * self.intersection as f64 / s as f64
        }
    }
}

/// IoU of `pred` against `truth` (see the module contract for the empty rule).
pub fn iou(pred: &Mask, truth: &Mask) -> Result<f64> {
    Ok(Overlap::of(pred, truth)?.iou())
}

/// Dice of `pred` against `truth` (see the module contract for the empty rule).
pub fn dice(pred: &Mask, truth: &Mask) -> Result<f64> {
    Ok(Overlap::of(pred, truth)?.dice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(w: usize, h: usize, bits: &[u8]) -> Mask {
        Mask {
            width: w,
            height: h,
            data: bits.to_vec(),
        }
    }

    #[test]
    fn closed_form_on_a_small_case() {
        // P = {0,1,2}, G = {1,2,3}: |P∩G| = 2, |P∪G| = 4.
        let p = mask(4, 1, &[1, 1, 1, 0]);
        let g = mask(4, 1, &[0, 1, 1, 1]);
        assert_eq!(iou(&p, &g).unwrap(), 0.5);
        assert!((dice(&p, &g).unwrap() - 4.0 / 6.0).abs() < 1e-15);
    }

    #[test]
    fn empty_rule() {
        let e = Mask::new(3, 3);
        let mut one = Mask::new(3, 3);
        one.data[4] = 1;
        assert_eq!(iou(&e, &e).unwrap(), 1.0);
        assert_eq!(dice(&e, &e).unwrap(), 1.0);
        assert_eq!(iou(&e, &one).unwrap(), 0.0);
        assert_eq!(dice(&one, &e).unwrap(), 0.0);
    }

    #[test]
    fn size_mismatch_is_an_error() {
        assert!(iou(&Mask::new(3, 3), &Mask::new(3, 4)).is_err());
    }
}
