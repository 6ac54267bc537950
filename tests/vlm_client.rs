//! The chat-completions client against a loopback test server: retries on 429 / 500 / timeouts /
//! garbage, failures after the retry budget, the response cache, and the API key kept secret.

mod vlm_support;

use medfm_robust::eval::vlm::cache::Cache;
use medfm_robust::eval::vlm::{ChatRequest, Client, ModelConfig};
use std::sync::atomic::Ordering;
use std::time::Duration;
use vlm_support::{prompt_of, Action, Server};

fn config(base_url: &str, key_env: Option<&str>) -> ModelConfig {
    let mut text = format!(
        "name = \"test-model\"\nbase_url = \"{base_url}\"\nmodel = \"test/model\"\nmax_tokens = 64\n\
         timeout_s = 1.5\nmax_retries = 4\nretry_base_ms = 1\n"
    );
    if let Some(k) = key_env {
        text.push_str(&format!("api_key_env = \"{k}\"\n"));
    }
    ModelConfig::from_toml_str(&text, "test").unwrap()
}

/// Replies "answer to <prompt>" after a failure schedule chosen by the prompt's first word.
fn scripted() -> Server {
    Server::start(Box::new(|seen| {
        let p = prompt_of(seen);
        let ok = Action::Reply(format!("answer to {p}"));
        match (p.split_whitespace().next().unwrap_or(""), seen.repeat) {
            ("rate", 0) => Action::Status(429, "{\"error\":\"slow down\"}".into()),
            ("flaky", 0 | 1) => Action::Status(500, "oops".into()),
            ("slow", 0) => Action::Stall(Duration::from_secs(6)),
            ("garbage", 0) => Action::Garbage,
            ("broken", _) => {
                Action::Status(503, format!("down; you sent {:?}", seen.authorization))
            }
            ("denied", _) => Action::Status(400, "bad request".into()),
            _ => ok,
        }
    }))
}

#[test]
fn retries_on_429_500_timeouts_and_garbage_then_succeeds() {
    let server = scripted();
    let client = Client::new(config(&server.base_url, None), None).unwrap();
    for (prompt, attempts) in [
        ("plain q", 1),
        ("rate q", 2),
        ("flaky q", 3),
        ("slow q", 2),
        ("garbage q", 2),
    ] {
        let r = client.complete(&ChatRequest { prompt, png: None }).unwrap();
        assert_eq!(r.text, format!("answer to {prompt}"));
        assert_eq!(r.attempts, attempts, "{prompt}");
        assert!(!r.cached);
    }
    assert_eq!(client.stats.retries.load(Ordering::Relaxed), 5);
    assert_eq!(server.requests(), 10);
}

#[test]
fn gives_up_after_the_retry_budget_and_fails_fast_on_4xx() {
    let server = scripted();
    let client = Client::new(config(&server.base_url, None), None).unwrap();
    let e = client
        .complete(&ChatRequest {
            prompt: "broken q",
            png: None,
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("5 attempts") && e.contains("503"), "{e}");
    assert_eq!(server.requests(), 5);
    let e = client
        .complete(&ChatRequest {
            prompt: "denied q",
            png: None,
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("400"), "{e}");
    assert_eq!(server.requests(), 6);
}

#[test]
fn the_cache_prevents_repeat_requests_across_clients() {
    let server = scripted();
    let dir = tempfile::tempdir().unwrap();
    let png = [137u8, 80, 78, 71, 1, 2, 3];
    {
        let client = Client::new(
            config(&server.base_url, None),
            Some(Cache::open(dir.path()).unwrap()),
        )
        .unwrap();
        for p in ["plain a", "rate b", "plain a"] {
            client
                .complete(&ChatRequest {
                    prompt: p,
                    png: Some(&png),
                })
                .unwrap();
        }
        assert_eq!(client.stats.cache_hits.load(Ordering::Relaxed), 1);
    }
    let sent = server.requests();
    assert_eq!(sent, 3); // plain a, rate b twice
    let client = Client::new(
        config(&server.base_url, None),
        Some(Cache::open(dir.path()).unwrap()),
    )
    .unwrap();
    let r = client
        .complete(&ChatRequest {
            prompt: "rate b",
            png: Some(&png),
        })
        .unwrap();
    assert!(r.cached);
    assert_eq!(r.text, "answer to rate b");
    assert_eq!(server.requests(), sent);
    // A different image is a different request.
    let other = [137u8, 80, 78, 71, 9];
    let r = client
        .complete(&ChatRequest {
            prompt: "rate b",
            png: Some(&other),
        })
        .unwrap();
    assert!(!r.cached);
}

#[test]
fn the_api_key_is_sent_but_never_written_or_shown() {
    const VAR: &str = "MEDFM_ROBUST_TEST_KEY_CLIENT";
    const KEY: &str = "sk-test-Zq81-secret-key-value";
    std::env::set_var(VAR, KEY);
    let server = scripted();
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(
        config(&server.base_url, Some(VAR)),
        Some(Cache::open(dir.path()).unwrap()),
    )
    .unwrap();
    client
        .complete(&ChatRequest {
            prompt: "plain k",
            png: None,
        })
        .unwrap();
    // The server echoes the Authorization header in its error body: the error must not show it.
    let e = client
        .complete(&ChatRequest {
            prompt: "broken k",
            png: None,
        })
        .unwrap_err();
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    let log = server.log.lock().unwrap();
    assert!(log
        .iter()
        .all(|s| s.authorization.as_deref() == Some(&format!("Bearer {KEY}")[..])));
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!text.contains(KEY));
    }
    // A missing variable is named, never a value.
    std::env::remove_var("MEDFM_ROBUST_TEST_KEY_UNSET");
    let e = Client::new(
        config(&server.base_url, Some("MEDFM_ROBUST_TEST_KEY_UNSET")),
        None,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("MEDFM_ROBUST_TEST_KEY_UNSET"));
}

#[test]
fn request_body_carries_the_model_settings() {
    let server = scripted();
    let mut cfg = config(&server.base_url, None);
    cfg.system_prompt = Some("You are an expert medical imaging specialist.".into());
    let client = Client::new(cfg, None).unwrap();
    client
        .complete(&ChatRequest {
            prompt: "plain s",
            png: Some(&[1, 2, 3]),
        })
        .unwrap();
    let log = server.log.lock().unwrap();
    let b = &log[0].body;
    assert_eq!(b["model"], "test/model");
    assert_eq!(b["temperature"], 0.0);
    assert_eq!(b["max_tokens"], 64);
    assert_eq!(b["messages"][0]["role"], "system");
    let url = b["messages"][1]["content"][0]["image_url"]["url"]
        .as_str()
        .unwrap();
    assert_eq!(url, "data:image/png;base64,AQID");
}

#[test]
fn example_model_files_parse() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/models");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let cfg = ModelConfig::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            cfg.box_format().unwrap();
            assert!(cfg.endpoint().ends_with("/chat/completions"));
            n += 1;
        }
    }
    assert!(n >= 5);
}

#[test]
fn unknown_settings_are_rejected() {
    let e = ModelConfig::from_toml_str(
        "name='a'\nbase_url='http://x/v1'\nmodel='m'\napi_key='sk-inline'\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("api_key"), "{e}");
}
