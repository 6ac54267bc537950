//! The whole per-image calibration on the GPU (spec/gpu.md "strength search"): every image of a
//! batch runs the CPU's joint five-band search (src/calibrate/search.rs) as the resumable state
//! machine of kernels/search.cuh, its state in device memory. One iteration queues
//!
//!   perturb(clean, strength) -> quantise to the bit depth -> fused SSIM -> search_update
//!
//! and `search_update` writes each image's next strength into the device array the next perturb
//! launch reads. No iteration waits for the host: the host only reads the `active` flags every
//! [`POLL`] iterations (to stop once every image is decided) and the states once at the end.
//! Images that finished early keep their last strength and are ignored by `search_update`; they
//! are still perturbed and measured until the batch finishes (simple, and deterministic).
//!
//! Same f(s) as the CPU's `calibrate_prepared`: SSIM(clean, quantised(apply(s))). The search logic
//! is host-verified bit for bit against the CPU search (tests/cuda_host_math_search.rs), the
//! kernels against the CPU perturbations and SSIM (tests/cuda_parity*.rs); the whole loop is
//! compared with the CPU calibration in tests/cuda_parity_calibration.rs.

use super::blur::BlurKernel;
use super::ct::{self, CtKernel, MetalStreaksPrepared};
use super::dermoscopy::{self, DermPrepared};
use super::endoscopy::EndoPrepared;
use super::geometric::WarpKernel;
use super::jpeg;
use super::motion_blur::MotionBlurKernel;
use super::mri::{self, BiasFieldKernel, GhostingKernel};
use super::mri_motion::MotionKernel;
use super::noise::NoiseKernel;
use super::oct::OctPrepared;
use super::pathology::PathPrepared;
use super::pixelate;
use super::ssim::SsimPlan;
use super::us::{self, ReverberationPrepared, ShadowKernel};
use super::xray::{self, XrayKernel};
use super::{err, CudaEngine, DeviceBatch};
use crate::backend::params::{
    band_status, BandSpec, RngKey, SearchConfig, SearchState, SEARCH_MAX_BANDS,
};
use crate::backend::BackendError;
use crate::calibrate::search::{reason_above, reason_below, reason_not_found, reason_skipped};
use crate::calibrate::{band, Band, LevelOutcome, SearchOptions, Verdict};
use crate::image::{BitDepth, Image};
use crate::perturb::device::Family;
use crate::perturb::{Ctx, Info, StrengthKind};
use cudarc::driver::{CudaSlice, LaunchConfig};

/// Iterations between two reads of the `active` flags.
pub const POLL: u32 = 4;
/// Local-scan points per band (C: `MFR_SEARCH_LOCAL_SCAN`).
const LOCAL_SCAN: u32 = 8;
/// Threads per block of the search kernels (kernels/search.cu `SEARCH_THREADS`, `QUANT_THREADS`).
const SEARCH_THREADS: u32 = 64;
const QUANT_THREADS: u32 = 256;

/// A perturbation kernel prepared for one batch whose strengths live on the device: what the
/// search loop launches. Implemented by every family wrapper that has a device-strength entry.
pub trait StrengthKernel {
    /// Perturb `input` (the batch the kernel was prepared for) into `out` (same layout) at
    /// `strength[i]` for image i; queue only, no synchronisation.
    fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError>;
}

impl StrengthKernel for NoiseKernel {
    fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        NoiseKernel::launch(self, engine, input, out, strength)
    }
}

impl StrengthKernel for OctPrepared {
    fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        OctPrepared::launch(self, engine, input, out, strength)
    }
}

/// dermoscopy.cu's closed-form kernels (nothing to prepare).
pub struct DermKernel(pub &'static str);

impl StrengthKernel for DermKernel {
    fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        dermoscopy::launch(engine, self.0, input, out, strength)
    }
}

/// pixelate (block size from the device strength).
pub struct PixelateKernel;

impl StrengthKernel for PixelateKernel {
    fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        pixelate::launch(engine, input, out, strength)
    }
}

/// jpeg (quality from the device strength; nothing to prepare).
pub struct JpegKernel;

impl StrengthKernel for JpegKernel {
    fn launch(
        &self,
        engine: &CudaEngine,
        input: &DeviceBatch,
        out: &mut DeviceBatch,
        strength: &CudaSlice<f32>,
    ) -> Result<(), BackendError> {
        jpeg::launch(engine, input, out, strength)
    }
}

