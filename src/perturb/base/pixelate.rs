//! Pixelation: box-average blocks of b = 1 + round(s) px (grid anchored at the top-left corner;
//! blocks at the right and bottom edges are partial and average what they cover), each block
//! replaced by its mean. s = 0 is b = 1, the identity. The block size is an integer, so SSIM(s)
//! is a staircase with small up-steps where the block grid realigns with image structure
//! (research notes section 9: <= +0.017 on RGB; +0.027 measured on the 192 px CT phantom):
//! `monotone_tolerance` 0.03 (kind Integer).

use super::quantise;
use crate::error::Result;
use crate::image::{BitDepth, Image};
use crate::perturb::common::codes::code8;
use crate::perturb::device::{Device, Family};
use crate::perturb::{
    Category, Colour, Ctx, Info, IntegerSteps, Perturbation, Prepared, StrengthKind,
};
use rayon::prelude::*;

pub struct Pixelate;

static PIXELATE: Info = Info {
    id: "pixelate",
    category: Category::Base,
    modality: None,
    model:
        "box-average blocks of b = 1 + round(s) px (partial blocks at the edges), replicated back",
    strength_name: "block size - 1, px",
    strength_range: (0.0, 63.0),
    kind: StrengthKind::Integer,
    geometric: false,
    colour: Colour::Any,
    source: "imagecorruptions pixelate (behavioural; box down and box back)",
    monotone_tolerance: 0.03,
    device: Device::search(Family::Pixelate, "pixelate"),
};

/// Block size at strength s.
pub fn block_size(s: f32) -> usize {
    1 + s.max(0.0).round() as usize
}

struct PixelatePrepared<'a> {
    img: &'a Image,
}

impl Prepared for PixelatePrepared<'_> {
    fn apply(&self, s: f32) -> Image {
        self.run(s, |v| v)
    }

    fn apply_quantised(&self, s: f32, depth: BitDepth) -> Image {
        let m = depth.max_value();
        // each block's mean quantised once, then replicated: the same samples as quantising after
        self.run(s, move |v| quantise(v, m))
    }

    fn apply_u8(&self, s: f32, out: &mut [u8]) {
        self.run_into(s, code8, out)
    }
}

impl PixelatePrepared<'_> {
    fn run(&self, s: f32, post: impl Fn(f32) -> f32 + Sync) -> Image {
        let mut out = Image::new(self.img.width, self.img.height, self.img.channels);
        self.run_into(s, post, &mut out.data);
        out
    }

    /// The pixelated planes, `post` of each block mean, into `out` (the image's layout).
    fn run_into<T: Copy + Send + Sync>(
        &self,
        s: f32,
        post: impl Fn(f32) -> T + Sync,
        out: &mut [T],
    ) {
        let b = block_size(s);
        let (w, h) = (self.img.width, self.img.height);
        assert_eq!(out.len(), self.img.data.len(), "output length");
        if b <= 1 || w == 0 || h == 0 {
            for (o, &v) in out.iter_mut().zip(&self.img.data) {
                *o = post(v);
            }
            return;
        }
        for (src, dst) in self.img.planes().zip(out.chunks_mut(w * h)) {
            // one band of b rows per task; each block's sum in f64 in row-major order
            // (rows outer, blocks inner: every block still adds its row sums in row order, but
            // the blocks' add chains are independent and overlap)
            dst.par_chunks_mut(b * w)
                .enumerate()
                .for_each(|(by, band)| {
                    let y0 = by * b;
                    let rows = band.len() / w;
                    let mut sums = vec![0.0f64; w.div_ceil(b)];
                    for y in y0..y0 + rows {
                        let row = &src[y * w..(y + 1) * w];
                        for (sum, seg) in sums.iter_mut().zip(row.chunks(b)) {
                            *sum += seg.iter().map(|&v| v as f64).sum::<f64>();
                        }
                    }
                    for (bx, sum) in sums.iter().enumerate() {
                        let (x0, x1) = (bx * b, (bx * b + b).min(w));
                        let mean = post((sum / ((x1 - x0) * rows) as f64) as f32);
                        for r in 0..rows {
                            band[r * w + x0..r * w + x1].fill(mean);
                        }
                    }
                });
        }
    }
}

impl Perturbation for Pixelate {
    fn info(&self) -> &Info {
        &PIXELATE
    }
    fn prepare<'a>(&self, img: &'a Image, _ctx: &Ctx) -> Result<Box<dyn Prepared + 'a>> {
        Ok(Box::new(PixelatePrepared { img }))
    }
    /// Block sizes 1..=64: step k is strength k (block k + 1).
    fn integer_steps(&self) -> Option<IntegerSteps> {
        Some(IntegerSteps {
            last: PIXELATE.strength_range.1 as u32,
            strength: |k| k as f32,
        })
    }
}
