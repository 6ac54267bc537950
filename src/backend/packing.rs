//! Host-side packing of strength-independent, host-prepared data into the flat layouts the
//! kernels read (us_acoustic_shadow's cone planes and record, us_reverberation's record and
//! planes, derm_hair's hair records). Compiled with or
//! without the `cuda` feature: the host-math tests (tests/cuda_host_math_*.rs) feed the host build
//! of the kernels' `.cuh` functions through exactly the packing the launch wrappers upload.
//! Every input comes from the CPU's own `prepare` building blocks
//! ([`reverberation_fields`](crate::perturb::us::reverberation_fields),
//! [`hair_list`](crate::perturb::dermoscopy::hair_list)), so nothing here re-draws randomness.

use super::BackendError;
use crate::image::Image;
use crate::perturb::dermoscopy::Hair;
use crate::perturb::us::ReverberationFields;
use crate::perturb::Ctx;

/// Echoes a us_reverberation record holds (kernels/us.cuh `MFR_US_MAX_ECHOES`).
pub const US_MAX_ECHOES: usize = 12;
/// Floats per us_reverberation record (kernels/us.cuh `MFR_US_REVERB_PARAMS`).
pub const US_REVERB_PARAMS: usize = 8 + 2 * US_MAX_ECHOES;

/// The record `[sigma, centre, half_width, edge, t0, t1, n_echoes, 0, (depth, amplitude) x 12]`
/// of one image's us_reverberation fields. More echoes than the record holds: a typed error
/// (the CPU draws fewer than 10).
pub fn us_reverb_record(f: &ReverberationFields) -> Result<[f32; US_REVERB_PARAMS], BackendError> {
    if f.echoes.len() > US_MAX_ECHOES {
        return Err(BackendError::cuda(
            "us_reverberation",
            format!(
                "{} echoes, the kernel holds {US_MAX_ECHOES}",
                f.echoes.len()
            ),
        ));
    }
    let mut p = [0.0f32; US_REVERB_PARAMS];
    p[..7].copy_from_slice(&[
        f.sigma,
        f.centre,
        f.half_width,
        f.edge,
        f.theta.0,
        f.theta.1,
        f.echoes.len() as f32,
    ]);
    for (j, &(d, a)) in f.echoes.iter().enumerate() {
        p[8 + 2 * j] = d;
        p[9 + 2 * j] = a;
    }
    Ok(p)
}

/// The four planes of one image's us_reverberation fields back to back (4 w h values): cone
/// depth, cone angle, soft support, Rayleigh speckle (kernels/us.cu's field layout).
pub fn us_reverb_planes(f: &ReverberationFields) -> Vec<f32> {
    [&f.depth, &f.angle, &f.inside, &f.speckle]
        .into_iter()
        .flat_map(|v| v.iter().copied())
        .collect()
}

/// u32 words per hair record (kernels/dermoscopy.cuh `MFR_HAIR_WORDS`).
pub const HAIR_WORDS: usize = 8;

/// The hair lists of a batch in kernels/dermoscopy.cu's layout: `records` (HAIR_WORDS u32 per hair:
/// x0, y0, w, h, alpha offset, list index, shade bits, 0), `ranges` (first record, count per
/// image), `alpha` (all sprites back to back), `colour` (3 per image: channel c uses
/// `colour[min(c, 2)]`).
#[derive(Default, Debug)]
pub struct PackedHairs {
    pub records: Vec<u32>,
    pub ranges: Vec<u32>,
    pub alpha: Vec<f32>,
    pub colour: Vec<f32>,
}

impl PackedHairs {
    /// Append one image's [`hair_list`](crate::perturb::dermoscopy::hair_list) result.
    pub fn push(&mut self, hairs: &[Hair], colour: &[f32]) -> Result<(), BackendError> {
        let too_big =
            || BackendError::cuda("derm_hair", "hair data exceeds the kernel's 32-bit offsets");
        let first = u32::try_from(self.records.len() / HAIR_WORDS).map_err(|_| too_big())?;
        self.ranges.extend([first, hairs.len() as u32]);
        for (index, sprite, shade) in hairs {
            let off = u32::try_from(self.alpha.len()).map_err(|_| too_big())?;
            let word = |v: usize| u32::try_from(v).map_err(|_| too_big());
            self.records.extend([
                word(sprite.x0)?,
                word(sprite.y0)?,
                word(sprite.w)?,
                word(sprite.h)?,
                off,
                word(*index)?,
                shade.to_bits(),
                0,
            ]);
            self.alpha.extend_from_slice(&sprite.alpha);
        }
        // the CPU picks colour[min(c, len - 1)]: RGB for 3 channels, one luminance otherwise
        let last = colour.len().saturating_sub(1);
        self.colour
            .extend((0..3).map(|c| colour.get(c.min(last)).copied().unwrap_or(0.0)));
        Ok(())
    }
}

/// The cone (depth plane followed by angle plane, 2 w h values) and the MFR_US_PARAMS-float
/// record (r0, edge, decay, arc, K, then angle, half-width, depth per shadow) of
/// us_acoustic_shadow for `img`: the CPU's own [`shadow_setup`](crate::perturb::us::shadow_setup),
/// packed for kernels/us.cuh.
pub fn us_shadow(img: &Image, ctx: &Ctx) -> (Vec<f32>, [f32; 20]) {
    let st = crate::perturb::us::shadow_setup(img, ctx);
    let mut field = Vec::with_capacity(2 * st.cone.depth.len());
    field.extend_from_slice(&st.cone.depth);
    field.extend_from_slice(&st.cone.angle);
    let mut p = [0.0f32; 20];
    p[0] = st.cone.range.0;
    p[1] = st.edge;
    p[2] = st.decay;
    p[3] = st.arc;
    p[4] = st.shadows.len() as f32;
    for (i, sh) in st.shadows.iter().enumerate().take(5) {
        p[5 + 3 * i] = sh.angle;
        p[6 + 3 * i] = sh.half_width;
        p[7 + 3 * i] = sh.depth;
    }
    (field, p)
}
