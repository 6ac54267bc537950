//! Build script: the CUDA kernels and the host-math shim (docs/gpu.md).
//!
//! 1. Always (when a C++ compiler is found): compile kernels/host/shim.cpp, i.e. the kernels'
//!    `__host__ __device__` functions from kernels/*.cuh, with the HOST compiler into a static
//!    library and set `cfg(medfm_host_math)`, so tests/cuda_host_math.rs can check the kernel math
//!    against the Rust CPU code on machines without a GPU or CUDA toolkit. No C++ compiler: a
//!    warning, and those tests report that they did not run.
//! 2. With the `cuda` feature: compile every kernels/*.cu with nvcc into one fatbin (SASS sm_80,
//!    sm_86, sm_89, sm_90 + PTX compute_80) in OUT_DIR, keep ptxas's -v report next to it, and
//!    write OUT_DIR/kernels.rs, which embeds both (src/backend/cuda/modules.rs includes it).
//!    nvcc is searched in $NVCC, $CUDA_HOME/bin, $CUDA_PATH/bin, PATH, then the project-local
//!    toolkit made by tools/install_cuda_toolkit.sh; not found: one clear build error.

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// SASS targets (A100 .. H100/H200) and the one PTX target (JIT forward path), spec/gpu.md.
const SASS_ARCHS: [u32; 4] = [80, 86, 89, 90];
const PTX_ARCH: u32 = 80;

fn main() {
    println!("cargo:rerun-if-changed=kernels");
    println!("cargo::rustc-check-cfg=cfg(medfm_host_math)");
    for var in [
        "NVCC",
        "CUDA_HOME",
        "CUDA_PATH",
        "NVCC_CCBIN",
        "MEDFM_CUDA_ARCHS",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let manifest =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    build_host_math_shim(&manifest);
    if env::var_os("CARGO_FEATURE_CUDA").is_some() {
        build_cuda_kernels(&manifest, &out);
    }
}

fn build_host_math_shim(manifest: &Path) {
    let mut b = cc::Build::new();
    // Every kernels/host/*.cpp (one shim per kernel family group), sorted for a stable build.
    let host = manifest.join("kernels/host");
    let mut shims: Vec<PathBuf> = std::fs::read_dir(&host)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cpp"))
                .collect()
        })
        .unwrap_or_default();
    shims.sort();
    println!("cargo:rerun-if-changed={}", host.display());
    for s in &shims {
        println!("cargo:rerun-if-changed={}", s.display());
        b.file(s);
    }
    b.cpp(true)
        .include(manifest.join("kernels"))
        // Bit-level parity with Rust: never contract a*b+c into an FMA, never fast-math.
        .flag_if_supported("-ffp-contract=off")
        .flag_if_supported("-fno-fast-math")
        .flag_if_supported("-std=c++14")
        .warnings(true);
    // No C++ compiler at all: the host-math tests skip (they say so). A compiler that fails on
    // the shims is a bug in them and fails the build, rather than turning every host-math test
    // into a silent skip.
    let have_cxx = b.try_get_compiler().is_ok_and(|c| {
        c.to_command()
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !have_cxx {
        println!("cargo:warning=no C++ compiler found: the host-math shim is not built and tests/cuda_host_math*.rs skip");
        return;
    }
    match b.try_compile("medfm_host_math") {
        Ok(()) => println!("cargo:rustc-cfg=medfm_host_math"),
        Err(e) => panic!("the host-math shims (kernels/host/*.cpp) do not compile: {e}"),
    }
}

fn build_cuda_kernels(manifest: &Path, out: &Path) {
    let nvcc = match find_nvcc(manifest) {
        Some(n) => n,
        None => fail(
            "feature `cuda` is on but nvcc was not found (looked at $NVCC, $CUDA_HOME/bin/nvcc, \
             $CUDA_PATH/bin/nvcc, PATH and .local/cuda-venv).\n\
             Fix: run `tools/install_cuda_toolkit.sh` (pip-installs the pinned CUDA 13.0 compiler \
             into .local/cuda-venv, no GPU needed), or set NVCC=/path/to/nvcc.",
        ),
    };
    let kernels_dir = manifest.join("kernels");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&kernels_dir)
        .unwrap_or_else(|e| fail(&format!("cannot list {}: {e}", kernels_dir.display())))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cu"))
        .collect();
    sources.sort();

    // Compile all files concurrently (each nvcc run is mostly single-threaded).
    let jobs: Vec<_> = sources
        .iter()
        .map(|src| {
            let stem = src
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_else(|| fail("non-UTF-8 kernel file name"));
            let fatbin = out.join(format!("{stem}.fatbin"));
            let mut cmd = Command::new(&nvcc);
            cmd.arg("--fatbin")
                .args([
                    "-O3",
                    "-std=c++17",
                    "--fmad=false",
                    "--prec-div=true",
                    "--prec-sqrt=true",
                ])
                .args(["-Xptxas", "-v", "-Werror", "all-warnings"])
                .arg("-I")
                .arg(&kernels_dir);
            if let Some(ccbin) = env::var_os("NVCC_CCBIN") {
                cmd.arg("-ccbin").arg(ccbin);
            }
            for g in gencode_args() {
                cmd.arg("-gencode").arg(g);
            }
            cmd.arg("-o").arg(&fatbin).arg(src);
            let child = cmd
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", nvcc.display())));
            (stem.to_string(), fatbin, child)
        })
        .collect();

    let mut gen =
        String::from("// @generated by build.rs: embedded kernel fatbins and ptxas reports.\n");
    gen.push_str("pub const MODULES: &[KernelModule] = &[\n");
    for (stem, fatbin, child) in jobs {
        let res = child
            .wait_with_output()
            .unwrap_or_else(|e| fail(&format!("nvcc on {stem}.cu: {e}")));
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&res.stdout),
            String::from_utf8_lossy(&res.stderr)
        );
        if !res.status.success() {
            fail(&format!("nvcc failed on kernels/{stem}.cu:\n{log}"));
        }
        let log_path = out.join(format!("{stem}.ptxas.log"));
        std::fs::write(&log_path, &log)
            .unwrap_or_else(|e| fail(&format!("write {}: {e}", log_path.display())));
        for line in log.lines().filter(|l| {
            l.contains("spill") && !l.contains(" 0 bytes spill stores, 0 bytes spill loads")
        }) {
            println!(
                "cargo:warning=kernels/{stem}.cu: ptxas reports spills: {}",
                line.trim()
            );
        }
        let _ = writeln!(
            gen,
            "    KernelModule {{ name: {stem:?}, fatbin: include_bytes!({:?}), ptxas_log: include_str!({:?}), source: include_str!({:?}) }},",
            fatbin.display().to_string(),
            log_path.display().to_string(),
            kernels_dir.join(format!("{stem}.cu")).display().to_string()
        );
    }
    gen.push_str("];\n");
    let gen_path = out.join("kernels.rs");
    std::fs::write(&gen_path, gen)
        .unwrap_or_else(|e| fail(&format!("write {}: {e}", gen_path.display())));
}

