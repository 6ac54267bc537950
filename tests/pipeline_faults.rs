//! Faults of the one pipeline, each found by trying the tool as a hostile user would (the
//! pipeline issue): incomplete reports, conflicting merges, a failing judge, data changed under
//! a resumed run, two runs on one folder, bad grounding boxes, unknown devices, and the paper's
//! VLM protocol from `run` (VQA, captioning, grounding) sharded and merged.

mod run_support;
mod vlm_support;

use run_support::*;
use std::path::Path;
use vlm_support::{prompt_of, Action, Server};

fn code(args: &[&str]) -> (Option<i32>, String) {
    let o = run(args);
    (
        o.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn report_of_an_incomplete_run_says_so_and_exits_2() {
    let (dir, cfg) = setup("[1]", r#"["gaussian_noise"]"#);
    let shard = dir.path().join("s0");
    run_ok(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        shard.to_str().unwrap(),
        "--shard",
        "0/3",
    ]);
    let merged = dir.path().join("m");
    let (c, _) = code(&[
        "merge",
        shard.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(c, Some(4), "merge of one shard of three: units missing");
    let (c, text) = code(&["report", merged.to_str().unwrap()]);
    assert_eq!(c, Some(2), "{text}");
    assert!(
        text.contains("incomplete:") && text.contains("units have records"),
        "{text}"
    );
    let md = std::fs::read_to_string(merged.join("report/table1.md")).unwrap();
    assert!(
        md.contains("incomplete:"),
        "every table header says so: {md}"
    );
    let html = std::fs::read_to_string(merged.join("report/report.html")).unwrap();
    assert!(html.contains("incomplete:"));
    let (c, _) = code(&["report", merged.to_str().unwrap(), "--allow-incomplete"]);
    assert_eq!(c, Some(0));
    // The complete run's report is not marked.
    let full = dir.path().join("full");
    run_ok(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        full.to_str().unwrap(),
    ]);
    let (c, text) = code(&["report", full.to_str().unwrap()]);
    assert_eq!(c, Some(0), "{text}");
    assert!(!std::fs::read_to_string(full.join("report/table1.md"))
        .unwrap()
        .contains("incomplete"));
}

#[test]
fn merge_refuses_the_same_unit_with_different_values() {
    let (dir, cfg) = setup("[1]", r#"["gaussian_noise"]"#);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_ok(&["run", cfg.to_str().unwrap(), "--out", a.to_str().unwrap()]);
    run_ok(&["run", cfg.to_str().unwrap(), "--out", b.to_str().unwrap()]);
    // Same values in both: merging them is fine.
    run_ok(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        dir.path().join("ok").to_str().unwrap(),
    ]);
    // Edit one unit's metric in b.
    let p = b.join("records.jsonl");
    let text = std::fs::read_to_string(&p).unwrap();
    let first = text.lines().next().unwrap();
    let mut v: serde_json::Value = serde_json::from_str(first).unwrap();
    let unit = v["unit"].as_str().unwrap().to_string();
    v["metrics"]["iou"] = serde_json::json!(0.123456);
    std::fs::write(&p, text.replacen(first, &v.to_string(), 1)).unwrap();
    let (c, text) = code(&[
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        dir.path().join("bad").to_str().unwrap(),
    ]);
    assert_eq!(c, Some(1), "{text}");
    assert!(
        text.contains(&unit)
            && text.contains("a/records.jsonl")
            && text.contains("b/records.jsonl"),
        "{text}"
    );
}

#[test]
fn resume_reruns_the_units_of_a_changed_sample() {
    let (dir, cfg) = setup("[1]", r#"["gaussian_noise"]"#);
    let out = dir.path().join("out");
    run_ok(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let n = raw_lines(&out).len();
    // Same config, one image replaced by another phantom.
    let img = dir.path().join("data/ct/images/0.png");
    std::fs::copy(dir.path().join("data/ct/images/1.png"), &img).unwrap();
    let o = std::process::Command::new(BIN)
        .args([
            "-j",
            "1",
            "run",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    // ct/0.png: clean + 1 level, for both strategies = 4 units.
    assert!(
        err.contains("4 unit(s) rerun because their sample's files changed"),
        "{err}"
    );
    assert_eq!(raw_lines(&out).len(), n + 4);
    let recs = records_of(&out);
    let changed: Vec<_> = recs
        .values()
        .filter(|r| r.dataset == "ct" && r.sample == "0.png")
        .collect();
    assert!(changed.iter().all(|r| r.content == changed[0].content) && changed.len() == 4);
}

#[test]
fn a_second_run_on_the_same_folder_is_refused_naming_the_holder() {
    let (dir, cfg) = setup("[1, 2, 3, 4, 5]", r#"["all"]"#);
    let out = dir.path().join("out");
    let mut first = std::process::Command::new(BIN)
        .args([
            "-q",
            "-j",
            "1",
            "run",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .spawn()
        .unwrap();
    // Wait until the first holds the lock (it writes its pid into OUT/.lock).
    let lock = out.join(".lock");
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(&lock)
        .map(|s| s.trim().is_empty())
        .unwrap_or(true)
        && t0.elapsed().as_secs() < 20
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let (c, text) = code(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let still_running = first.try_wait().unwrap().is_none();
    let _ = first.kill();
    let _ = first.wait();
    assert!(
        still_running,
        "the first run ended before the second started; enlarge the config"
    );
    assert_eq!(c, Some(1), "{text}");
    assert!(text.contains(&format!("pid {}", first.id())), "{text}");
    // No interleaved duplicates: every line of the records file is a distinct unit.
    let lines = raw_lines(&out);
    let units: std::collections::BTreeSet<_> = lines.iter().map(|r| r.unit.clone()).collect();
    assert_eq!(units.len(), lines.len());
}

#[test]
fn an_unknown_device_is_a_config_error() {
    let (dir, cfg) = setup("[1]", r#"["gaussian_noise"]"#);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("seed = 3", "seed = 3\ndevice = \"tpu\"");
    std::fs::write(&cfg, text).unwrap();
    let out = dir.path().join("out");
    let (c, text) = code(&["run", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(c, Some(1));
    assert!(
        text.contains("device 'tpu'") && text.contains("cpu, cuda[:N], tensorrt[:N] or auto"),
        "{text}"
    );
    assert!(!out.exists());
}

fn png(path: &Path, w: u32, h: u32) {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 5 % 255) as u8, (y * 7 % 255) as u8, 90])
    })
    .save(path)
    .unwrap();
}

/// The paper's three VLM tasks from one `run` config against the loopback server, with a judge
/// that fails (the reply stays in the record), grounding boxes validated and clipped the same
/// way for clean and perturbed units, sharded into three and merged equal to the unsharded run.
#[test]
fn vlm_protocol_from_run_is_resumable_shardable_and_validates_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut qa = Vec::new();
    let mut caps = String::new();
    let mut grd = String::new();
    for i in 0..4 {
        png(&root.join(format!("{i}.png")), 40, 32);
        qa.push(serde_json::json!({"question_id": format!("q{i}"), "question": format!("item{i}?"), "option_A": "yes", "option_B": "no",
            "gt_answer": "yes", "image_path": format!("{i}.png"), "modality_type": "CT"}));
        caps.push_str(&format!("{}\n", serde_json::json!({"id": format!("c{i}"), "image": format!("{i}.png"), "references": ["a ct image"]})));
    }
    // Grounding: a box sticking out of the image (clipped), an inverted one (rejected), one outside.
    grd.push_str(&format!("{}\n", serde_json::json!({"id": "g0", "image": "0.png", "question": "where?", "box": [30, 20, 60, 50]})));
    grd.push_str(&format!("{}\n", serde_json::json!({"id": "g1", "image": "1.png", "question": "where?", "box": [20, 10, 5, 30]})));
    grd.push_str(&format!("{}\n", serde_json::json!({"id": "g2", "image": "2.png", "question": "where?", "box": [100, 100, 120, 120]})));
    std::fs::write(root.join("qa.json"), serde_json::to_string(&qa).unwrap()).unwrap();
    std::fs::write(root.join("caps.jsonl"), caps).unwrap();
    std::fs::write(root.join("grd.jsonl"), grd).unwrap();
    let server = Server::start(Box::new(|seen| {
        let p = prompt_of(seen);
        if p.starts_with("You grade answers") {
            Action::Status(500, "judge down".into())
        } else if p.contains("bounding box") {
            Action::Reply("[30, 20, 40, 32]".into())
        } else if p.starts_with("item") {
            Action::Reply("A".into())
        } else {
            Action::Reply("a ct image".into())
        }
    }));
    let model = format!("name = \"vlm\"\nbase_url = \"{}\"\nmodel = \"m\"\nmax_retries = 0\nretry_base_ms = 1\nbox_format = \"xyxy-pixel\"\n", server.base_url);
    std::fs::write(root.join("vlm.toml"), &model).unwrap();
    std::fs::write(root.join("judge.toml"), &model).unwrap();
    let cfg = root.join("bench.toml");
    std::fs::write(
        &cfg,
        r#"name = "vlm"
levels = [1, 3]
perturbations = ["gaussian_noise", "translation"]

[[datasets]]
name = "omni"
path = "qa.json"
reader = "vqa"

[[datasets]]
name = "roco"
path = "caps.jsonl"
reader = "caption"

[[datasets]]
name = "meco"
path = "grd.jsonl"
reader = "grounding"

[[models]]
name = "vlm"
task = "vqa"
model = "vlm.toml"
judge = "judge.toml"

[[models]]
name = "vlm"
task = "caption"
model = "vlm.toml"

[[models]]
name = "vlm"
task = "grounding"
model = "vlm.toml"
"#,
    )
    .unwrap();
    let full = root.join("full");
    let (c, text) = code(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        full.to_str().unwrap(),
    ]);
    assert_eq!(c, Some(2), "units failed (judge, bad boxes): {text}");
    let recs = records_of(&full);
    // VQA: the judge failed, so the unit failed, but the model's reply is kept.
    let vqa: Vec<_> = recs.values().filter(|r| r.task == "vqa").collect();
    assert_eq!(vqa.len(), 4 * 5);
    assert!(vqa
        .iter()
        .all(|r| r.error.as_deref().is_some_and(|e| e.contains("judge"))
            && r.fields["reply"] == "A"
            && r.metrics.is_empty()));
    // Captioning scored.
    assert!(recs
        .values()
        .filter(|r| r.task == "caption")
        .all(|r| r.ok() && r.fields["prediction"] == "a ct image"));
    // Grounding: g0's box is clipped to the 40x32 image for every unit; g1 (inverted) and g2
    // (outside) are rejected with a message naming the item.
    let g = |id: &str| {
        recs.values()
            .filter(|r| r.task == "grounding" && r.sample == id)
            .collect::<Vec<_>>()
    };
    for r in g("g0").iter().filter(|r| r.perturbation != "translation") {
        assert!(r.ok(), "{r:?}");
        assert_eq!(
            r.fields["truth"],
            serde_json::json!([30.0, 20.0, 40.0, 32.0]),
            "{r:?}"
        );
        assert_eq!(r.metrics["correct"], 1.0);
    }
    assert!(g("g1").iter().all(|r| r
        .error
        .as_deref()
        .is_some_and(|e| e.contains("g1") && e.contains("x1 < x2"))));
    assert!(g("g2").iter().all(|r| r
        .error
        .as_deref()
        .is_some_and(|e| e.contains("g2") && e.contains("outside"))));
    // Resume: nothing new is asked except the failed units.
    let before = server.requests();
    let _ = code(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        full.to_str().unwrap(),
    ]);
    // The failed VQA units are retried: the model's reply comes from the response cache, only the
    // judge is asked again; nothing that succeeded is asked again.
    assert_eq!(
        server.requests() - before,
        vqa.len(),
        "only the judge requests of the failed units"
    );
    // Three shards merged equal the unsharded run (unit by unit, results).
    let mut dirs = Vec::new();
    for i in 0..3 {
        let d = root.join(format!("shard{i}"));
        let _ = code(&[
            "run",
            cfg.to_str().unwrap(),
            "--out",
            d.to_str().unwrap(),
            "--shard",
            &format!("{i}/3"),
        ]);
        dirs.push(d);
    }
    let merged = root.join("merged");
    let mut args = vec!["merge"];
    for d in &dirs {
        args.push(d.to_str().unwrap());
    }
    args.extend(["--out", merged.to_str().unwrap()]);
    let (c, text) = code(&args);
    assert_eq!(c, Some(2), "complete, with failed units: {text}");
    let (a, b) = (records_of(&full), records_of(&merged));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (u, r) in &a {
        let (mut x, mut y) = (r.clone(), b[u].clone());
        for z in [&mut x, &mut y] {
            z.fields.remove("cached");
            z.fields.remove("attempts");
        }
        assert_eq!(x, y, "unit {u}");
    }
}
