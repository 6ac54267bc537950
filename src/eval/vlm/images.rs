//! Images for the wire: reading (through `crate::io`), masks,
//! PNG encoding, boxes from masks.
//!
//! What is sent: an 8-bit PNG (grey or RGB) of the image's quantised values. For an 8-bit source
//! these are exactly the pixels `perturb` writes; a 16-bit source is rounded to 8 bits for the wire
//! (PIL-based servers mishandle 16-bit PNGs), the same rounding as `Image::to_u8`.

use crate::error::{Error, Result};
use crate::image::{BitDepth, Image, Mask};
use std::path::Path;

/// Read an image on the fixed [0, 1] scale with its bit depth (alpha dropped, grey kept grey):
/// [`crate::io::read_image`], so the VLM path sees exactly what `perturb` reads.
pub fn read_image(path: &Path) -> Result<(Image, BitDepth)> {
    let l = crate::io::read_image(path)?;
    Ok((l.image, l.depth))
}

/// A mask file, binarised by the crate's one rule ([`crate::io::read_mask`]: 0/1 label masks by
/// > 0, others by > half range, as MeCoVQA's 0/255 masks are).
pub fn read_mask(path: &Path) -> Result<Mask> {
    crate::io::read_mask(path, None)
}

/// The 8-bit PNG sent for `img` (see the module docs).
pub fn encode_png(img: &Image) -> Result<Vec<u8>> {
    let (w, h) = (img.width as u32, img.height as u32);
    let bytes = img.to_u8();
    let n = img.plane_len();
    let (buf, color) = match img.channels {
        1 => (bytes, image::ExtendedColorType::L8),
        3 => {
            let mut inter = vec![0u8; n * 3];
            for i in 0..n {
                for c in 0..3 {
                    inter[i * 3 + c] = bytes[c * n + i];
                }
            }
            (inter, image::ExtendedColorType::Rgb8)
        }
        c => {
            return Err(Error::invalid(
                "image",
                format!("{c} channels; expected 1 or 3"),
            ))
        }
    };
    let mut out = Vec::new();
    use image::ImageEncoder;
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&buf, w, h, color)
        .map_err(|e| Error::Encode {
            path: "<png in memory>".into(),
            reason: e.to_string(),
        })?;
    Ok(out)
}

/// Tight box [x1, y1, x2, y2] (x2, y2 exclusive) of a mask's set pixels; None when empty.
pub fn mask_box(m: &Mask) -> Option<[f64; 4]> {
    let (mut x1, mut y1, mut x2, mut y2) = (usize::MAX, usize::MAX, 0usize, 0usize);
    for y in 0..m.height {
        for x in 0..m.width {
            if m.data[y * m.width + x] != 0 {
                x1 = x1.min(x);
                y1 = y1.min(y);
                x2 = x2.max(x + 1);
                y2 = y2.max(y + 1);
            }
        }
    }
    (x1 != usize::MAX).then_some([x1 as f64, y1 as f64, x2 as f64, y2 as f64])
}

/// The pixels whose centres lie inside `b`: the mask a box becomes so that geometric
/// perturbations can move it.
pub fn box_mask(b: [f64; 4], width: usize, height: usize) -> Mask {
    let mut data = vec![0u8; width * height];
    for y in 0..height {
        let cy = y as f64 + 0.5;
        if cy < b[1] || cy > b[3] {
            continue;
        }
        for x in 0..width {
            let cx = x as f64 + 0.5;
            if cx >= b[0] && cx <= b[2] {
                data[y * width + x] = 1;
            }
        }
    }
    Mask {
        width,
        height,
        data,
    }
}
