//! The mri phantom (PLACEHOLDER until the real one lands).

use crate::image::{Image, Mask};

pub fn make(width: usize, height: usize, channels: usize, seed: u64) -> (Image, Mask) {
    super::placeholder(width, height, channels, seed)
}
