//! Counter-based RNG: Philox4x32-10 (Salmon et al., SC'11; Random123), bit-identical to the CUDA
//! twin in kernels/common.cuh.
//!
//! Contract (rule 1 of the catalogue): a random value is a pure function of
//! (run seed, image id, perturbation id, stream, index). The counter is
//! `(index, stream, image_id, perturbation_id)`, the key `(seed_lo, seed_hi)`. Strength and level are
//! never part of it, so a perturbation sees the same noise field at every strength and
//! SSIM(strength) is a deterministic function the calibration can bisect. Nothing depends on thread
//! count, batch composition or call order.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

#[inline(always)]
fn round(c: [u32; 4], k: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mulhilo(M0, c[0]);
    let (hi1, lo1) = mulhilo(M1, c[2]);
    [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0]
}

/// The Philox4x32 block function with 10 rounds.
#[inline]
pub fn philox4x32_10(mut ctr: [u32; 4], mut key: [u32; 2]) -> [u32; 4] {
    for _ in 0..9 {
        ctr = round(ctr, key);
        key[0] = key[0].wrapping_add(W0);
        key[1] = key[1].wrapping_add(W1);
    }
    round(ctr, key)
}

/// u32 -> f32 uniform in the OPEN interval (0, 1): `((w >> 9) + 0.5) * 2^-23`, exact in f32 (24
/// significant bits), so host and device agree bit for bit and `ln(u)` is always finite.
#[inline(always)]
pub fn unit_f32(w: u32) -> f32 {
    ((w >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// Box-Muller on two words, evaluated in f64 and rounded once to f32 (the CUDA twin does the same,
/// which keeps CPU/GPU differences at the last-ulp level of the f64 transcendental functions).
#[inline(always)]
pub fn box_muller(w0: u32, w1: u32) -> (f32, f32) {
    let u1 = unit_f32(w0) as f64;
    let u2 = unit_f32(w1) as f64;
    let r = (-2.0 * u1.ln()).sqrt();
    let t = std::f64::consts::TAU * u2;
    ((r * t.cos()) as f32, (r * t.sin()) as f32)
}

/// Stable 32-bit FNV-1a hash: image ids (relative path with '/' separators) and perturbation ids.
pub fn fnv1a32(s: &str) -> u32 {
    let mut h: u32 = 0x811C_9DC5;
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Stream numbers at or above this are reserved for per-image scalar parameters
/// (angles, directions, object lists); below it, a stream is a channel or a named field.
pub const PARAM_STREAM: u32 = 0x8000_0000;

/// A keyed random source for one (seed, image, perturbation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rng {
    pub key: [u32; 2],
    pub image_id: u32,
    pub perturbation_id: u32,
}

impl Rng {
    pub fn new(seed: u64, image_id: u32, perturbation_id: u32) -> Self {
        Rng {
            key: [seed as u32, (seed >> 32) as u32],
            image_id,
            perturbation_id,
        }
    }

    #[inline(always)]
    pub fn block(&self, stream: u32, index: u32) -> [u32; 4] {
        philox4x32_10(
            [index, stream, self.image_id, self.perturbation_id],
            self.key,
        )
    }

    /// Uniform in (0, 1) from word 0 of block (stream, index).
    #[inline(always)]
    pub fn uniform(&self, stream: u32, index: u32) -> f32 {
        unit_f32(self.block(stream, index)[0])
    }

    /// Standard normal from words 0 and 1 of block (stream, index).
    #[inline(always)]
    pub fn normal(&self, stream: u32, index: u32) -> f32 {
        let b = self.block(stream, index);
        box_muller(b[0], b[1]).0
    }

    /// The k-th per-image scalar parameter, uniform in (0, 1).
    #[inline]
    pub fn param(&self, k: u32) -> f32 {
        self.uniform(PARAM_STREAM | k, 0)
    }

    /// The k-th per-image scalar parameter, uniform in [lo, hi).
    #[inline]
    pub fn param_range(&self, k: u32, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.param(k)
    }

    /// A random sign (+1 or -1) for parameter k.
    #[inline]
    pub fn param_sign(&self, k: u32) -> f32 {
        if self.block(PARAM_STREAM | k, 1)[0] & 1 == 0 {
            1.0
        } else {
            -1.0
        }
    }

    /// Element `i` of the object list `list` (hairs, spots, bubbles ...): `n` uniforms in (0, 1).
    /// Lists are drawn at their maximal length; strength selects a prefix (rule 1).
    pub fn object(&self, list: u32, i: u32, n: usize) -> Vec<f32> {
        let stream = PARAM_STREAM | 0x4000_0000 | (list << 16);
        (0..n as u32)
            .map(|j| {
                let b = self.block(stream | (j / 4), i);
                unit_f32(b[(j % 4) as usize])
            })
            .collect()
    }

    /// Fill `out` with N(0,1) samples for stream `stream` (pixel index = position in `out`).
    pub fn fill_normal(&self, stream: u32, out: &mut [f32]) {
        use rayon::prelude::*;
        out.par_chunks_mut(4096)
            .enumerate()
            .for_each(|(ci, chunk)| {
                let base = (ci * 4096) as u32;
                for (j, v) in chunk.iter_mut().enumerate() {
                    *v = self.normal(stream, base + j as u32);
                }
            });
    }

    /// Fill `out` with U(0,1) samples for stream `stream`.
    pub fn fill_uniform(&self, stream: u32, out: &mut [f32]) {
        use rayon::prelude::*;
        out.par_chunks_mut(4096)
            .enumerate()
            .for_each(|(ci, chunk)| {
                let base = (ci * 4096) as u32;
                for (j, v) in chunk.iter_mut().enumerate() {
                    *v = self.uniform(stream, base + j as u32);
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Random123 known-answer vectors (kat_vectors), also in spec/gpu.md.
    #[test]
    fn philox_known_answers() {
        assert_eq!(
            philox4x32_10([0; 4], [0; 2]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }

    #[test]
    fn unit_is_open_interval() {
        assert!(unit_f32(0) > 0.0);
        assert!(unit_f32(u32::MAX) < 1.0);
    }

    #[test]
    fn normal_moments() {
        let r = Rng::new(7, 1, 2);
        let mut v = vec![0.0; 200_000];
        r.fill_normal(0, &mut v);
        let m = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|&x| (x as f64 - m).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(m.abs() < 0.01, "mean {m}");
        assert!((var - 1.0).abs() < 0.01, "var {var}");
    }

    #[test]
    fn fnv_reference_values() {
        // FNV-1a 32 reference values (IETF draft-eastlake-fnv test vectors).
        assert_eq!(fnv1a32(""), 0x811c9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9cf968);
    }
}
