//! Reading and writing images (PNG, JPEG, TIFF; 8/16-bit; grey/RGB).

use crate::rng::fnv1a32;
use std::path::Path;

/// Stable image id: FNV-1a of the path relative to the input root, with '/' separators, so the
/// RNG stream of an image does not depend on directory order, batch, or the machine.
pub fn image_id(relative: &Path) -> u32 {
    let s: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    fnv1a32(&s.join("/"))
}
