//! ONNX Runtime: finding the shared library, the one process-wide environment, sessions with an
//! explicitly chosen execution provider, and checking a graph's inputs/outputs at load.
//!
//! Library discovery (spec/evaluation.md), first hit wins:
//! 1. `ORT_DYLIB_PATH` (a file; an error if set but missing);
//! 2. the project-local install made by `tools/setup_ort.sh`:
//!    `<dir>/.local/onnxruntime/libonnxruntime.so.1.31.1` for `<dir>` = the current directory, the
//!    crate root at build time, and every ancestor of the running executable;
//! 3. the active Python's `onnxruntime` package (`python3 -c "import onnxruntime"`, then
//!    `onnxruntime/capi/libonnxruntime.so*` next to it).
//!
//! If none is found, [`OrtError::NotFound`] says how to fix it. Execution providers: CPU always;
//! CUDA or TensorRT only when asked for and registered with `error_on_failure`, so a provider that
//! fails to register is an error and never a silent CPU fallback.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::session::Session;
use ort::value::{TensorElementType, ValueType};

/// The ONNX Runtime version the crate is built against (`ort` 2.0.0-rc.15 = API 31).
pub const ORT_VERSION: &str = "1.31.1";
const LIB_NAME: &str = "libonnxruntime.so.1.31.1";

/// Errors of this layer; every message names the file or provider it is about.
#[derive(Debug, thiserror::Error)]
pub enum OrtError {
    #[error(
        "ONNX Runtime library not found (looked at: {looked}). Run `tools/setup_ort.sh` (installs onnxruntime=={ORT_VERSION} from PyPI into .local/onnxruntime), or set ORT_DYLIB_PATH to a libonnxruntime.so of version >= 1.31"
    )]
    NotFound { looked: String },
    #[error("ORT_DYLIB_PATH={path}: no such file; point it at libonnxruntime.so (onnxruntime=={ORT_VERSION}), or unset it and run tools/setup_ort.sh")]
    EnvPathMissing { path: PathBuf },
    #[error("{path}: cannot load ONNX Runtime: {reason} (expected libonnxruntime.so from onnxruntime=={ORT_VERSION}; tools/setup_ort.sh installs it)")]
    Load { path: PathBuf, reason: String },
    #[error("ONNX Runtime environment: {0}")]
    Environment(String),
    #[error("execution provider '{provider}' failed to register ({reason}); no silent CPU fallback. For cuda/tensorrt use the onnxruntime-gpu=={ORT_VERSION} library via ORT_DYLIB_PATH, or use the CPU (`--device cpu` for eval-seg, `device = \"cpu\"` at the top of a run config)")]
    Provider { provider: String, reason: String },
    #[error("{path}: cannot open model: {reason}")]
    Model { path: PathBuf, reason: String },
    #[error("{model}: graph interface does not match {preset}:\n{details}")]
    Interface {
        model: String,
        preset: String,
        details: String,
    },
    #[error("{model}: inference failed: {reason}")]
    Run { model: String, reason: String },
}

/// Where inference runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    Cuda(i32),
    TensorRt(i32),
}

impl Device {
    /// `cpu`, `cuda`, `cuda:N`, `tensorrt`, `tensorrt:N`.
    pub fn parse(s: &str) -> Result<Device, String> {
        let s = s.trim().to_ascii_lowercase();
        let (name, id) = match s.split_once(':') {
            Some((n, i)) => (
                n.to_string(),
                i.parse::<i32>()
                    .map_err(|_| format!("bad device index in '{s}'"))?,
            ),
            None => (s.clone(), 0),
        };
        match name.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(id)),
            "tensorrt" | "trt" => Ok(Device::TensorRt(id)),
            _ => Err(format!(
                "unknown device '{s}'; expected cpu, cuda[:N] or tensorrt[:N]"
            )),
        }
    }

    pub fn name(&self) -> String {
        match self {
            Device::Cpu => "cpu".into(),
            Device::Cuda(i) => format!("cuda:{i}"),
            Device::TensorRt(i) => format!("tensorrt:{i}"),
        }
    }
}

/// Locate the ONNX Runtime shared library (see the module docs for the order).
pub fn find_library() -> Result<PathBuf, OrtError> {
    let mut looked = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(OrtError::EnvPathMissing { path: p })
        };
    }
    looked.push("ORT_DYLIB_PATH (unset)".to_string());
    for dir in local_roots() {
        let cand = dir.join(".local").join("onnxruntime").join(LIB_NAME);
        if cand.is_file() {
            return Ok(cand);
        }
        looked.push(cand.display().to_string());
    }
    match python_library() {
        Some(p) => Ok(p),
        None => {
            looked.push("python3 -c 'import onnxruntime'".into());
            Err(OrtError::NotFound {
                looked: looked.join(", "),
            })
        }
    }
}