macro_rules! strength_kernel_impl {
    ($($t:ty),*) => {$(
        impl StrengthKernel for $t {
            fn launch(&self, engine: &CudaEngine, input: &DeviceBatch, out: &mut DeviceBatch, strength: &CudaSlice<f32>) -> Result<(), BackendError> {
                <$t>::launch(self, engine, input, out, strength)
            }
        }
    )*};
}
strength_kernel_impl!(
    BlurKernel,
    MotionBlurKernel,
    WarpKernel,
    MotionKernel,
    XrayKernel,
    CtKernel,
    MetalStreaksPrepared,
    BiasFieldKernel,
    GhostingKernel,
    ShadowKernel,
    ReverberationPrepared,
    DermPrepared,
    EndoPrepared,
    PathPrepared
);

/// Ids with an on-GPU search, in registry order: those whose registry entry names a kernel that
/// joins the search ([`crate::perturb::device`]; its strength is read on the device and its
/// strength-independent part is prepared once per batch: gaussian_blur and motion_blur build
/// their taps, the warps their matrices, on the device from the strength).
pub fn search_ids() -> Vec<&'static str> {
    crate::perturb::device::search_ids()
}

/// The kernel for `id` prepared for `batch` (whose image i is `images[i]`, RNG id
/// `batch.descs[i].image_id`, run seed `seed`), or `None` when `id`'s registry entry has no
/// kernel in the on-GPU search ([`search_ids`]; the caller falls back to the CPU). Dispatches on
/// the entry's [`Family`], whose wrapper packs the arguments; host-side preparation uses the
/// CPU's own functions (the same draws as the CPU `prepare`).
pub fn strength_kernel(
    engine: &CudaEngine,
    id: &str,
    batch: &DeviceBatch,
    images: &[&Image],
    seed: u64,
) -> Result<Option<Box<dyn StrengthKernel>>, BackendError> {
    let Ok(p) = crate::perturb::by_id(id) else {
        return Err(BackendError::cuda(
            id.to_string(),
            "unknown perturbation id",
        ));
    };
    let Some(kernel) = p.info().device.kernel().filter(|k| k.search) else {
        return Ok(None);
    };
    let id = p.id();
    // tap buffers are sized for the top of the strength range, which the search never leaves
    let s_max = p.info().strength_range.1;
    if images.len() != batch.len() {
        return Err(BackendError::cuda(
            id.to_string(),
            "one host image per batch image is required",
        ));
    }
    // the perturbation's RNG stream: Ctx::rng's key (seed, fnv1a32(id))
    let key = RngKey::new(seed, crate::rng::fnv1a32(id));
    let ctxs: Vec<Ctx> = batch
        .descs
        .iter()
        .map(|d| Ctx::new(seed, d.image_id))
        .collect();
    let per_image = |f: &dyn Fn(&Image, &Ctx) -> Vec<f32>| -> Vec<Vec<f32>> {
        images.iter().zip(&ctxs).map(|(im, c)| f(im, c)).collect()
    };
    let k: Box<dyn StrengthKernel> = match kernel.family {
        Family::Noise => Box::new(NoiseKernel::new(engine, id, batch, key)?),
        Family::Oct => Box::new(OctPrepared::new(engine, id, batch, seed)?),
        Family::DermClosedForm => Box::new(DermKernel(id)),
        Family::DermPrepared => Box::new(DermPrepared::new(engine, id, images, batch, seed)?),
        Family::Pixelate => Box::new(PixelateKernel),
        Family::Warp => Box::new(WarpKernel::new(engine, id, batch, &ctxs)?),
        Family::GaussianBlur => Box::new(BlurKernel::new(engine, batch, s_max)?),
        Family::MotionBlur => Box::new(MotionBlurKernel::new(engine, batch, &ctxs, s_max)?),
        Family::Jpeg => Box::new(JpegKernel),
        Family::Xray => {
            let fields = per_image(&|im, c| xray::prepare_field(id, im, c));
            Box::new(XrayKernel::new(engine, id, batch, &fields, key)?)
        }
        Family::CtMetalStreaks => Box::new(MetalStreaksPrepared::new(engine, images, batch, seed)?),
        Family::Ct => {
            let params: Vec<f32> = ctxs.iter().map(|c| ct::prepare_param(id, c)).collect();
            let fields = per_image(&|im, _| ct::prepare_field(id, im));
            Box::new(CtKernel::new(engine, id, batch, &params, &fields, key)?)
        }
        Family::MriBiasField => {
            let fields = per_image(&|im, c| mri::log_field(im.width, im.height, c));
            Box::new(BiasFieldKernel::new(engine, batch, &fields)?)
        }
        Family::MriGhosting => {
            let fields = per_image(&crate::perturb::mri::ghost_field);
            Box::new(GhostingKernel::new(engine, batch, &fields)?)
        }
        Family::MriMotion => Box::new(MotionKernel::from_images(engine, batch, images, seed)?),
        Family::UsShadow => {
            let prep: Vec<_> = images
                .iter()
                .zip(&ctxs)
                .map(|(im, c)| us::shadow_prepare(im, c))
                .collect();
            Box::new(ShadowKernel::new(engine, batch, &prep)?)
        }
        Family::UsReverberation => {
            Box::new(ReverberationPrepared::new(engine, images, batch, seed)?)
        }
        Family::Endoscopy => Box::new(EndoPrepared::new(engine, id, batch, images, seed)?),
        Family::Pathology => Box::new(PathPrepared::new(engine, id, batch, images, seed)?),
    };
    Ok(Some(k))
}