/// `-gencode` values: SASS for every target (the PTX arch also keeps its PTX). `MEDFM_CUDA_ARCHS`
/// (e.g. "90") narrows the SASS list for quick local builds; the PTX stays.
fn gencode_args() -> Vec<String> {
    let archs: Vec<u32> = match env::var("MEDFM_CUDA_ARCHS") {
        Ok(s) if !s.trim().is_empty() => s
            .split(',')
            .map(|a| {
                a.trim()
                    .trim_start_matches("sm_")
                    .parse()
                    .unwrap_or_else(|_| fail(&format!("MEDFM_CUDA_ARCHS: bad arch '{a}'")))
            })
            .collect(),
        _ => SASS_ARCHS.to_vec(),
    };
    let mut v = vec![format!(
        "arch=compute_{PTX_ARCH},code=[sm_{PTX_ARCH},compute_{PTX_ARCH}]"
    )];
    v.extend(
        archs
            .into_iter()
            .filter(|&a| a != PTX_ARCH)
            .map(|a| format!("arch=compute_{a},code=sm_{a}")),
    );
    v
}

fn find_nvcc(manifest: &Path) -> Option<PathBuf> {
    let runs = |p: &Path| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Some(p) = env::var_os("NVCC") {
        return Some(PathBuf::from(p)); // explicit choice: use it (a wrong path fails loudly later)
    }
    for var in ["CUDA_HOME", "CUDA_PATH"] {
        if let Some(home) = env::var_os(var) {
            let p = PathBuf::from(home).join("bin/nvcc");
            if runs(&p) {
                return Some(p);
            }
        }
    }
    if runs(Path::new("nvcc")) {
        return Some(PathBuf::from("nvcc"));
    }
    // Project-local toolkit (tools/install_cuda_toolkit.sh): .local/cuda-venv/lib/python3.*/...
    let lib = manifest.join(".local/cuda-venv/lib");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/nvidia/cu13/bin/nvcc"))
        .filter(|p| runs(p))
        .collect();
    found.sort();
    found.pop()
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    println!("cargo:warning={}", msg.lines().next().unwrap_or(msg));
    std::process::exit(1)
}
