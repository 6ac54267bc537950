//! `--device cpu|cuda|auto` on perturb / gallery / demo (src/cli/perturb.rs `select_engine`):
//! `cuda` where it cannot be had is a clear error naming the option and the reason (built without
//! the feature, or no usable GPU) before any work; `auto` falls back to the CPU and succeeds.
//! With a GPU and the `cuda` feature, `cuda` must succeed instead (checked via the probe).

use medfm_robust::backend::cuda_available;
use medfm_robust::image::BitDepth;
use medfm_robust::io::{self, Format};
use medfm_robust::perturb::Modality;
use medfm_robust::phantom::phantom;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
}

fn perturb(dir: &std::path::Path, device: &str) -> std::process::Output {
    bin()
        .args(["perturb", "--input"])
        .arg(dir.join("in"))
        .arg("--out")
        .arg(dir.join(format!("out-{device}")))
        .args([
            "--perturbations",
            "brightness",
            "--levels",
            "1",
            "--device",
            device,
        ])
        .output()
        .unwrap()
}

#[test]
fn device_option_selects_or_explains() {
    let dir = tempfile::tempdir().unwrap();
    let img = phantom(Modality::Ct, 48, 40, 1, 1);
    io::write_image(
        &dir.path().join("in/a.png"),
        &img.image,
        BitDepth::U8,
        Format::Png,
    )
    .unwrap();
    let auto = perturb(dir.path(), "auto");
    assert!(
        auto.status.success(),
        "auto: {}",
        String::from_utf8_lossy(&auto.stderr)
    );
    assert!(dir.path().join("out-auto/manifest.jsonl").exists());
    if cuda_available().is_err() {
        let err = String::from_utf8_lossy(&auto.stderr);
        assert!(
            err.contains("--device auto: no CUDA engine") && err.contains("on the CPU"),
            "auto says why it fell back: {err}"
        );
    }
    let cuda = perturb(dir.path(), "cuda");
    let err = String::from_utf8_lossy(&cuda.stderr);
    match cuda_available() {
        Ok(()) => assert!(cuda.status.success(), "cuda with a GPU: {err}"),
        Err(_) => {
            assert!(!cuda.status.success());
            assert!(
                err.contains("--device cuda")
                    && (err.contains("--features cuda") || err.contains("no usable GPU")),
                "{err}"
            );
            // nothing was generated
            assert!(!dir.path().join("out-cuda/manifest.jsonl").exists());
        }
    }
    let bad = bin()
        .args(["gallery", "--modality", "ct", "--out"])
        .arg(dir.path().join("g.png"))
        .args(["--device", "tpu"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

/// `run` resolves the config's `device` before any work (src/run/device.rs). In a `cuda` build
/// where the CUDA engine cannot be had, `cuda` fails with exit 1 and one message naming the fix,
/// writing nothing; a build without the feature perturbs on the CPU and says so (its models keep
/// ONNX Runtime's CUDA provider); `auto` falls back to the CPU and says so. With a GPU both
/// succeed. (Dry runs: the resolution comes first either way.)
#[test]
fn run_device_fails_before_any_work_or_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    medfm_robust::run::demo::write_data(&data).unwrap();
    let mut config = medfm_robust::run::demo::config(&data, None).unwrap();
    for device in ["cuda", "auto"] {
        config.device = device.to_string();
        let path = dir.path().join(format!("{device}.toml"));
        std::fs::write(&path, toml::to_string_pretty(&config).unwrap()).unwrap();
        let out = dir.path().join(format!("out-{device}"));
        let r = bin()
            .arg("run")
            .arg(&path)
            .arg("--out")
            .arg(&out)
            .arg("--dry-run")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        match (device, cfg!(feature = "cuda"), cuda_available()) {
            (_, _, Ok(())) => assert!(r.status.success(), "{device} with a GPU: {err}"),
            ("cuda", true, Err(_)) => {
                assert_eq!(r.status.code(), Some(1), "{err}");
                assert!(
                    err.contains("device cuda") && err.contains("`--device cpu`"),
                    "{err}"
                );
                assert_eq!(err.matches("device cuda").count(), 1, "one message: {err}");
                assert!(!out.exists(), "nothing written: {err}");
            }
            ("cuda", false, Err(_)) => {
                assert!(r.status.success(), "{err}");
                assert!(err.contains("without the `cuda` feature"), "{err}");
            }
            ("auto", _, Err(_)) => {
                assert!(r.status.success(), "{err}");
                assert!(err.contains("device auto: no CUDA engine"), "{err}");
                assert!(err.contains("on the CPU"), "{err}");
            }
            _ => unreachable!(),
        }
    }
}
