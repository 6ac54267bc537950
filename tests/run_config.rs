//! Bad configs fail in the validation pass, before any work: clear errors naming the item, and
//! nothing written to the output folder.

mod run_support;
use run_support::*;

fn fails_before_work(cfg_text: &str, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    write_data(&dir.path().join("data"));
    let cfg = dir.path().join("bench.toml");
    std::fs::write(&cfg, cfg_text).unwrap();
    let out = dir.path().join("out");
    let o = run(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    for n in needles {
        assert!(e.contains(n), "error should mention {n:?}:\n{e}");
    }
    assert!(
        !out.exists(),
        "the output folder must not be created when validation fails"
    );
}

#[test]
fn unknown_key_is_an_error() {
    let text =
        config_text("[1]", r#"["gaussian_noise"]"#).replace("limit = 2", "limit = 2\nlimt = 3");
    fails_before_work(&text, &["unknown field", "limt"]);
}

#[test]
fn missing_dataset_path_is_an_error() {
    let text = config_text("[1]", r#"["gaussian_noise"]"#).replace("data/ct", "data/nowhere");
    fails_before_work(&text, &["dataset 'ct'", "nowhere", "does not exist"]);
}

#[test]
fn model_that_fails_to_load_is_an_error() {
    let text = config_text("[1]", r#"["gaussian_noise"]"#).replace("preset = \"builtin-threshold-smoothed\"", "preset = \"medsam\"\ngraphs = { encoder = \"models/enc.onnx\", decoder = \"models/dec.onnx\" }");
    fails_before_work(
        &text,
        &["model 'thr'", "adapter", "enc.onnx", "does not exist"],
    );
}

#[test]
fn all_problems_are_reported_together() {
    let text = config_text("[1, 7]", r#"["gaussian_noise", "no_such_perturbation"]"#)
        .replace("data/ct", "data/nowhere")
        .replace(
            "preset = \"builtin-threshold\"",
            "preset = \"builtin-fail\"",
        );
    fails_before_work(
        &text,
        &[
            "levels: 7",
            "no_such_perturbation",
            "nowhere",
            "builtin-fail",
            "nothing was run",
        ],
    );
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let (dir, cfg) = setup("[1, 2]", r#"["gaussian_noise"]"#);
    let out = dir.path().join("out");
    let o = run(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--dry-run",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = String::from_utf8_lossy(&o.stdout);
    // 2 models x 2 datasets x 2 samples x (clean + 1 perturbation x 2 levels) = 24 units.
    assert!(s.contains("total: 24 units"), "{s}");
    assert!(s.contains("| thr/adapter | ct | 6 | 6 | 6 |"), "{s}");
    assert!(s.contains("estimate:"), "{s}");
    assert!(!out.exists());
}

#[test]
fn example_bench_config_parses_and_passes_static_checks() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/bench.toml");
    let c = medfm_robust::run::Config::load(&path).unwrap();
    assert_eq!(c.datasets.len(), 5);
    assert_eq!(c.models.len(), 10);
    assert_eq!(c.check_static(), Vec::<String>::new());
    // Its datasets are not shipped: the validation pass names each missing one.
    let e =
        medfm_robust::run::validate(&c, &std::env::temp_dir().join("medfm-robust-example-check"))
            .err()
            .unwrap()
            .to_string();
    for d in [
        "isic2016",
        "kvasir-seg",
        "brain-tumor-mri",
        "smdg19-disc",
        "smdg19-cup",
    ] {
        assert!(e.contains(&format!("dataset '{d}'")), "{e}");
    }
}

#[test]
fn example_vlm_config_is_the_papers_protocol_and_passes_static_checks() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/vlm.toml");
    let c = medfm_robust::run::Config::load(&path).unwrap();
    assert_eq!(c.check_static(), Vec::<String>::new());
    assert_eq!(c.levels, vec![1, 3, 5]);
    let readers: Vec<(&str, &str)> = c
        .datasets
        .iter()
        .map(|d| (d.name.as_str(), d.reader.as_str()))
        .collect();
    assert_eq!(
        readers,
        [
            ("omnimedvqa", "vqa"),
            ("rocov2", "caption"),
            ("mecovqa-g", "grounding")
        ]
    );
    assert!(c
        .datasets
        .iter()
        .all(|d| d.limit == Some(500) && d.sample_seed == 42));
    // Five VLMs on each of the three tasks, each MODEL.toml loadable.
    assert_eq!(c.models.len(), 15);
    for task in ["vqa", "caption", "grounding"] {
        let names: Vec<&str> = c
            .models
            .iter()
            .filter(|m| m.task == task)
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(names.len(), 5, "{task}: {names:?}");
    }
    for m in &c.models {
        let toml = m.model.as_ref().expect("a MODEL.toml");
        let vlm = medfm_robust::eval::vlm::ModelConfig::load(toml).unwrap();
        assert_eq!(vlm.name, m.name, "{}", toml.display());
    }
    // Its datasets are not shipped: the validation pass names each missing one.
    let e = medfm_robust::run::validate(
        &c,
        &std::env::temp_dir().join("medfm-robust-example-vlm-check"),
    )
    .err()
    .unwrap()
    .to_string();
    for d in ["omnimedvqa", "rocov2", "mecovqa-g"] {
        assert!(e.contains(&format!("dataset '{d}'")), "{e}");
    }
}
