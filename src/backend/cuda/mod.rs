//! The CUDA engine: cudarc 0.19 (driver API, libcuda loaded at run time) over the fatbins that
//! build.rs embeds (src/backend/cuda/modules.rs).
//!
//! Safety model: all `unsafe` of this engine lives in this module tree, in four kinds of places,
//! each with a SAFETY note: (1) probing libcuda, (2) `DeviceRepr` impls for the `#[repr(C)]`
//! parameter structs, (3) the zero-copy ORT tensor (ort_io.rs), (4) kernel launches, all through
//! launch.rs: `Launch::launch` checks every argument list against the kernel's C parameter list
//! (types, count, order, const-ness, from the embedded source) and returns a typed error on a
//! mismatch; what each launch site still guarantees, in its SAFETY note, is buffer lengths and
//! the grid the kernel's indexing assumes.

pub mod batch;
pub mod blur;
pub mod ct;
pub mod dermoscopy;
pub mod endoscopy;
pub mod fields;
pub mod geometric;
pub mod jpeg;
pub mod launch;
pub mod modules;
pub mod motion_blur;
pub mod mri;
pub mod mri_motion;
pub mod noise;
pub mod objects;
pub mod oct;
pub mod ort_io;
pub mod pathology;
pub mod pixelate;
pub mod search;
pub mod ssim;
pub mod us;
pub mod xray;

use super::params::{ImageDesc, RngKey, SearchConfig, SearchState, SsimParams};
use super::BackendError;
use crate::perturb::device::{Family, Kernel};
use cudarc::driver::{CudaContext, CudaModule, CudaStream, DeviceRepr, ValidAsZeroBits};
use std::collections::HashMap;
use std::sync::Arc;

pub use batch::DeviceBatch;
pub use launch::KernelFn;

// SAFETY: these are #[repr(C)] plain-old-data structs of integers and floats with no padding
// invariants and no pointers (layout pinned by tests in params.rs and tests/cuda_host_math.rs),
// identical to the C structs the kernels take by value or read from device memory.
unsafe impl DeviceRepr for ImageDesc {}
unsafe impl DeviceRepr for RngKey {}
unsafe impl DeviceRepr for SsimParams {}
unsafe impl DeviceRepr for SearchConfig {}
unsafe impl DeviceRepr for SearchState {}
// SAFETY: all-zero bytes are a valid value of each (zero integers and +0.0 floats).
unsafe impl ValidAsZeroBits for ImageDesc {}
unsafe impl ValidAsZeroBits for SearchState {}

/// What was found when probing for a GPU.
#[derive(Clone, Debug)]
pub struct ProbeInfo {
    pub device_count: usize,
}

/// Check that libcuda can be loaded and reports at least one device, without creating a context.
/// Never panics: cudarc's lazy loader panics when libcuda or a symbol is missing, so the driver
/// calls are additionally wrapped in `catch_unwind`.
pub fn probe() -> Result<ProbeInfo, BackendError> {
    // SAFETY: only tries to dlopen libcuda / nvcuda by name and drops the handle; no symbol of it is
    // called here.
    let present = unsafe { cudarc::driver::sys::is_culib_present() };
    if !present {
        return Err(BackendError::NoDevice {
            reason: "the NVIDIA driver library (libcuda.so) could not be loaded".into(),
        });
    }
    let count = std::panic::catch_unwind(CudaContext::device_count)
        .map_err(|_| BackendError::NoDevice {
            reason: "libcuda is present but lacks a needed symbol (driver too old?)".into(),
        })?
        .map_err(|e| BackendError::NoDevice {
            reason: format!("cuInit/cuDeviceGetCount failed: {e}"),
        })?;
    if count < 1 {
        return Err(BackendError::NoDevice {
            reason: "the driver reports no CUDA device".into(),
        });
    }
    Ok(ProbeInfo {
        device_count: count as usize,
    })
}

/// One GPU: its primary context (shared with ONNX Runtime's CUDA execution provider), one stream,
/// and every embedded kernel module loaded.
pub struct CudaEngine {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    modules: HashMap<&'static str, Arc<CudaModule>>,
    name: String,
}

