//! The built-in demo benchmark end to end through `run`: phantoms for all four tasks
//! (segmentation with the two stand-in strategies; VQA, captioning and grounding against the
//! built-in rule-based demo VLM on 127.0.0.1), one records.jsonl, the report with the
//! segmentation and VLM panels; a rerun resumes; kill -9 at five moments then a rerun gives
//! exactly the records of an uninterrupted run.

mod run_support;
use medfm_robust::eval::vlm::demo_server::DemoServer;
use medfm_robust::run::demo;
use run_support::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The demo config (as `demo` writes it) over data in `root`, served by `server`.
fn demo_config(root: &Path, server: &DemoServer) -> std::path::PathBuf {
    let data = root.join("data");
    demo::write_data(&data).unwrap();
    let toml_path = data.join("demo_vlm.toml");
    std::fs::write(&toml_path, server.model_toml()).unwrap();
    let config = demo::config(&data, Some(&toml_path)).unwrap();
    let path = root.join("bench.toml");
    std::fs::write(&path, toml::to_string_pretty(&config).unwrap()).unwrap();
    path
}

#[test]
fn demo_benchmark_has_all_four_tasks_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let server = DemoServer::start().unwrap();
    let cfg = demo_config(dir.path(), &server);
    let out = dir.path().join("out");
    run_ok(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--report",
        "-q",
    ]);
    let recs = records_of(&out);
    assert!(
        recs.values().all(|r| r.ok()),
        "{:?}",
        recs.values().find(|r| !r.ok())
    );
    for task in ["segmentation", "vqa", "caption", "grounding"] {
        assert!(
            recs.values()
                .any(|r| r.task == task && r.category == "medical" && r.level == 5),
            "{task}"
        );
    }
    assert!(
        recs.values().any(|r| r.strategy == "adapter")
            && recs.values().any(|r| r.strategy == "full")
    );
    for f in [
        "records.jsonl",
        "run.json",
        "report/summary.csv",
        "report/table1.md",
        "report/vlm_table.md",
        "report/vlm_table.csv",
        "report/report.html",
        "report/figures/drop_vs_severity.png",
        "report/figures/vlm_clean_vs_perturbed.svg",
        "report/figures/vlm_impact_vqa.png",
        "report/figures/vlm_impact_caption.png",
        "report/figures/vlm_impact_grounding.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let vlm = std::fs::read_to_string(out.join("report/vlm_table.md")).unwrap();
    for t in [
        "| vqa | accuracy |",
        "| caption | CIDEr-D |",
        "| grounding | Acc@IoU0.5 |",
    ] {
        assert!(vlm.contains(t), "{t} in {vlm}");
    }
    let html = std::fs::read_to_string(out.join("report/report.html")).unwrap();
    assert!(html.contains("<h2>VLM tasks</h2>") && html.contains("vlm_impact_caption"));
    let n = raw_lines(&out).len();
    let before = server.requests.load(std::sync::atomic::Ordering::Relaxed);
    run_ok(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(raw_lines(&out).len(), n, "rerun must resume, not redo");
    assert_eq!(
        server.requests.load(std::sync::atomic::Ordering::Relaxed),
        before,
        "nothing is asked again"
    );
}

#[test]
fn kill_nine_at_five_moments_then_resume_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let server = DemoServer::start().unwrap();
    let cfg = demo_config(dir.path(), &server);
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let t0 = std::time::Instant::now();
    run_ok(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        a.to_str().unwrap(),
        "-q",
    ]);
    let full_ms = t0.elapsed().as_millis() as u64;
    // Kill at spread-out moments: 2-12% of an uninterrupted run's time each (a fixed
    // pseudo-random sequence), so six runs together cannot finish the work.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut killed = 0;
    for _ in 0..6 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let ms = full_ms / 50 + x % (full_ms / 10).max(1);
        let mut child = Command::new(BIN)
            .args([
                "run",
                cfg.to_str().unwrap(),
                "--out",
                b.to_str().unwrap(),
                "-q",
            ])
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        let _ = child.wait();
    }
    assert!(
        killed >= 5,
        "the runs finished before they could be killed ({killed} kills in {full_ms} ms runs)"
    );
    run_ok(&[
        "run",
        cfg.to_str().unwrap(),
        "--out",
        b.to_str().unwrap(),
        "-q",
    ]);
    let (ra, rb) = (records_of(&a), records_of(&b));
    assert_eq!(
        ra.keys().collect::<Vec<_>>(),
        rb.keys().collect::<Vec<_>>(),
        "the same units"
    );
    for (u, r) in &ra {
        // Whether a reply came from the response cache differs after a kill; nothing else may.
        let mut s = rb[u].clone();
        s.fields.remove("cached");
        s.fields.remove("attempts");
        let mut r = r.clone();
        r.fields.remove("cached");
        r.fields.remove("attempts");
        assert_eq!(r, s, "unit {u}");
    }
}
