//! `run` with an ONNX segmentation model (the built-in demo model, models/demo, litemedsam
//! preset) through crate::eval::seg: every unit evaluated, IoU/Dice in [0, 1], the preset recorded;
//! a preset whose interface does not match the graphs fails in the validation pass.
//!
//! Needs the ONNX Runtime library: run `tools/setup_ort.sh` first (CI does); without it this test
//! fails with that instruction rather than skip (as tests/seg_e2e.rs).

mod run_support;
use medfm_robust::eval::seg::ort::find_library;
use run_support::*;

#[test]
fn run_evaluates_an_onnx_model() {
    if let Err(e) = find_library() {
        panic!("this test needs the ONNX Runtime library; run tools/setup_ort.sh first ({e})");
    }
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo");
    let graphs = format!(
        "graphs = {{ encoder = {:?}, decoder = {:?} }}",
        demo.join("encoder.onnx").to_str().unwrap(),
        demo.join("decoder.onnx").to_str().unwrap()
    );
    let (dir, cfg) = setup("[1, 3]", r#"["gaussian_noise"]"#);
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "preset = \"builtin-threshold-smoothed\"",
        &format!("preset = \"litemedsam\"\n{graphs}"),
    );
    std::fs::write(&cfg, &text).unwrap();
    let out = dir.path().join("out");
    run_ok(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let recs = records_of(&out);
    let onnx: Vec<_> = recs.values().filter(|r| r.strategy == "adapter").collect();
    // 2 datasets x 2 samples x (clean + 2 levels).
    assert_eq!(onnx.len(), 12);
    for r in &onnx {
        assert!(r.ok(), "{r:?}");
        assert_eq!(r.preset, "litemedsam");
        assert!(
            (0.0..=1.0).contains(&r.metrics["iou"]) && (0.0..=1.0).contains(&r.metrics["dice"]),
            "{r:?}"
        );
    }
    // The same graphs under a preset with another interface: refused before any work.
    std::fs::write(
        &cfg,
        text.replace("preset = \"litemedsam\"", "preset = \"medsam\""),
    )
    .unwrap();
    let out2 = dir.path().join("out2");
    let o = run(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("model 'thr' (strategy 'adapter')") && e.contains("nothing was run"),
        "{e}"
    );
    assert!(!out2.exists());
}