impl CudaEngine {
    /// Probe, then retain device `ordinal`'s primary context and load all modules.
    pub fn new(ordinal: usize) -> Result<Self, BackendError> {
        let info = probe()?;
        if ordinal >= info.device_count {
            return Err(BackendError::NoDevice {
                reason: format!("device {ordinal} requested, {} present", info.device_count),
            });
        }
        let ctx =
            CudaContext::new(ordinal).map_err(|e| BackendError::cuda("context creation", e))?;
        let stream = ctx
            .new_stream()
            .map_err(|e| BackendError::cuda("stream creation", e))?;
        let name = ctx
            .name()
            .unwrap_or_else(|_| format!("CUDA device {ordinal}"));
        let mut loaded = HashMap::new();
        for m in modules::MODULES {
            let module = ctx
                .load_module(cudarc::nvrtc::Ptx::from_binary(m.fatbin.to_vec()))
                .map_err(|e| BackendError::cuda(format!("loading kernels/{}.cu", m.name), e))?;
            loaded.insert(m.name, module);
        }
        Ok(CudaEngine {
            ctx,
            stream,
            modules: loaded,
            name,
        })
    }

    pub fn device_name(&self) -> &str {
        &self.name
    }

    pub fn context(&self) -> &Arc<CudaContext> {
        &self.ctx
    }

    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// Kernel `function` of kernels/`module`.cu, with its C parameter list (launch.rs).
    pub fn function(&self, module: &str, function: &str) -> Result<KernelFn, BackendError> {
        let (&name, m) = self.modules.get_key_value(module).ok_or_else(|| {
            BackendError::cuda("kernel lookup", format!("no module kernels/{module}.cu"))
        })?;
        let func = m.load_function(function).map_err(|e| {
            BackendError::cuda("kernel lookup", format!("{module}.cu::{function}: {e}"))
        })?;
        KernelFn::new(func, name, function)
    }

    /// The kernel that registered perturbation `id`'s entry names: its symbol in kernels/ of
    /// `family`'s module (an error when `id` is not launched by that family's wrapper).
    pub fn kernel(&self, id: &str, family: Family) -> Result<KernelFn, BackendError> {
        let (_, k) = member(id, family)?;
        self.function(family.module(), k.symbol)
    }

    /// Wait for all queued work of the engine's stream.
    pub fn synchronize(&self) -> Result<(), BackendError> {
        self.stream
            .synchronize()
            .map_err(|e| BackendError::cuda("synchronize", e))
    }
}

/// Registered perturbation `id`'s kernel entry (its registry `Info::device`) when `family`'s
/// wrapper launches it, with `id` as the registry's `&'static str`; the family wrappers' only way
/// to learn their members, symbols and op selectors.
pub(crate) fn member(id: &str, family: Family) -> Result<(&'static str, Kernel), BackendError> {
    match crate::perturb::device::kernel_of(id) {
        Some((id, k)) if k.family == family => Ok((id, k)),
        _ => Err(BackendError::cuda(
            id.to_string(),
            format!(
                "no kernel of kernels/{}.cu for this perturbation (its registry entry's device)",
                family.module()
            ),
        )),
    }
}

/// The op selector of a shared kernel's entry (`Device::search_op`).
pub(crate) fn op_of(id: &str, k: &Kernel) -> Result<u32, BackendError> {
    k.op.map(|o| o.value).ok_or_else(|| {
        BackendError::cuda(id.to_string(), "its registry entry names no op selector")
    })
}

/// Map a cudarc driver error into ours, naming the operation.
pub(crate) fn err(what: &str) -> impl Fn(cudarc::driver::DriverError) -> BackendError + '_ {
    move |e| BackendError::cuda(what, e)
}

/// `v`, or one default element if it is empty: device buffers are never empty allocations (an
/// empty batch's buffers are allocated but never read).
pub(crate) fn nonempty<T: Default>(mut v: Vec<T>) -> Vec<T> {
    if v.is_empty() {
        v.push(T::default());
    }
    v
}