/// The search's bands: the requested levels, ascending, deduplicated (as the CPU).
fn bands_for(levels: &[u8]) -> Result<Vec<Band>, BackendError> {
    let mut bands: Vec<Band> = levels
        .iter()
        .map(|&l| band(l).map_err(|e| BackendError::cuda("calibration", e.to_string())))
        .collect::<Result<_, _>>()?;
    bands.sort_by_key(|b| b.level);
    bands.dedup_by_key(|b| b.level);
    if bands.is_empty() || bands.len() > SEARCH_MAX_BANDS {
        return Err(BackendError::cuda(
            "calibration",
            format!("1 to {SEARCH_MAX_BANDS} levels are required"),
        ));
    }
    Ok(bands)
}

/// Calibrate every image of `clean` (quantised images on [0, 1] at bit depth `depth`) for the
/// perturbation described by `info`, whose kernel is `kernel`: one outcome list per image, in
/// ascending level order, equal in meaning and text to the CPU's `calibrate_prepared`.
pub fn calibrate_batch(
    engine: &CudaEngine,
    kernel: &dyn StrengthKernel,
    info: &Info,
    clean: &DeviceBatch,
    levels: &[u8],
    opts: &SearchOptions,
    depth: BitDepth,
) -> Result<Vec<Vec<LevelOutcome>>, BackendError> {
    let bands = bands_for(levels)?;
    let n = clean.len();
    if n == 0 {
        return Ok(Vec::new());
    }
    let (s_min, s_max) = info.strength_range;
    let mut cfg = SearchConfig {
        n_bands: bands.len() as u32,
        max_evals: opts.max_evals_per_band,
        continuous: (info.kind == StrengthKind::Continuous) as u32,
        s_min,
        s_max,
        ..Default::default()
    };
    for (slot, b) in cfg.bands.iter_mut().zip(&bands) {
        *slot = BandSpec { lo: b.lo, hi: b.hi };
    }
    let s = engine.stream();
    let d_cfg = s.clone_htod(&[cfg]).map_err(err("search upload"))?;
    let mut states = s
        .alloc_zeros::<SearchState>(n)
        .map_err(err("search alloc"))?;
    let mut strength = s.alloc_zeros::<f32>(n).map_err(err("search alloc"))?;
    let mut active = s.alloc_zeros::<u32>(n).map_err(err("search alloc"))?;
    let mut perturbed = DeviceBatch::zeros_like(engine, clean)?;
    let mut quantised = DeviceBatch::zeros_like(engine, clean)?;
    let mut plan = SsimPlan::new(engine, clean, opts.variant)?;

    let n32 = n as u32;
    let search_cfg = LaunchConfig {
        grid_dim: (n32.div_ceil(SEARCH_THREADS), 1, 1),
        block_dim: (SEARCH_THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    let init = engine.function("search", "search_init")?;
    let update = engine.function("search", "search_update")?;
    let quant = engine.function("search", "quantise_batch")?;
    let mut l = init.builder(s);
    l.arg(&mut states)
        .arg(&mut strength)
        .arg(&mut active)
        .arg(&d_cfg)
        .arg(&n32);
    // SAFETY: matches `search_init(MfrSearchState*, float* strength, uint32_t* active,
    // const MfrSearchConfig*, uint32_t n)`; states/strength/active have n entries, cfg one;
    // SearchState/SearchConfig mirror the C structs (layout test in tests/cuda_host_math_search.rs).
    unsafe { l.launch(search_cfg) }?;

    let total = clean.total as u64;
    let max_v = depth.max_value();
    let quant_cfg = LaunchConfig {
        grid_dim: (
            u32::try_from(clean.total.div_ceil(QUANT_THREADS as usize))
                .map_err(|_| BackendError::cuda("calibration", "batch too large"))?,
            1,
            1,
        ),
        block_dim: (QUANT_THREADS, 1, 1),
        shared_mem_bytes: 0,
    };
    // Upper bound on evaluations: s_max, s_min, then per band its budget plus the local scan.
    let max_iters = 2 + cfg.n_bands * (cfg.max_evals + LOCAL_SCAN) + 1;
    let mut finished = false;
    for it in 0..max_iters {
        kernel.launch(engine, clean, &mut perturbed, &strength)?;
        let mut l = quant.builder(s);
        l.arg(&perturbed.data)
            .arg(&mut quantised.data)
            .arg(&total)
            .arg(&max_v);
        // SAFETY: matches `quantise_batch(const float*, float*, uint64_t total, float max)`; both
        // buffers hold `total` samples (zeros_like of `clean`); threads past `total` return.
        unsafe { l.launch(quant_cfg) }?;
        plan.run(engine, clean, &quantised)?;
        let mut l = update.builder(s);
        l.arg(&mut states)
            .arg(&mut strength)
            .arg(&mut active)
            .arg(plan.result())
            .arg(&d_cfg)
            .arg(&n32);
        // SAFETY: matches `search_update(MfrSearchState*, float*, uint32_t*, const double* ssim,
        // const MfrSearchConfig*, uint32_t n)`; the SSIM buffer has n entries (the plan's output).
        unsafe { l.launch(search_cfg) }?;
        if (it + 1) % POLL == 0 || it + 1 == max_iters {
            let flags = s.clone_dtoh(&active).map_err(err("search poll"))?;
            if flags.iter().all(|&a| a == 0) {
                finished = true;
                break;
            }
        }
    }
    if !finished {
        return Err(BackendError::cuda(
            "calibration",
            format!("search did not finish within {max_iters} iterations"),
        ));
    }
    let states = s.clone_dtoh(&states).map_err(err("search download"))?;
    states
        .iter()
        .map(|st| outcomes(st, &bands, s_min, s_max))
        .collect()
}

/// The CPU's `LevelOutcome`s from one finished device state.
fn outcomes(
    st: &SearchState,
    bands: &[Band],
    s_min: f32,
    s_max: f32,
) -> Result<Vec<LevelOutcome>, BackendError> {
    if st.overflow != 0 {
        return Err(BackendError::cuda(
            "calibration",
            "search point list overflowed (MFR_SEARCH_MAX_POINTS)",
        ));
    }
    Ok(bands
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let (s, v, n) = (st.out_s[i], st.out_f[i], st.out_n[i]);
            let (verdict, reason) = match st.out_status[i] {
                band_status::IN => (Verdict::InBand, None),
                band_status::UNREACHABLE_HIGH => (
                    Verdict::UnreachableAbove,
                    Some(reason_above(s_max, st.f_max)),
                ),
                band_status::UNREACHABLE_LOW => (
                    Verdict::UnreachableBelow,
                    Some(reason_below(s_min, st.f_min)),
                ),
                band_status::SKIPPED => (
                    Verdict::Skipped,
                    Some(reason_skipped(
                        st.skip_a[i],
                        st.skip_fa[i],
                        st.skip_b[i],
                        st.skip_fb[i],
                    )),
                ),
                _ => (Verdict::Skipped, Some(reason_not_found(n, s, v))),
            };
            LevelOutcome {
                level: b.level,
                strength: s,
                ssim: v,
                target: [b.lo, b.hi],
                in_band: verdict.in_band(),
                reason,
                evaluations: n,
                verdict,
            }
        })
        .collect())
}
