//! `medfm-robust eval-vlm` from the command line against a loopback server: exit code, printed
//! summary, output files, and the API key absent from stdout, stderr and every file.

mod vlm_support;

use vlm_support::{Action, Server};

#[test]
fn eval_vlm_command_runs_and_keeps_the_key_secret() {
    const KEY: &str = "sk-cli-0b9d-secret";
    let dir = tempfile::tempdir().unwrap();
    let img = image::RgbImage::from_fn(20, 20, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 10) as u8, 80])
    });
    img.save(dir.path().join("x.png")).unwrap();
    let qa = serde_json::json!([
        {"question_id": 1, "question": "Which organ?", "option_A": "Liver", "option_B": "Brain",
         "gt_answer": "Brain", "image_path": "x.png", "modality_type": "MR (Mag-netic Resonance Imaging)"},
        {"question_id": 2, "question": "Which modality?", "option_A": "CT", "option_B": "MRI",
         "gt_answer": "CT", "image_path": "x.png", "modality_type": "MR (Mag-netic Resonance Imaging)"}
    ]);
    std::fs::write(dir.path().join("qa.json"), qa.to_string()).unwrap();
    let server = Server::start(Box::new(|seen| match seen.repeat {
        0 => Action::Status(429, format!("{:?}", seen.authorization)),
        _ => Action::Reply("B".into()),
    }));
    std::fs::write(
        dir.path().join("m.toml"),
        format!(
            "name = \"cli-model\"\nbase_url = \"{}\"\nmodel = \"m\"\napi_key_env = \"MEDFM_CLI_TEST_KEY\"\n\
             max_tokens = 16\nretry_base_ms = 1\n",
            server.base_url
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let res = std::process::Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .env("MEDFM_CLI_TEST_KEY", KEY)
        .args([
            "--quiet",
            "eval-vlm",
            "--task",
            "vqa",
            "--perturbations",
            "none",
            "--limit",
            "2",
        ])
        .arg("--data")
        .arg(dir.path().join("qa.json"))
        .arg("--model")
        .arg(dir.path().join("m.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&res.stdout);
    let stderr = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{stderr}");
    assert!(
        stdout.contains("vqa cli-model/full on qa: clean accuracy 0.5000 (n = 2)"),
        "{stdout}"
    );
    assert!(stdout.contains("failed: 0"), "{stdout}");
    assert!(!stdout.contains(KEY) && !stderr.contains(KEY));
    assert_eq!(
        std::fs::read_to_string(out.join("records.jsonl"))
            .unwrap()
            .lines()
            .count(),
        2
    );
    for e in walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
    {
        assert!(
            !std::fs::read_to_string(e.path())
                .unwrap_or_default()
                .contains(KEY),
            "{}",
            e.path().display()
        );
    }
    // Unset key: a clear error naming the variable.
    let res = std::process::Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .env_remove("MEDFM_CLI_TEST_KEY")
        .args(["eval-vlm", "--task", "vqa", "--perturbations", "none"])
        .arg("--data")
        .arg(dir.path().join("qa.json"))
        .arg("--model")
        .arg(dir.path().join("m.toml"))
        .arg("--out")
        .arg(dir.path().join("out2"))
        .output()
        .unwrap();
    assert!(!res.status.success());
    assert!(String::from_utf8_lossy(&res.stderr).contains("MEDFM_CLI_TEST_KEY"));
}

/// A dead endpoint, an endpoint that always answers 500 or invalid JSON, and a wrong image root:
/// exit 2 (the run finished, units failed), the summary says how many failed, and no metric is
/// reported over failed items as if they had been scored.
#[test]
fn eval_vlm_failures_exit_2_and_are_not_scored() {
    let dir = tempfile::tempdir().unwrap();
    let img = image::RgbImage::from_fn(20, 20, |x, y| {
        image::Rgb([(x * 10) as u8, (y * 10) as u8, 80])
    });
    img.save(dir.path().join("x.png")).unwrap();
    let qa = serde_json::json!([
        {"question_id": 1, "question": "Which organ?", "option_A": "Liver", "option_B": "Brain", "gt_answer": "Brain", "image_path": "x.png"},
        {"question_id": 2, "question": "Which modality?", "option_A": "CT", "option_B": "MRI", "gt_answer": "CT", "image_path": "x.png"}
    ]);
    std::fs::write(dir.path().join("qa.json"), qa.to_string()).unwrap();
    let always_500 = Server::start(Box::new(|_| Action::Status(500, "down".into())));
    let garbage = Server::start(Box::new(|_| Action::Garbage));
    // A port nothing listens on: bind, read the port, close.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let cases = [
        (dead, None),
        (always_500.base_url.clone(), None),
        (garbage.base_url.clone(), None),
        (always_500.base_url.clone(), Some("nowhere")),
    ];
    for (k, (url, root)) in cases.iter().enumerate() {
        let toml = dir.path().join(format!("m{k}.toml"));
        std::fs::write(&toml, format!("name = \"m\"\nbase_url = \"{url}\"\nmodel = \"m\"\nmax_retries = 1\nretry_base_ms = 1\ntimeout_s = 5\n")).unwrap();
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_medfm-robust"));
        c.args(["eval-vlm", "--task", "vqa", "--perturbations", "none"])
            .arg("--data")
            .arg(dir.path().join("qa.json"));
        c.arg("--model")
            .arg(&toml)
            .arg("--out")
            .arg(dir.path().join(format!("out{k}")));
        if let Some(r) = root {
            c.arg("--image-root").arg(dir.path().join(r));
        }
        let res = c.output().unwrap();
        let stdout = String::from_utf8_lossy(&res.stdout);
        assert_eq!(
            res.status.code(),
            Some(2),
            "case {k}: {stdout}\n{}",
            String::from_utf8_lossy(&res.stderr)
        );
        assert!(stdout.contains("failed: 2"), "case {k}: {stdout}");
        assert!(
            !stdout.contains("accuracy"),
            "case {k}: no accuracy over failed items: {stdout}"
        );
    }
}
