//! The config's `device` (`cpu`, `cuda[:N]`, `tensorrt[:N]`, `auto`), resolved once, before any
//! work, into the two things it decides: the engine that perturbs and runs the strength search
//! ([`crate::backend::Engine`]) and the ONNX Runtime provider of the segmentation models.
//!
//! `cuda` and `tensorrt` mean the GPU for both. In a build with the `cuda` feature, a machine
//! where the CUDA engine cannot be had (no driver, no device) fails here, with one message naming
//! the fix, before anything is read or written. A build without the feature perturbs on the CPU
//! and says so; its models still get ONNX Runtime's CUDA / TensorRT provider (which needs no
//! CUDA engine, and fails at model load with its own fix where it cannot register). `auto` is the
//! CUDA engine and provider where they can be had, else the CPU for both, and says which
//! ([`RunDevice::note`]).

use crate::backend::{BackendError, Engine, EngineKind};
use crate::error::{Error, Result};

/// A resolved `device`.
pub struct RunDevice {
    pub engine: Engine,
    /// The ONNX Runtime provider (`cpu`, `cuda:N`, `tensorrt:N`).
    pub provider: String,
    /// What the engine became when that is not what was asked for, for the log.
    pub note: Option<String>,
}

/// Resolve `device` (syntax-checked by [`super::config::check_device`]).
pub fn resolve(device: &str) -> Result<RunDevice> {
    let d = device.trim().to_ascii_lowercase();
    let (kind, index) = d.split_once(':').unwrap_or((d.as_str(), "0"));
    let ordinal: usize = index
        .parse()
        .map_err(|_| Error::invalid("device", format!("'{device}': bad device index")))?;
    match kind {
        "cpu" => Ok(RunDevice {
            engine: Engine::Cpu,
            provider: "cpu".into(),
            note: None,
        }),
        "cuda" | "gpu" | "tensorrt" | "trt" => {
            let name = if kind.starts_with('t') {
                "tensorrt"
            } else {
                "cuda"
            };
            let provider = format!("{name}:{ordinal}");
            match Engine::select_on(EngineKind::Cuda, ordinal) {
                Ok(engine) => Ok(RunDevice {
                    engine,
                    provider,
                    note: None,
                }),
                Err(BackendError::NotCompiled) => Ok(RunDevice {
                    engine: Engine::Cpu,
                    note: Some(format!(
                        "device {device}: this binary was built without the `cuda` feature, so \
                         perturbation and calibration run on the CPU; models use ONNX Runtime's \
                         {provider} provider (rebuild with `--features cuda` for the GPU engine)"
                    )),
                    provider,
                }),
                Err(e) => Err(Error::other(
                    "device",
                    format!(
                        "device {device}: {e}. Fix: run where an NVIDIA GPU and driver are \
                         present, or use the CPU (`--device cpu`, or `device = \"cpu\"` at the \
                         top of a run config; `auto` takes the GPU where there is one, else the \
                         CPU)"
                    ),
                )),
            }
        }
        "auto" => match Engine::select_on(EngineKind::Cuda, ordinal) {
            Ok(engine) => Ok(RunDevice {
                note: Some(format!("device auto: {}", engine.describe())),
                engine,
                provider: format!("cuda:{ordinal}"),
            }),
            Err(why) => Ok(RunDevice {
                engine: Engine::Cpu,
                provider: "cpu".into(),
                note: Some(format!(
                    "device auto: no CUDA engine ({why}); perturbing and evaluating on the CPU"
                )),
            }),
        },
        _ => Err(Error::invalid(
            "device",
            format!("'{device}': expected cpu, cuda[:N], tensorrt[:N] or auto"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cuda_available;

    #[test]
    fn cpu_is_always_the_cpu() {
        let d = resolve("cpu").unwrap();
        assert!(matches!(d.engine, Engine::Cpu));
        assert_eq!(d.provider, "cpu");
        assert!(d.note.is_none());
    }

    #[test]
    fn auto_falls_back_to_the_cpu_and_says_so() {
        let d = resolve("auto").unwrap();
        let note = d.note.unwrap();
        match cuda_available() {
            Ok(()) => assert_eq!(d.provider, "cuda:0"),
            Err(_) => {
                assert!(matches!(d.engine, Engine::Cpu));
                assert_eq!(d.provider, "cpu");
                assert!(note.contains("on the CPU"), "{note}");
            }
        }
    }

    #[test]
    fn cuda_without_a_gpu_names_the_fix() {
        for device in ["cuda", "cuda:1", "tensorrt"] {
            let r = resolve(device);
            if !cfg!(feature = "cuda") {
                // no CUDA engine in this build: the CPU perturbs, ONNX Runtime keeps the provider
                let d = r.unwrap();
                assert!(matches!(d.engine, Engine::Cpu));
                assert!(d.provider.starts_with(device.split(':').next().unwrap()));
                assert!(d.note.unwrap().contains("without the `cuda` feature"));
                continue;
            }
            match (r, cuda_available()) {
                (Ok(d), Ok(())) => assert!(d.provider.contains(':')),
                (Err(e), Err(_)) => {
                    let m = e.to_string();
                    assert!(m.contains(&format!("device {device}")), "{m}");
                    assert!(
                        m.contains("`--device cpu`") && m.contains("device = \"cpu\""),
                        "{m}"
                    );
                }
                // cuda:1 on a one-GPU machine fails although a GPU is there
                (Err(e), Ok(())) => assert_eq!(device, "cuda:1", "{e}"),
                (Ok(_), Err(e)) => panic!("{device} resolved although the probe says {e}"),
            }
        }
    }
}
