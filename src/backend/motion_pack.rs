//! Host-side packing of mri_motion's strength-independent data into the flat layouts
//! kernels/mri_motion.cu reads (kernels/mri_motion.cuh describes them). Compiled with or without
//! the `cuda` feature: tests/cuda_host_math_mri.rs feeds the host build of the kernel loops through
//! exactly the packing the launch wrapper (src/backend/cuda/mri_motion.rs) uploads.
//!
//! Inputs come from the CPU's own `prepare` ([`motion_spectra`](crate::perturb::mri::motion_spectra)),
//! so nothing here re-draws randomness or recomputes a transform. Per image (in batch order):
//! - spectra: the `c x h x w` complex f64 values, interleaved (re, im), back to back in batch
//!   order, so image i's first value sits at its sample offset (`ImageDesc::offset`);
//! - the non-zero k-space rows: index ky (`row_ky`) and shift (ux, uy) (`row_u`), ascending ky;
//!   rows whose shift is exactly (0, 0) are left out (the CPU skips them too);
//! - twiddle tables `(cos, sin)(2 pi k / N)`, k < N, one per distinct length N (w and h);
//! - [`MOTION_META_WORDS`] u64 per image: row offset, row count m, G scratch offset (c m w complex
//!   values), w-table offset, h-table offset, and 1 if the image takes the radix-2 kernels
//!   ([`uses_fft`]) or 0 for the direct-DFT ones.

use super::BackendError;
use crate::perturb::mri::MotionSpectra;
use std::collections::HashMap;

/// u64 words per image (kernels/mri_motion.cuh `MFR_MOTION_META_WORDS` and its slots).
pub const MOTION_META_WORDS: usize = 6;

/// Largest side of the radix-2 path (kernels/mri_motion.cuh `MFR_MOTION_FFT_MAX`: one transform
/// in 32 KiB of shared memory).
pub const MOTION_FFT_MAX: usize = 2048;

/// Whether an image of `w x h` takes the radix-2 kernels: both sides powers of two in
/// [2, [`MOTION_FFT_MAX`]]. Every other size takes the direct DFT.
pub fn uses_fft(w: usize, h: usize) -> bool {
    let ok = |n: usize| n.is_power_of_two() && (2..=MOTION_FFT_MAX).contains(&n);
    ok(w) && ok(h)
}

/// Largest width or height the kernel takes (kernels/mri_motion.cuh `MFR_MOTION_MAX_SIDE`: twiddle
/// indices k n mod N are computed in 32 bits).
pub const MOTION_MAX_SIDE: usize = 65536;

/// Everything mri_motion uploads for one batch, in the kernel's layout.
#[derive(Clone, Debug, Default)]
pub struct PackedMotion {
    /// Interleaved (re, im) spectra of every image, in batch order (2 f64 per sample).
    pub spectra: Vec<f64>,
    /// [`MOTION_META_WORDS`] words per image.
    pub meta: Vec<u64>,
    /// ky of every non-zero row, image after image.
    pub row_ky: Vec<u32>,
    /// (ux, uy) of every non-zero row (2 f64 per row).
    pub row_u: Vec<f64>,
    /// Interleaved (cos, sin) twiddle tables.
    pub twiddles: Vec<f64>,
    /// Complex values of the G scratch the batch needs (sum over images of c m w).
    pub scratch_len: usize,
    /// Grid x extent of `mri_motion_rows`: the largest direct-path image's c * ceil(m / 32) *
    /// ceil(w / 64) tiles (0: no launch).
    pub rows_blocks: usize,
    /// Grid x extent of `mri_motion_cols`: the largest direct-path image's c * ceil(h / 32) *
    /// ceil(w / 32) tiles (0: no launch).
    pub cols_blocks: usize,
    /// Grid x extent of `mri_motion_rows_fft`: the largest radix-2 image's c * m (0: no launch).
    pub fft_rows_blocks: usize,
    /// Grid x extent of `mri_motion_cols_fft`: the largest radix-2 image's c * w (0: no launch).
    pub fft_cols_blocks: usize,
    /// Offset of each twiddle table by length.
    tables: HashMap<usize, u64>,
}

/// Tile sizes of the two passes (kernels/mri_motion.cuh `MFR_MOTION_P1_X`, `_P1_J`, `_P2_X`, `_P2_Y`).
const P1_X: usize = 64;
const P1_J: usize = 32;
const P2_X: usize = 32;
const P2_Y: usize = 32;

/// The table `(cos, sin)(2 pi k / n)` for k < n, interleaved: e^{+2 pi i k / n}.
fn twiddle_table(n: usize) -> Vec<f64> {
    (0..n)
        .flat_map(|k| {
            let a = std::f64::consts::TAU * k as f64 / n as f64;
            [a.cos(), a.sin()]
        })
        .collect()
}

impl PackedMotion {
    /// Pack image i of shape `dims[i] = (w, h, c)` with its prepared `spectra[i]` (see [`push`](Self::push)).
    pub fn new(
        dims: &[(usize, usize, usize)],
        spectra: &[MotionSpectra],
    ) -> Result<Self, BackendError> {
        if dims.len() != spectra.len() {
            return Err(BackendError::cuda(
                "mri_motion",
                "one prepared spectrum per image is required",
            ));
        }
        let mut p = PackedMotion::default();
        for (&dim, ms) in dims.iter().zip(spectra) {
            p.push(dim, ms)?;
        }
        Ok(p)
    }

