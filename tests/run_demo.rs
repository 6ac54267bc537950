//! The built-in demo benchmark end to end: phantoms x two stand-in strategies x a few
//! perturbations per modality x levels 1-5, then the report; a rerun on the same folder resumes
//! (nothing new is evaluated, records unchanged).

mod run_support;
use medfm_robust::cli::run::run_demo_benchmark;
use run_support::*;

#[test]
fn demo_benchmark_runs_end_to_end_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    assert_eq!(run_demo_benchmark(&out, true).unwrap(), 0);
    for f in ["records.jsonl", "run.json", "bench.toml", "report/summary.csv", "report/table1.md", "report/table1.tex", "report/report.html", "report/figures/drop_vs_severity.png", "report/figures/drop_vs_severity.svg"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let first = raw_lines(&out);
    let recs = records_of(&out);
    assert_eq!(first.len(), recs.len());
    assert!(recs.values().all(|r| r.ok()), "{:?}", recs.values().find(|r| !r.ok()));
    // Both strategies, every modality with a medical perturbation, levels 1-5.
    assert!(recs.values().any(|r| r.strategy == "adapter") && recs.values().any(|r| r.strategy == "full"));
    assert!(recs.values().any(|r| r.category == "medical" && r.level == 5));
    assert_eq!(run_demo_benchmark(&out, true).unwrap(), 0);
    assert_eq!(raw_lines(&out).len(), first.len(), "rerun must resume, not redo");
    // The written config runs as a plain `run` on the same folder (same hash: nothing to do).
    run_ok(&["run", out.join("bench.toml").to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(raw_lines(&out).len(), first.len());
}