/// Directories that may hold `.local/onnxruntime`: cwd, the crate root, executable ancestors.
fn local_roots() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(d) = std::env::current_dir() {
        v.push(d);
    }
    v.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if let Ok(exe) = std::env::current_exe() {
        v.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    let mut seen = Vec::new();
    v.retain(|d| {
        let keep = !seen.contains(d);
        seen.push(d.clone());
        keep
    });
    v
}

/// The library inside the active Python's onnxruntime package, if any.
fn python_library() -> Option<PathBuf> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import os, onnxruntime; print(os.path.dirname(onnxruntime.__file__))",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let capi = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()).join("capi");
    let mut libs: Vec<PathBuf> = std::fs::read_dir(&capi)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("libonnxruntime.so"))
        })
        .collect();
    libs.sort();
    // Prefer the versioned file (the unversioned name is a symlink when present).
    libs.into_iter().next_back()
}

static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// The one ONNX Runtime environment of the process, created on first use from [`find_library`].
pub fn environment() -> Result<&'static ort::environment::Environment, OrtError> {
    // Discovery errors are not cached, so a later call after running setup can still succeed.
    if ENV.get().is_none() {
        let path = find_library()?;
        let built = ort::init_from(&path)
            .map_err(|e| OrtError::Load {
                path: path.clone(),
                reason: e.to_string(),
            })?
            .with_name("medfm-robust")
            .with_telemetry(false)
            .build()
            .map_err(|e| e.to_string());
        let _ = ENV.set(built);
    }
    match ENV.get() {
        Some(Ok(env)) => Ok(env),
        Some(Err(e)) => Err(OrtError::Environment(e.clone())),
        None => Err(OrtError::Environment("not initialised".into())),
    }
}

/// TensorRT provider settings of one model: `[tensorrt]` in its MODEL.toml, or `tensorrt = {..}`
/// on its `[[models]]` entry of a run config (which wins). Used only with `device = "tensorrt"`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrtOptions {
    /// Folder of the serialised TensorRT engines, reused across runs (an engine is rebuilt only
    /// when the graph, the GPU or these options change; building SAM's encoder takes minutes).
    /// Relative to the file that sets it; default: `trt_cache` next to that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_cache: Option<PathBuf>,
    /// Build FP16 engines (TensorRT may run layers in half precision: faster, and the masks can
    /// differ from FP32 near the threshold).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fp16: bool,
}

impl TrtOptions {
    /// Resolve a relative `engine_cache` against `base`, defaulting to `base/trt_cache`.
    pub fn resolved(mut self, base: &Path) -> TrtOptions {
        let dir = self
            .engine_cache
            .take()
            .unwrap_or_else(|| "trt_cache".into());
        self.engine_cache = Some(if dir.is_relative() {
            base.join(dir)
        } else {
            dir
        });
        self
    }
}

/// Open a model on `device`. `intra_threads` = 0 leaves ORT's default.
pub fn open_session(
    path: &Path,
    device: Device,
    intra_threads: usize,
) -> Result<Session, OrtError> {
    open_session_with(path, device, &TrtOptions::default(), intra_threads)
}

