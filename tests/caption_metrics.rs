//! Caption metrics equal pycocoevalcap 1.2 (BLEU-1..4, ROUGE-L, CIDEr-D) within 1e-6 on the
//! 240-item corpus of tools/gen_caption_fixtures.py, corpus and per item, for the default
//! ("words") tokenisation and for raw strings; and `caption-metrics FILE` prints the same numbers.

use medfm_robust::metrics::caption::{self, Tokenisation};

const TOL: f64 = 1e-6;

fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn corpus() -> Vec<(String, Vec<String>)> {
    std::fs::read_to_string(fixture_path("caption_corpus.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let refs = v["references"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect();
            (v["prediction"].as_str().unwrap().to_string(), refs)
        })
        .collect()
}

fn expected() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_path("caption_expected.json")).unwrap())
        .unwrap()
}

fn check_mode(mode: &str, tok: Tokenisation) {
    let items = corpus();
    assert!(items.len() >= 200);
    let preds: Vec<String> = items
        .iter()
        .map(|(p, _)| caption::normalise(p, tok))
        .collect();
    let refs: Vec<Vec<String>> = items
        .iter()
        .map(|(_, r)| r.iter().map(|s| caption::normalise(s, tok)).collect())
        .collect();
    let (s, per) = caption::score(&preds, &refs).unwrap();
    let e = &expected()[mode];
    let c = &e["corpus"];
    for (name, got) in [
        ("bleu1", s.bleu1),
        ("bleu2", s.bleu2),
        ("bleu3", s.bleu3),
        ("bleu4", s.bleu4),
        ("rouge_l", s.rouge_l),
        ("cider", s.cider),
    ] {
        let want = c[name].as_f64().unwrap();
        assert!(
            (got - want).abs() < TOL,
            "{mode} {name}: {got} vs pycocoevalcap {want}"
        );
    }
    let items_e = &e["items"];
    for i in 0..items.len() {
        for k in 0..4 {
            let want = items_e["bleu"][i][k].as_f64().unwrap();
            assert!(
                (per.bleu[i][k] - want).abs() < TOL,
                "{mode} item {i} bleu{}: {} vs {want}",
                k + 1,
                per.bleu[i][k]
            );
        }
        let want = items_e["rouge_l"][i].as_f64().unwrap();
        assert!(
            (per.rouge_l[i] - want).abs() < TOL,
            "{mode} item {i} rouge_l: {} vs {want}",
            per.rouge_l[i]
        );
        let want = items_e["cider"][i].as_f64().unwrap();
        assert!(
            (per.cider[i] - want).abs() < TOL,
            "{mode} item {i} cider: {} vs {want}",
            per.cider[i]
        );
    }
}

#[test]
fn words_tokenisation_equals_pycocoevalcap() {
    check_mode("words", Tokenisation::Words);
}

#[test]
fn raw_strings_equal_pycocoevalcap() {
    check_mode("raw", Tokenisation::Raw);
}

#[test]
fn caption_metrics_command_prints_the_scores() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .args(["caption-metrics", &fixture_path("caption_corpus.jsonl")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = &expected()["words"]["corpus"];
    for name in ["bleu1", "bleu2", "bleu3", "bleu4", "rouge_l", "cider"] {
        let (got, want) = (v[name].as_f64().unwrap(), c[name].as_f64().unwrap());
        assert!((got - want).abs() < TOL, "{name}: {got} vs {want}");
    }
    let raw = std::process::Command::new(env!("CARGO_BIN_EXE_medfm-robust"))
        .args([
            "caption-metrics",
            "--tokenisation",
            "raw",
            &fixture_path("caption_corpus.jsonl"),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert!(
        (v["cider"].as_f64().unwrap() - expected()["raw"]["corpus"]["cider"].as_f64().unwrap())
            .abs()
            < TOL
    );
}