    /// Append the next image of the batch, of shape `(w, h, c)`, with its prepared spectra (so a
    /// caller can drop each image's spectra once packed). A spectrum or shift list of the wrong
    /// length, or a side beyond [`MOTION_MAX_SIDE`], is a typed error naming mri_motion.
    pub fn push(
        &mut self,
        (w, h, c): (usize, usize, usize),
        ms: &MotionSpectra,
    ) -> Result<(), BackendError> {
        let id = "mri_motion";
        if ms.spectra.len() != w * h * c || ms.row_shift.len() != h {
            return Err(BackendError::cuda(
                id,
                format!(
                    "prepared spectra have {} values and {} row shifts, {} and {h} needed",
                    ms.spectra.len(),
                    ms.row_shift.len(),
                    w * h * c
                ),
            ));
        }
        if w > MOTION_MAX_SIDE || h > MOTION_MAX_SIDE {
            return Err(BackendError::cuda(id, format!("image {w}x{h}: the kernel's direct DFT supports sides up to {MOTION_MAX_SIDE} px")));
        }
        let rows_off = self.row_ky.len() as u64;
        for (ky, &(ux, uy)) in ms.row_shift.iter().enumerate() {
            if ux == 0.0 && uy == 0.0 {
                continue;
            }
            self.row_ky.push(ky as u32);
            self.row_u.extend([ux, uy]);
        }
        let m = self.row_ky.len() - rows_off as usize;
        let tw_w = self.table(w);
        let tw_h = self.table(h);
        let fft = uses_fft(w, h);
        self.meta.extend([
            rows_off,
            m as u64,
            self.scratch_len as u64,
            tw_w,
            tw_h,
            fft as u64,
        ]);
        self.scratch_len += c * m * w;
        if fft {
            self.fft_rows_blocks = self.fft_rows_blocks.max(c * m);
            self.fft_cols_blocks = self.fft_cols_blocks.max(c * w);
        } else {
            self.rows_blocks = self
                .rows_blocks
                .max(c * m.div_ceil(P1_J) * w.div_ceil(P1_X));
            self.cols_blocks = self
                .cols_blocks
                .max(c * h.div_ceil(P2_Y) * w.div_ceil(P2_X));
        }
        self.spectra
            .extend(ms.spectra.iter().flat_map(|z| [z.re, z.im]));
        Ok(())
    }

    /// Offset (in complex values) of the n-point twiddle table, appended on first use.
    fn table(&mut self, n: usize) -> u64 {
        if let Some(&off) = self.tables.get(&n) {
            return off;
        }
        let off = (self.twiddles.len() / 2) as u64;
        self.twiddles.extend(twiddle_table(n));
        self.tables.insert(n, off);
        off
    }

    /// Bytes of device memory the packed data and the G scratch take.
    pub fn device_bytes(&self) -> usize {
        8 * (self.spectra.len()
            + self.meta.len()
            + self.row_u.len()
            + self.twiddles.len()
            + 2 * self.scratch_len)
            + 4 * self.row_ky.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perturb::mri::motion_spectra;
    use crate::perturb::Ctx;
    use crate::Image;

    #[test]
    fn packs_rows_offsets_and_shared_tables() {
        let a = Image::new(5, 12, 1);
        let b = Image::new(12, 7, 3);
        let ms = [
            motion_spectra(&a, &Ctx::new(1, 2)),
            motion_spectra(&b, &Ctx::new(1, 3)),
        ];
        let p = PackedMotion::new(&[(5, 12, 1), (12, 7, 3)], &ms).unwrap();
        let nonzero = |m: &MotionSpectra| {
            m.row_shift
                .iter()
                .filter(|&&(x, y)| x != 0.0 || y != 0.0)
                .count() as u64
        };
        let (ma, mb) = (nonzero(&ms[0]), nonzero(&ms[1]));
        assert!(ma > 0 && ma < 12 && mb > 0 && mb < 7);
        // tables: 5, 12 (shared by a's h and b's w), 7; both on the direct path
        assert_eq!(p.meta, vec![0, ma, 0, 0, 5, 0, ma, mb, 5 * ma, 5, 17, 0]);
        assert_eq!(p.twiddles.len(), 2 * (5 + 12 + 7));
        assert_eq!(p.scratch_len as u64, 5 * ma + 3 * 12 * mb);
        assert_eq!((p.rows_blocks, p.cols_blocks), (3, 3));
        assert_eq!(p.spectra.len(), 2 * (60 + 252));
        assert_eq!((p.twiddles[0], p.twiddles[1]), (1.0, 0.0));
        assert!(PackedMotion::new(&[(5, 11, 1)], &ms[..1]).is_err());
        assert_eq!((p.fft_rows_blocks, p.fft_cols_blocks), (0, 0));
    }

    #[test]
    fn powers_of_two_take_the_radix2_path() {
        assert!(uses_fft(512, 512) && uses_fft(2, 2048) && uses_fft(64, 8));
        assert!(
            !uses_fft(1, 8)
                && !uses_fft(8, 1)
                && !uses_fft(4096, 512)
                && !uses_fft(96, 64)
                && !uses_fft(64, 9)
        );
        let a = Image::new(16, 8, 3);
        let b = Image::new(12, 7, 1);
        let ms = [
            motion_spectra(&a, &Ctx::new(1, 2)),
            motion_spectra(&b, &Ctx::new(1, 3)),
        ];
        let p = PackedMotion::new(&[(16, 8, 3), (12, 7, 1)], &ms).unwrap();
        let m = |k: usize| p.meta[k * MOTION_META_WORDS + 1] as usize;
        assert_eq!((p.meta[5], p.meta[11]), (1, 0));
        assert_eq!((p.fft_rows_blocks, p.fft_cols_blocks), (3 * m(0), 3 * 16));
        assert_eq!((p.rows_blocks, p.cols_blocks), (m(1).div_ceil(32), 1));
    }
}