/// [`open_session`] with the model's TensorRT settings (for `Device::TensorRt`).
pub fn open_session_with(
    path: &Path,
    device: Device,
    trt: &TrtOptions,
    intra_threads: usize,
) -> Result<Session, OrtError> {
    let env = environment()?;
    let model_err = |e: &dyn std::fmt::Display| OrtError::Model {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    if !path.is_file() {
        return Err(OrtError::Model {
            path: path.to_path_buf(),
            reason: "no such file".into(),
        });
    }
    let mut b = Session::builder(env).map_err(|e| model_err(&e))?;
    if intra_threads > 0 {
        b = b
            .with_intra_threads(intra_threads)
            .map_err(|e| model_err(&ort::Error::<()>::from(e)))?;
    }
    b = register(b, device, trt)?;
    b.commit_from_file(path).map_err(|e| model_err(&e))
}

/// The TensorRT provider of device `id` with `trt`'s settings (engine cache always on: without
/// it every session would rebuild its engines).
fn tensorrt_provider(id: i32, trt: &TrtOptions) -> ort::ep::TensorRT {
    let cache = trt
        .engine_cache
        .as_deref()
        .unwrap_or(Path::new("trt_cache"))
        .display()
        .to_string();
    ort::ep::TensorRT::default()
        .with_device_id(id)
        .with_engine_cache(true)
        .with_engine_cache_path(cache)
        .with_fp16(trt.fp16)
}

fn register(
    b: ort::session::builder::SessionBuilder,
    device: Device,
    trt: &TrtOptions,
) -> Result<ort::session::builder::SessionBuilder, OrtError> {
    use ort::ep;
    let prov_err = |name: &str, e: &dyn std::fmt::Display| OrtError::Provider {
        provider: name.to_string(),
        reason: e.to_string(),
    };
    match device {
        Device::Cpu => Ok(b),
        Device::Cuda(id) => {
            let eps = [ep::CUDA::default()
                .with_device_id(id)
                .build()
                .error_on_failure()];
            b.with_execution_providers(eps)
                .map_err(|e| prov_err("cuda", &ort::Error::<()>::from(e)))
        }
        Device::TensorRt(id) => {
            // TensorRT first, CUDA for the nodes TensorRT does not take; both must register.
            let eps = [
                tensorrt_provider(id, trt).build().error_on_failure(),
                ep::CUDA::default()
                    .with_device_id(id)
                    .build()
                    .error_on_failure(),
            ];
            b.with_execution_providers(eps)
                .map_err(|e| prov_err("tensorrt", &ort::Error::<()>::from(e)))
        }
    }
}

/// One named tensor of a graph's interface, as declared: element type and shape (-1 = dynamic).
#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    pub name: String,
    pub ty: Option<TensorElementType>,
    pub shape: Vec<i64>,
}

impl Port {
    pub fn describe(&self) -> String {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|d| if *d < 0 { "?".into() } else { d.to_string() })
            .collect();
        format!(
            "{} {:?} [{}]",
            self.name,
            self.ty
                .map(|t| format!("{t:?}"))
                .unwrap_or_else(|| "non-tensor".into()),
            dims.join(", ")
        )
    }
}

fn port(name: &str, ty: &ValueType) -> Port {
    Port {
        name: name.to_string(),
        ty: ty.tensor_type(),
        shape: ty
            .tensor_shape()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default(),
    }
}

pub fn inputs(s: &Session) -> Vec<Port> {
    s.inputs()
        .iter()
        .map(|o| port(o.name(), o.dtype()))
        .collect()
}

pub fn outputs(s: &Session) -> Vec<Port> {
    s.outputs()
        .iter()
        .map(|o| port(o.name(), o.dtype()))
        .collect()
}

/// What a preset expects of one port: a name, f32, and a shape where `None` accepts any size
/// (dynamic or fixed) and `Some(n)` requires n or a dynamic dimension.
#[derive(Clone, Debug)]
pub struct Expect {
    pub name: String,
    pub shape: Vec<Option<i64>>,
}

impl Expect {
    pub fn new(name: &str, shape: &[Option<i64>]) -> Self {
        Expect {
            name: name.to_string(),
            shape: shape.to_vec(),
        }
    }
    fn describe(&self) -> String {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|d| d.map(|v| v.to_string()).unwrap_or_else(|| "*".into()))
            .collect();
        format!("{} Float32 [{}]", self.name, dims.join(", "))
    }
    fn accepts(&self, p: &Port) -> bool {
        p.name == self.name
            && p.ty == Some(TensorElementType::Float32)
            && p.shape.len() == self.shape.len()
            && p.shape
                .iter()
                .zip(&self.shape)
                .all(|(have, want)| match want {
                    None => true,
                    Some(w) => *have < 0 || have == w,
                })
    }
}

