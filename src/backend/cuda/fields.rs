//! Packing of host-prepared per-image fields for the "prepared field + per-pixel formula"
//! kernels (kernels/pointwise.cuh): the fields of all images back to back in one device buffer,
//! with one start offset per image.

use super::{err, CudaEngine};
use crate::backend::BackendError;
use cudarc::driver::CudaSlice;

/// Field layouts (kernels/pointwise.cuh `MFR_FIELD_*`).
pub const FIELD_NONE: u32 = 0;
pub const FIELD_PLANE: u32 = 1;
pub const FIELD_ROW: u32 = 2;
pub const FIELD_FULL: u32 = 3;

/// Device copies of the packed fields and their offsets. An empty field list uploads one dummy
/// value and zero offsets (the kernel then never reads it: mode FIELD_NONE).
pub struct PackedFields {
    pub data: CudaSlice<f32>,
    pub offsets: CudaSlice<u64>,
}

/// Upload `fields` (one per image, or empty for none) for a batch of `n` images.
pub fn upload(
    engine: &CudaEngine,
    fields: &[Vec<f32>],
    n: usize,
) -> Result<PackedFields, BackendError> {
    let s = engine.stream();
    let mut packed = Vec::new();
    let mut offsets = vec![0u64; n.max(1)];
    for (i, f) in fields.iter().enumerate().take(n) {
        offsets[i] = packed.len() as u64;
        packed.extend_from_slice(f);
    }
    if packed.is_empty() {
        packed.push(0.0);
    }
    let data = s.clone_htod(&packed).map_err(err("field upload"))?;
    let offsets = s
        .clone_htod(&offsets)
        .map_err(err("field offsets upload"))?;
    Ok(PackedFields { data, offsets })
}

/// Check that every image has a field of the length its layout needs.
pub fn check(
    id: &str,
    mode: u32,
    fields: &[Vec<f32>],
    dims: &[(usize, usize, usize)],
) -> Result<(), BackendError> {
    if mode == FIELD_NONE {
        return Ok(());
    }
    if fields.len() != dims.len() {
        return Err(BackendError::cuda(
            id,
            "one prepared field per image is required",
        ));
    }
    for (f, &(w, h, c)) in fields.iter().zip(dims) {
        let need = match mode {
            FIELD_PLANE => w * h,
            FIELD_ROW => h,
            _ => w * h * c,
        };
        if f.len() != need {
            return Err(BackendError::cuda(
                id,
                format!("prepared field has {} values, {need} needed", f.len()),
            ));
        }
    }
    Ok(())
}
