//! Sharding: three shards run separately (own folders, and one shared folder) and merged equal
//! the unsharded run; a missing shard is listed by merge.

mod run_support;
use run_support::*;

#[test]
fn three_shards_merged_equal_the_unsharded_run() {
    let (dir, cfg) = setup("[1, 4]", r#"["gaussian_noise", "gaussian_blur"]"#);
    let cfg = cfg.to_str().unwrap();
    let p = |n: &str| dir.path().join(n);
    run_ok(&["run", cfg, "--out", p("all").to_str().unwrap()]);
    let want = records_of(&p("all"));
    let mut parts = Vec::new();
    for i in 0..3 {
        let d = p(&format!("shard{i}"));
        run_ok(&[
            "run",
            cfg,
            "--out",
            d.to_str().unwrap(),
            "--shard",
            &format!("{i}/3"),
        ]);
        // Shards are disjoint and non-empty.
        let got = records_of(&d);
        assert!(!got.is_empty(), "shard {i} got no work");
        parts.push(got);
        // The same shard in one shared folder (cluster layout).
        run_ok(&[
            "run",
            cfg,
            "--out",
            p("shared").to_str().unwrap(),
            "--shard",
            &format!("{i}/3"),
        ]);
    }
    let total: usize = parts.iter().map(|m| m.len()).sum();
    assert_eq!(total, want.len(), "shards overlap or miss units");

    let dirs: Vec<String> = (0..3)
        .map(|i| p(&format!("shard{i}")).to_str().unwrap().to_string())
        .collect();
    let merged = p("merged");
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["--out", merged.to_str().unwrap()]);
    run_ok(&args);
    assert_eq!(records_of(&merged), want);
    assert_eq!(raw_lines(&merged).len(), want.len());

    // Shared folder: three shard files, merged in place into a new folder.
    assert_eq!(records_of(&p("shared")), want);
    run_ok(&[
        "merge",
        p("shared").to_str().unwrap(),
        "--out",
        p("merged2").to_str().unwrap(),
    ]);
    assert_eq!(records_of(&p("merged2")), want);

    // Environment fallback (Kubernetes Indexed Job) picks the same slice as --shard 1/3.
    let o = std::process::Command::new(BIN)
        .args([
            "--quiet",
            "-j",
            "1",
            "run",
            cfg,
            "--out",
            p("env1").to_str().unwrap(),
        ])
        .env("JOB_COMPLETION_INDEX", "1")
        .env("MEDFM_ROBUST_SHARD_COUNT", "3")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(records_of(&p("env1")), parts[1]);

    // Two of three shards: merge lists the missing units and exits non-zero.
    let o = run(&[
        "merge",
        &dirs[0],
        &dirs[2],
        "--out",
        p("partial").to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let missing = std::fs::read_to_string(p("partial").join("missing_units.txt")).unwrap();
    let mut missing: Vec<&str> = missing.lines().collect();
    missing.sort();
    let mut expected: Vec<&str> = parts[1].keys().map(String::as_str).collect();
    expected.sort();
    assert_eq!(missing, expected);
}
