//! Compute engines: the CPU engine (always there) and the CUDA engine (feature `cuda`).
//!
//! One selection point, [`Engine::select`]: asking for [`EngineKind::Cuda`] in a build without the
//! `cuda` feature, or on a machine without a usable GPU, returns a typed [`BackendError`] (never a
//! panic); [`EngineKind::Auto`] falls back to the CPU. A `cuda` build loads libcuda only here, at
//! run time, after probing that it can be opened (spec/gpu.md), so the same binary runs on
//! machines without CUDA.
//!
//! The CPU is the oracle: every CUDA kernel has a CPU twin it must match within the tolerances of
//! spec/gpu.md (tests/cuda_parity.rs on a GPU, tests/cuda_host_math.rs without one).

pub mod kernel_sig;
pub mod motion_pack;
pub mod object_prep;
pub mod packing;
pub mod params;
pub mod ssim_tiles;

#[cfg(feature = "cuda")]
pub mod cuda;

use std::fmt;

/// Which engine the user asked for (`--engine cpu|cuda|auto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    #[default]
    Cpu,
    Cuda,
    /// CUDA when compiled in and a GPU is present, else the CPU.
    Auto,
}

impl EngineKind {
    pub fn parse(name: &str) -> crate::Result<EngineKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(EngineKind::Cpu),
            "cuda" | "gpu" => Ok(EngineKind::Cuda),
            "auto" => Ok(EngineKind::Auto),
            _ => Err(crate::Error::invalid(
                "engine",
                format!("'{name}': expected cpu, cuda or auto"),
            )),
        }
    }
}

/// Why the CUDA engine is not available, or what failed inside it.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("the CUDA engine was requested, but this binary was built without the `cuda` feature; rebuild with `cargo build --release --features cuda` (see docs/gpu.md)")]
    NotCompiled,
    #[error("the CUDA engine was requested, but no usable GPU was found: {reason}")]
    NoDevice { reason: String },
    #[error("CUDA {what}: {reason}")]
    Cuda { what: String, reason: String },
}

impl BackendError {
    pub fn cuda(what: impl Into<String>, reason: impl fmt::Display) -> Self {
        BackendError::Cuda {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

impl From<BackendError> for crate::Error {
    fn from(e: BackendError) -> Self {
        crate::Error::other("engine", e.to_string())
    }
}

/// A selected engine.
pub enum Engine {
    Cpu,
    #[cfg(feature = "cuda")]
    Cuda(cuda::CudaEngine),
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Engine {
    /// Select an engine; see the module docs for the rules.
    pub fn select(kind: EngineKind) -> Result<Engine, BackendError> {
        Self::select_on(kind, 0)
    }

    /// [`Engine::select`] on CUDA device `ordinal` (`cuda:N`).
    pub fn select_on(kind: EngineKind, ordinal: usize) -> Result<Engine, BackendError> {
        match kind {
            EngineKind::Cpu => Ok(Engine::Cpu),
            EngineKind::Cuda => Self::cuda(ordinal),
            EngineKind::Auto => Ok(Self::cuda(ordinal).unwrap_or(Engine::Cpu)),
        }
    }

    #[cfg(feature = "cuda")]
    fn cuda(ordinal: usize) -> Result<Engine, BackendError> {
        cuda::CudaEngine::new(ordinal).map(Engine::Cuda)
    }

    #[cfg(not(feature = "cuda"))]
    fn cuda(_ordinal: usize) -> Result<Engine, BackendError> {
        Err(BackendError::NotCompiled)
    }

    pub fn kind(&self) -> EngineKind {
        match self {
            Engine::Cpu => EngineKind::Cpu,
            #[cfg(feature = "cuda")]
            Engine::Cuda(_) => EngineKind::Cuda,
        }
    }

    /// One line for logs and manifests: "cpu" or "cuda: <device name>".
    pub fn describe(&self) -> String {
        match self {
            Engine::Cpu => "cpu".to_string(),
            #[cfg(feature = "cuda")]
            Engine::Cuda(e) => format!("cuda: {}", e.device_name()),
        }
    }
}

/// Whether the CUDA engine can be created here (compiled in, libcuda loadable, a device present).
/// Never panics; the `Err` says why not.
pub fn cuda_available() -> Result<(), BackendError> {
    #[cfg(feature = "cuda")]
    {
        cuda::probe().map(|_| ())
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err(BackendError::NotCompiled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_engine_kinds() {
        assert_eq!(EngineKind::parse("CUDA").unwrap(), EngineKind::Cuda);
        assert_eq!(EngineKind::parse("auto").unwrap(), EngineKind::Auto);
        assert!(EngineKind::parse("tpu").is_err());
    }

    #[test]
    fn cpu_always_selectable_and_auto_never_fails() {
        assert_eq!(
            Engine::select(EngineKind::Cpu).unwrap().kind(),
            EngineKind::Cpu
        );
        // Auto is CUDA where available, else CPU, but never an error.
        let auto = Engine::select(EngineKind::Auto).unwrap();
        assert_eq!(auto.kind() == EngineKind::Cuda, cuda_available().is_ok());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_feature_is_a_typed_error() {
        let e = Engine::select(EngineKind::Cuda).unwrap_err();
        assert!(matches!(e, BackendError::NotCompiled));
        assert!(e.to_string().contains("--features cuda"));
    }

    #[cfg(feature = "cuda")]
    #[test]
    fn cuda_request_matches_probe() {
        // On a machine without a GPU this is NoDevice (never a panic); with one, an engine.
        match (Engine::select(EngineKind::Cuda), cuda_available()) {
            (Ok(e), Ok(())) => assert_eq!(e.kind(), EngineKind::Cuda),
            (Err(BackendError::NoDevice { reason }), Err(_)) => eprintln!("no GPU here: {reason}"),
            (a, b) => panic!(
                "select {:?} disagrees with probe {:?}",
                a.map(|e| e.describe()),
                b
            ),
        }
    }
}
