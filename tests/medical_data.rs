//! `run` and `eval-seg` on medical data: a Medical Segmentation Decathlon NIfTI dataset
//! (tests/fixtures/nifti/msd, from tools/gen_nifti_fixtures.py), BraTS case folders
//! (tests/fixtures/nifti/brats) and a DICOM folder with PNG masks
//! (pydicom's CT_small), with bad files among them: the good ones are evaluated, each bad one is
//! one recorded failure naming the file, and the exit code says some items failed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn records(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("records.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// images/ with CT_small.dcm and two bad DICOM files, masks/ with CT_small's body (HU > -300).
fn dicom_dataset(root: &Path) {
    let fx = repo().join("tests/fixtures/dicom");
    std::fs::create_dir_all(root.join("images")).unwrap();
    for n in ["CT_small.dcm", "MR_small_cut.dcm", "MR_small_no_pixels.dcm"] {
        std::fs::copy(fx.join(n), root.join("images").join(n)).unwrap();
    }
    let src = medfm_robust::io::dicom::open(
        &std::fs::read(fx.join("CT_small.dcm")).unwrap(),
        &fx.join("CT_small.dcm"),
    )
    .unwrap();
    let hu = src.physical_frame(0, Path::new("CT_small.dcm")).unwrap();
    let mask = medfm_robust::image::Mask {
        width: 128,
        height: 128,
        data: hu.iter().map(|&h| u8::from(h > -300.0)).collect(),
    };
    for n in ["CT_small", "MR_small_cut", "MR_small_no_pixels"] {
        medfm_robust::io::write_mask(&root.join("masks").join(format!("{n}.png")), &mask).unwrap();
    }
}

#[test]
fn run_evaluates_nifti_and_dicom_datasets_and_records_bad_files() {
    let tmp = tempfile::tempdir().unwrap();
    dicom_dataset(&tmp.path().join("dcm"));
    let cfg = tmp.path().join("bench.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"name = "medical"
seed = 1
levels = [1]
perturbations = ["gaussian_noise", "ct_window_level"]

[[datasets]]
name = "msd"
path = "{}"
reader = "msd"
modality = "ct"
slices = "mid"

[[datasets]]
name = "dcm"
path = "{}"
modality = "ct"

[[datasets]]
name = "series"
path = "{}"
reader = "dicom-nifti"
modality = "ct"

[[datasets]]
name = "brats"
path = "{}"
reader = "brats"
slices = "1"

[[models]]
name = "thr"
strategy = "full"
preset = "builtin-threshold"
"#,
            repo().join("tests/fixtures/nifti/msd").display(),
            tmp.path().join("dcm").display(),
            repo().join("tests/fixtures/dicom_series").display(),
            repo().join("tests/fixtures/nifti/brats").display()
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .args(["--quiet", "run"])
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "some items failed: {stderr}");
    let rs = records(&out);
    let ok: Vec<_> = rs.iter().filter(|r| r["error"].is_null()).collect();
    // msd: 2 volumes x their middle slice; dcm: CT_small; each clean + 2 perturbations at L1.
    let samples: std::collections::BTreeSet<&str> =
        ok.iter().map(|r| r["sample"].as_str().unwrap()).collect();
    assert_eq!(
        samples.into_iter().collect::<Vec<_>>(),
        [
            "BraTS2021_00001/BraTS2021_00001_flair.f0001.nii.gz",
            "BraTS2021_00002/BraTS2021_00002_flair.f0001.nii.gz",
            "CT_small.dcm",
            "imagesTr/case_001.f0002.nii.gz",
            "imagesTr/case_002.f0002.nii.gz",
            "series/a.dcm",
            "series/b.dcm",
            "series/c.dcm"
        ]
    );
    // BraTS is MR: ct_window_level is not an MR perturbation, so 2 units per BraTS sample.
    assert_eq!(ok.len(), 6 * 3 + 2 * 2);
    for r in &ok {
        let dice = r["metrics"]["dice"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&dice), "{r}");
        if r["level"] == 0 {
            assert!(dice > 0.9, "the threshold model finds the body: {r}");
        }
    }
    let failed: Vec<String> = rs
        .iter()
        .filter(|r| !r["error"].is_null())
        .map(|r| r["error"].as_str().unwrap().to_string())
        .collect();
    assert!(
        failed
            .iter()
            .any(|e| e.contains("MR_small_cut.dcm") && e.contains("cut short")),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|e| e.contains("MR_small_no_pixels.dcm") && e.contains("no pixel data")),
        "{failed:?}"
    );
}

#[test]
fn eval_seg_reads_a_decathlon_layout_slice_by_slice() {
    if let Err(e) = medfm_robust::eval::seg::ort::find_library() {
        panic!("this test needs the ONNX Runtime library; run tools/setup_ort.sh first ({e})");
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .args(["--quiet", "eval-seg", "--encoder"])
        .arg(repo().join("models/demo/encoder.onnx"))
        .arg("--decoder")
        .arg(repo().join("models/demo/decoder.onnx"))
        .args([
            "--preset",
            "litemedsam",
            "--perturbations",
            "gaussian_noise",
            "--levels",
            "2",
        ])
        .args([
            "--layout",
            "msd",
            "--modality",
            "ct",
            "--slices",
            "all",
            "--data",
        ])
        .arg(repo().join("tests/fixtures/nifti/msd"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rs = records(&out);
    // 2 volumes x 4 slices, clean + 1 perturbed each.
    assert_eq!(rs.len(), 16);
    assert!(rs.iter().all(|r| r["error"].is_null()));
    assert!(rs
        .iter()
        .any(|r| r["sample"] == "imagesTr/case_002.f0003.nii.gz"));
}

#[test]
fn a_nifti_label_lands_on_each_dicom_slice_by_geometry() {
    // dicom_series/: file order a, b, c is not the slice order (InstanceNumber 3, 1, 2); the
    // label is stored with dcm2niix's flipped axes; masks/<file>.png is each file's label in its
    // own grid, computed by the fixture script from the arrays.
    let root = repo().join("tests/fixtures/dicom_series");
    let label = root.join("series.nii.gz");
    for name in ["a", "b", "c"] {
        let p = root.join("series").join(format!("{name}.dcm"));
        let loaded = medfm_robust::io::read_image(&p).unwrap();
        let Some(medfm_robust::io::Medical::Dicom { source, .. }) = &loaded.medical else {
            panic!("a DICOM source")
        };
        let got = medfm_robust::io::label_for_dicom(&label, source, &loaded.image).unwrap();
        let want =
            medfm_robust::io::read_mask(&root.join("masks").join(format!("{name}.png")), None)
                .unwrap();
        assert_eq!(got, want, "{name}");
        assert!(got.data.contains(&1));
    }
}

#[test]
fn series_order_picks_the_middle_slice() {
    let items = medfm_robust::io::list_inputs(
        &repo().join("tests/fixtures/dicom_series/series"),
        None,
        None,
    )
    .unwrap()
    .all();
    let mid = medfm_robust::io::slices::expand(items, medfm_robust::io::slices::Slices::Mid);
    // InstanceNumber 3, 1, 2 for a, b, c: the middle of the ordered series is c.
    assert_eq!(mid.len(), 1);
    assert_eq!(mid[0].relative, Path::new("c.dcm"));
}
