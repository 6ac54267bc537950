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
