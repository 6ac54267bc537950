//! Issue 18 (8): a server that echoes the Authorization header must not put the API key on disk
//! or into any reply: the client redacts every reply before the cache and the caller see it.

mod vlm_support;

use medfm_robust::eval::vlm::cache::Cache;
use medfm_robust::eval::vlm::{ChatRequest, Client, ModelConfig};
use vlm_support::{Action, Server};

const VAR: &str = "MEDFM_ROBUST_TEST_KEY_ECHO";
const KEY: &str = "sk-echo-7Hq2-very-secret";

fn config(base_url: &str) -> ModelConfig {
    let text = format!(
        "name = \"echo\"\nbase_url = \"{base_url}\"\nmodel = \"m\"\nmax_tokens = 64\ntimeout_s = 2.0\nmax_retries = 1\nretry_base_ms = 1\napi_key_env = \"{VAR}\"\n"
    );
    ModelConfig::from_toml_str(&text, "test").unwrap()
}

#[test]
fn an_echoing_server_cannot_put_the_key_in_replies_or_the_cache() {
    std::env::set_var(VAR, KEY);
    // Echoes the header (`Bearer <key>`) and the bare key in its answer.
    let server = Server::start(Box::new(|seen| {
        let auth = seen.authorization.clone().unwrap_or_default();
        let bare = auth.trim_start_matches("Bearer ").to_string();
        Action::Reply(format!(
            "B. You sent Authorization: {auth}; key {bare}; box [1, 2, 3, 4]"
        ))
    }));
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(
        config(&server.base_url),
        Some(Cache::open(dir.path()).unwrap()),
    )
    .unwrap();
    let r = client
        .complete(&ChatRequest {
            prompt: "q",
            png: None,
        })
        .unwrap();
    assert!(!r.text.contains(KEY), "{}", r.text);
    assert!(
        r.text.contains("Bearer <redacted>") && r.text.starts_with("B. "),
        "{}",
        r.text
    );
    // The key was really sent.
    assert_eq!(
        server.log.lock().unwrap()[0].authorization.as_deref(),
        Some(&format!("Bearer {KEY}")[..])
    );
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(!text.contains(KEY), "cache holds the key: {text}");
        assert!(text.contains("<redacted>"));
    }
    drop(client);
    // Answered from the cache by a new client: still clean.
    let client = Client::new(
        config(&server.base_url),
        Some(Cache::open(dir.path()).unwrap()),
    )
    .unwrap();
    let r = client
        .complete(&ChatRequest {
            prompt: "q",
            png: None,
        })
        .unwrap();
    assert!(r.cached && !r.text.contains(KEY), "{}", r.text);
}
