//! Contact sheets: a grid of image tiles with a row label on the left, column headers on top and a
//! caption under each tile. Tiles are resized (bilinear) to a fixed size; grey tiles are drawn grey.

use crate::image::Image;
use font8x8::UnicodeFonts;

/// One tile: an image (or none: drawn as an empty grey box) and its caption lines.
pub struct Tile {
    pub image: Option<Image>,
    pub caption: Vec<String>,
}

/// Allowed tile sizes (pixels per side): below 32 captions do not fit; above 512 a sheet of a
/// modality's ~25 rows x 6 columns passes 100 million pixels.
pub const MIN_TILE: usize = 32;
pub const MAX_TILE: usize = 512;

/// `tile` in [`MIN_TILE`]..=[`MAX_TILE`], else the named error.
pub fn check_tile(tile: usize) -> crate::error::Result<()> {
    crate::error::Error::check_range("--tile", tile as u64, MIN_TILE as u64, MAX_TILE as u64)
}

pub struct Sheet {
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<(String, Vec<Tile>)>,
    pub tile: usize,
}

const BG: [u8; 3] = [255, 255, 255];
const FG: [u8; 3] = [20, 20, 20];
const LABEL_W: usize = 8 * 24;
const GLYPH: usize = 8;

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: usize, h: usize) -> Self {
        let mut px = vec![0u8; w * h * 3];
        for p in px.chunks_exact_mut(3) {
            p.copy_from_slice(&BG);
        }
        Canvas { w, h, px }
    }
    fn put(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < self.w && y < self.h {
            let i = (y * self.w + x) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }
    fn text(&mut self, x: usize, y: usize, s: &str, color: [u8; 3]) {
        for (k, ch) in s.chars().enumerate() {
            let glyph = font8x8::BASIC_FONTS
                .get(ch)
                .or_else(|| font8x8::BASIC_FONTS.get('?'))
                .unwrap_or([0; 8]);
            for (gy, row) in glyph.iter().enumerate() {
                for gx in 0..8 {
                    if row & (1 << gx) != 0 {
                        self.put(x + k * GLYPH + gx, y + gy, color);
                    }
                }
            }
        }
    }
    fn image(&mut self, x0: usize, y0: usize, img: &Image, size: usize) {
        let t = resize_bilinear(img, size, size);
        let n = size * size;
        for y in 0..size {
            for x in 0..size {
                let i = y * size + x;
                let c = if t.channels >= 3 {
                    [t.data[i], t.data[n + i], t.data[2 * n + i]]
                } else {
                    [t.data[i]; 3]
                };
                self.put(
                    x0 + x,
                    y0 + y,
                    c.map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8),
                );
            }
        }
    }
    fn rect(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: [u8; 3]) {
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                self.put(x, y, c);
            }
        }
    }
}

/// Bilinear resize (pixel-centre aligned), for display only.
pub fn resize_bilinear(img: &Image, w: usize, h: usize) -> Image {
    let mut out = Image::new(w, h, img.channels);
    let (sx, sy) = (img.width as f32 / w as f32, img.height as f32 / h as f32);
    for c in 0..img.channels {
        let src = img.plane(c);
        let dst = out.plane_mut(c);
        for y in 0..h {
            let fy = ((y as f32 + 0.5) * sy - 0.5).clamp(0.0, (img.height - 1) as f32);
            let (y0, ty) = (fy.floor() as usize, fy.fract());
            let y1 = (y0 + 1).min(img.height - 1);
            for x in 0..w {
                let fx = ((x as f32 + 0.5) * sx - 0.5).clamp(0.0, (img.width - 1) as f32);
                let (x0, tx) = (fx.floor() as usize, fx.fract());
                let x1 = (x0 + 1).min(img.width - 1);
                let a = src[y0 * img.width + x0] * (1.0 - tx) + src[y0 * img.width + x1] * tx;
                let b = src[y1 * img.width + x0] * (1.0 - tx) + src[y1 * img.width + x1] * tx;
                dst[y * w + x] = a * (1.0 - ty) + b * ty;
            }
        }
    }
    out
}

/// Render the sheet to an RGB8 image (interleaved), returning (width, height, pixels).
pub fn render(sheet: &Sheet) -> (usize, usize, Vec<u8>) {
    let t = sheet.tile;
    let caption_lines = sheet
        .rows
        .iter()
        .flat_map(|(_, r)| r.iter().map(|c| c.caption.len()))
        .max()
        .unwrap_or(0);
    let cell_w = t + 8;
    let cell_h = t + 6 + caption_lines * (GLYPH + 2) + 6;
    let header = 2 * (GLYPH + 6) + 4;
    let w = LABEL_W + sheet.columns.len() * cell_w + 4;
    let h = header + sheet.rows.len() * cell_h + 4;
    let mut cv = Canvas::new(w, h);
    cv.text(4, 4, &sheet.title, FG);
    for (j, col) in sheet.columns.iter().enumerate() {
        cv.text(LABEL_W + j * cell_w + 2, GLYPH + 12, col, FG);
    }
    for (i, (label, tiles)) in sheet.rows.iter().enumerate() {
        let y0 = header + i * cell_h;
        // Row label, wrapped at the label column width.
        let max_chars = LABEL_W / GLYPH - 1;
        for (k, chunk) in label.as_bytes().chunks(max_chars).enumerate() {
            cv.text(
                2,
                y0 + t / 2 - GLYPH + k * (GLYPH + 2),
                std::str::from_utf8(chunk).unwrap_or("?"),
                FG,
            );
        }
        for (j, tile) in tiles.iter().enumerate() {
            let x0 = LABEL_W + j * cell_w;
            match &tile.image {
                Some(img) => cv.image(x0, y0, img, t),
                None => cv.rect(x0, y0, t, t, [200, 200, 200]),
            }
            for (k, line) in tile.caption.iter().enumerate() {
                let max = cell_w / GLYPH;
                let line: String = line.chars().take(max).collect();
                cv.text(x0, y0 + t + 4 + k * (GLYPH + 2), &line, FG);
            }
        }
    }
    (w, h, cv.px)
}

/// Render and write as PNG (atomically).
pub fn write_png(sheet: &Sheet, path: &std::path::Path) -> crate::error::Result<()> {
    check_tile(sheet.tile)?;
    let (w, h, px) = render(sheet);
    let img = Image::from_interleaved(
        w,
        h,
        3,
        &px.iter().map(|&v| v as f32 / 255.0).collect::<Vec<_>>(),
    );
    crate::io::write_image(
        path,
        &img,
        crate::image::BitDepth::U8,
        crate::io::Format::Png,
    )
}