/// Check that every expected port is present with a compatible type and shape (extra outputs
/// are allowed, extra inputs are not). The error lists expected vs found.
pub fn check_ports(
    model: &str,
    preset: &str,
    what: &str,
    expected: &[Expect],
    found: &[Port],
    allow_extra: bool,
) -> Result<(), OrtError> {
    let mut bad = Vec::new();
    for e in expected {
        match found.iter().find(|p| p.name == e.name) {
            Some(p) if e.accepts(p) => {}
            Some(p) => bad.push(format!(
                "  {what} {}: expected {}, found {}",
                e.name,
                e.describe(),
                p.describe()
            )),
            None => bad.push(format!(
                "  {what} {}: expected {}, missing",
                e.name,
                e.describe()
            )),
        }
    }
    if !allow_extra {
        for p in found
            .iter()
            .filter(|p| !expected.iter().any(|e| e.name == p.name))
        {
            bad.push(format!(
                "  {what} {}: unexpected (found {})",
                p.name,
                p.describe()
            ));
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    let exp: Vec<String> = expected.iter().map(Expect::describe).collect();
    let fnd: Vec<String> = found.iter().map(Port::describe).collect();
    Err(OrtError::Interface {
        model: model.to_string(),
        preset: preset.to_string(),
        details: format!(
            "{}\n  expected {what}s: {}\n  found {what}s: {}",
            bad.join("\n"),
            exp.join("; "),
            fnd.join("; ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensorrt_settings_reach_the_provider() {
        let trt = TrtOptions {
            engine_cache: Some("/cache/engines".into()),
            fp16: true,
        };
        let p = format!("{:?}", tensorrt_provider(2, &trt));
        for kv in [
            "\"trt_fp16_enable\": \"true\"",
            "\"trt_engine_cache_enable\": \"true\"",
            "\"trt_engine_cache_path\": \"/cache/engines\"",
            "\"device_id\": \"2\"",
        ] {
            assert!(p.contains(kv), "{kv} in {p}");
        }
        let p = format!("{:?}", tensorrt_provider(0, &TrtOptions::default()));
        assert!(p.contains("\"trt_fp16_enable\": \"false\""), "{p}");
    }

    #[test]
    fn tensorrt_settings_are_read_and_resolved_against_their_file() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("medsam.toml");
        std::fs::write(
            &toml,
            "name = \"m\"\npreset = \"medsam\"\n[tensorrt]\nfp16 = true\nengine_cache = \"engines\"\n",
        )
        .unwrap();
        let spec = crate::eval::seg::ModelSpec::from_toml(&toml).unwrap();
        assert!(spec.tensorrt.fp16);
        assert_eq!(spec.tensorrt.engine_cache, Some(dir.path().join("engines")));
        // default: trt_cache next to the file; absolute paths stay
        std::fs::write(&toml, "name = \"m\"\npreset = \"medsam\"\n").unwrap();
        let spec = crate::eval::seg::ModelSpec::from_toml(&toml).unwrap();
        assert!(!spec.tensorrt.fp16);
        assert_eq!(
            spec.tensorrt.engine_cache,
            Some(dir.path().join("trt_cache"))
        );
        let abs = TrtOptions {
            engine_cache: Some("/abs".into()),
            fp16: false,
        };
        assert_eq!(abs.resolved(dir.path()).engine_cache, Some("/abs".into()));
        // a run config's model entry: relative to the config's folder, and it wins (run/eval.rs)
        let c = crate::run::config::Config::from_toml(
            "name = \"r\"\ndatasets = []\n[[models]]\nname = \"m\"\ntensorrt = { fp16 = true }\n",
            dir.path(),
            "bench.toml",
        )
        .unwrap();
        let t = c.models[0].tensorrt.clone().unwrap();
        assert!(t.fp16);
        assert_eq!(t.engine_cache, Some(dir.path().join("trt_cache")));
        // a misspelt key is an error, not a silently ignored setting
        std::fs::write(
            &toml,
            "name = \"m\"\npreset = \"medsam\"\n[tensorrt]\nfp61 = true\n",
        )
        .unwrap();
        let e = crate::eval::seg::ModelSpec::from_toml(&toml)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fp61"), "{e}");
    }

    #[test]
    fn device_names_round_trip() {
        for s in ["cpu", "cuda", "cuda:1", "tensorrt:0"] {
            let d = Device::parse(s).unwrap();
            assert_eq!(Device::parse(&d.name()).unwrap(), d);
        }
        assert!(Device::parse("tpu").is_err());
    }

    #[test]
    fn port_check_lists_expected_and_found() {
        let found = vec![Port {
            name: "x".into(),
            ty: Some(TensorElementType::Float32),
            shape: vec![1, 3, 512, 512],
        }];
        let exp = [Expect::new("x", &[None, Some(3), Some(1024), Some(1024)])];
        let e = check_ports("m.onnx", "medsam", "input", &exp, &found, false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("1024") && e.contains("512") && e.contains("m.onnx"),
            "{e}"
        );
        let ok = [Expect::new("x", &[None, Some(3), Some(512), None])];
        check_ports("m.onnx", "medsam", "input", &ok, &found, false).unwrap();
    }
}
