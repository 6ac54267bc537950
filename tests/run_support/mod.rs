//! Shared set-up of the tests/run_*.rs tests: a small phantom dataset and a config over it.
#![allow(dead_code)]

use medfm_robust::io::{self, Format};
use medfm_robust::perturb::Modality;
use medfm_robust::phantom;
use medfm_robust::run::records;
use medfm_robust::run::Record;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_medfm-robust");

/// Two datasets (ct, dermoscopy), two 48-px phantoms each, `images/` + `masks/`.
pub fn write_data(root: &Path) {
    for m in [Modality::Ct, Modality::Dermoscopy] {
        for k in 0..2u64 {
            let ph = phantom::phantom(m, 48, 48, phantom::natural_channels(m), k);
            io::write_image(
                &root
                    .join(m.as_str())
                    .join("images")
                    .join(format!("{k}.png")),
                &ph.image,
                medfm_robust::BitDepth::U8,
                Format::Png,
            )
            .unwrap();
            io::write_mask(
                &root.join(m.as_str()).join("masks").join(format!("{k}.png")),
                &ph.mask,
            )
            .unwrap();
        }
    }
}

/// A config over [`write_data`]'s folders with the two built-in models.
pub fn config_text(levels: &str, perturbations: &str) -> String {
    format!(
        r#"name = "test"
seed = 3
levels = {levels}
perturbations = {perturbations}

[[datasets]]
name = "ct"
path = "data/ct"
modality = "ct"

[[datasets]]
name = "derm"
path = "data/dermoscopy"
modality = "dermoscopy"
limit = 2

[[models]]
name = "thr"
strategy = "full"
preset = "builtin-threshold"

[[models]]
name = "thr"
strategy = "adapter"
preset = "builtin-threshold-smoothed"
"#
    )
}

/// A temp folder with data/ and bench.toml.
pub fn setup(levels: &str, perturbations: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("data"));
    let cfg = dir.path().join("bench.toml");
    std::fs::write(&cfg, config_text(levels, perturbations)).unwrap();
    (dir, cfg)
}

/// Longest a test run may take before it counts as hung (the runs here take seconds).
const HANG: std::time::Duration = std::time::Duration::from_secs(300);

/// Run the binary on one thread; a run still going after [`HANG`] is killed and fails the test
/// (a deadlock is a failure, not a test that never ends).
pub fn run(args: &[&str]) -> std::process::Output {
    let logs = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (logs.path().join("stdout"), logs.path().join("stderr"));
    let mut child = Command::new(BIN)
        .args(["--quiet", "-j", "1"])
        .args(args)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{args:?} did not finish in {} s (hung); stderr so far:\n{}",
                HANG.as_secs(),
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    std::process::Output {
        status,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: std::fs::read(&err_path).unwrap(),
    }
}

pub fn run_ok(args: &[&str]) {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Records of an output folder, one per unit.
pub fn records_of(dir: &Path) -> BTreeMap<String, Record> {
    records::load_dir(dir).unwrap()
}

/// Complete lines of every records file of `dir`.
pub fn raw_lines(dir: &Path) -> Vec<Record> {
    records::records_files(dir)
        .unwrap()
        .iter()
        .flat_map(|f| records::read_records(f).unwrap())
        .collect()
}
