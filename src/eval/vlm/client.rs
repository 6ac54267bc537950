//! A blocking chat-completions client for OpenAI-compatible servers (vLLM, Ollama, llama.cpp
//! server, SGLang, OpenAI, Gemini's OpenAI endpoint).
//!
//! Contract:
//! - one request = one user turn (image first as a base64 PNG data URL, then the text), an optional
//!   system turn, `temperature` and the token limit from the [`ModelConfig`];
//! - retried with exponential backoff and jitter on HTTP 429 and 5xx, transport errors (timeouts,
//!   refused or reset connections) and bodies that are not a chat-completions reply; `Retry-After`
//!   (seconds) is honoured up to 60 s; other 4xx fail at once;
//! - successful replies go to the [`Cache`]; a cached request is never sent again;
//! - the API key is sent only in the `Authorization` header; it is never stored in a struct that
//!   derives `Debug`, never formatted into an error, and never part of a cache key; every reply
//!   and error text is redacted (the key, hence `Bearer <key>`, becomes `<redacted>`) before it
//!   is cached or returned, so a server that echoes the header cannot put the key on disk.
//!
//! The jitter is deterministic (a hash of the request key and the attempt), so runs are
//! reproducible and concurrent requests still spread out.

use super::cache::{self, Cache};
use super::config::ModelConfig;
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One request: optional image (PNG bytes) and the prompt text.
pub struct ChatRequest<'a> {
    pub prompt: &'a str,
    pub png: Option<&'a [u8]>,
}

/// A reply and how it was obtained.
#[derive(Clone, Debug)]
pub struct Reply {
    pub text: String,
    /// Answered from the cache (no request sent).
    pub cached: bool,
    /// Requests sent for this reply (0 when cached).
    pub attempts: u32,
}

/// Counters for the summary and the tests.
#[derive(Default, Debug)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub cache_hits: AtomicU64,
    pub failures: AtomicU64,
}

struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

pub struct Client {
    cfg: ModelConfig,
    key: Option<ApiKey>,
    agent: ureq::Agent,
    cache: Option<Cache>,
    pub stats: Stats,
}

enum Attempt {
    Done(String),
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Fail(String),
}

impl Client {
    /// Build a client; reads the API key from the environment variable named by `api_key_env`
    /// (an error naming the variable, never its value, when it is unset).
    pub fn new(cfg: ModelConfig, cache: Option<Cache>) -> Result<Self> {
        let key = match &cfg.api_key_env {
            Some(var) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Some(ApiKey(v)),
                _ => {
                    return Err(Error::invalid(
                        format!("model {}", cfg.name),
                        format!("environment variable {var} (api_key_env) is not set"),
                    ))
                }
            },
            None => None,
        };
        let timeout = Duration::from_secs_f64(cfg.timeout_s);
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout.min(Duration::from_secs(30)))
            .timeout(timeout)
            .user_agent(concat!("medfm-robust/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            cfg,
            key,
            agent,
            cache,
            stats: Stats::default(),
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The cache key of a request (also used to seed its jitter).
    pub fn cache_key(&self, req: &ChatRequest) -> String {
        let image_hash = req.png.map(cache::sha256_hex).unwrap_or_default();
        let params = format!(
            "t={};max={};mct={};detail={}",
            self.cfg.temperature,
            self.cfg.max_tokens,
            self.cfg.max_completion_tokens,
            self.cfg.image_detail.as_deref().unwrap_or("")
        );
        cache::key(&[
            &self.cfg.model,
            self.cfg.system_prompt.as_deref().unwrap_or(""),
            req.prompt,
            &image_hash,
            &params,
        ])
    }

    /// Send (or answer from the cache) one request, retrying as the module docs say.
    pub fn complete(&self, req: &ChatRequest) -> Result<Reply> {
        let key = self.cache_key(req);
        if let Some(c) = &self.cache {
            if let Some(text) = c.get(&key) {
                self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Reply {
                    text: self.redact(text),
                    cached: true,
                    attempts: 0,
                });
            }
        }
        let body = self.body(req).to_string();
        let what = format!("model {}", self.cfg.name);
        let mut last = String::new();
        for attempt in 0..=self.cfg.max_retries {
            if attempt > 0 {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            match self.send(&body) {
                Attempt::Done(text) => {
                    // A server that echoes the request headers must not put the key on disk: the
                    // reply is redacted before the cache and any record sees it.
                    let text = self.redact(text);
                    if let Some(c) = &self.cache {
                        c.put(&key, &self.cfg.model, &text)?;
                    }
                    return Ok(Reply {
                        text,
                        cached: false,
                        attempts: attempt + 1,
                    });
                }
                Attempt::Fail(why) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(Error::other(what, self.redact(why)));
                }
                Attempt::Retry { why, after } => {
                    last = self.redact(why);
                    if attempt < self.cfg.max_retries {
                        std::thread::sleep(after.unwrap_or_else(|| self.backoff(&key, attempt)));
                    }
                }
            }
        }
        self.stats.failures.fetch_add(1, Ordering::Relaxed);
        Err(Error::other(
            what,
            format!(
                "gave up after {} attempts: {last}",
                self.cfg.max_retries + 1
            ),
        ))
    }

    /// Remove the key from a message (a server may echo it back in an error body).
    fn redact(&self, s: String) -> String {
        match &self.key {
            Some(k) if !k.0.is_empty() => s.replace(&k.0, "<redacted>"),
            _ => s,
        }
    }

    /// Backoff before retry `attempt + 1`: base * 2^attempt, capped at 60 s, times a jitter factor
    /// in [0.5, 1.0) drawn from a hash of (request key, attempt).
    fn backoff(&self, key: &str, attempt: u32) -> Duration {
        let base = self.cfg.retry_base_ms as f64 * 2f64.powi(attempt.min(20) as i32);
        let capped = base.min(60_000.0);
        let h = cache::key(&[key, &attempt.to_string()]);
        let bits = u64::from_str_radix(&h[..16], 16).unwrap_or(0);
        let jitter = 0.5 + 0.5 * (bits >> 11) as f64 / (1u64 << 53) as f64;
        Duration::from_secs_f64(capped * jitter / 1000.0)
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let mut content = Vec::new();
        if let Some(png) = req.png {
            let mut image_url = json!({ "url": png_data_url(png) });
            if let Some(d) = &self.cfg.image_detail {
                image_url["detail"] = json!(d);
            }
            content.push(json!({ "type": "image_url", "image_url": image_url }));
        }
        content.push(json!({ "type": "text", "text": req.prompt }));
        let mut messages = Vec::new();
        if let Some(s) = &self.cfg.system_prompt {
            messages.push(json!({ "role": "system", "content": s }));
        }
        messages.push(json!({ "role": "user", "content": content }));
        let limit_field = if self.cfg.max_completion_tokens {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        let mut body = json!({
            "model": self.cfg.model,
            "messages": messages,
            "temperature": self.cfg.temperature,
            "stream": false,
        });
        body[limit_field] = json!(self.cfg.max_tokens);
        body
    }

    fn send(&self, body: &str) -> Attempt {
        let mut r = self
            .agent
            .post(&self.cfg.endpoint())
            .set("Content-Type", "application/json");
        if let Some(k) = &self.key {
            r = r.set("Authorization", &format!("Bearer {}", k.0));
        }
        match r.send_string(body) {
            Ok(resp) => match resp.into_string() {
                Ok(text) => match reply_text(&text) {
                    Some(t) => Attempt::Done(t),
                    None => Attempt::Retry {
                        why: format!("unparsable reply: {}", snippet(&text)),
                        after: None,
                    },
                },
                Err(e) => Attempt::Retry {
                    why: format!("reading the reply: {e}"),
                    after: None,
                },
            },
            Err(ureq::Error::Status(code, resp)) => {
                let after = resp
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| Duration::from_secs_f64(s.min(60.0)));
                let text = resp.into_string().unwrap_or_default();
                let why = format!("HTTP {code}: {}", snippet(&text));
                if code == 429 || code >= 500 {
                    Attempt::Retry { why, after }
                } else {
                    Attempt::Fail(why)
                }
            }
            Err(ureq::Error::Transport(t)) => match t.kind() {
                ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => {
                    Attempt::Fail(t.to_string())
                }
                _ => Attempt::Retry {
                    why: format!("transport: {t}"),
                    after: None,
                },
            },
        }
    }
}

/// `choices[0].message.content` of a chat-completions reply (a string, or a list of text parts).
pub fn reply_text(body: &str) -> Option<String> {
    let v: Value = serde_json::from_str(body).ok()?;
    let content = v.get("choices")?.get(0)?.get("message")?.get("content")?;
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
        ),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// `data:image/png;base64,...`
pub fn png_data_url(png: &[u8]) -> String {
    use base64::Engine;
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

/// At most 200 characters of a server reply for error messages.
fn snippet(s: &str) -> String {
    let t: String = s.chars().take(200).collect();
    t.replace('\n', " ")
}

/// Total requests sent so far (for summaries).
pub fn requests_sent(c: &Client) -> u64 {
    c.stats.requests.load(Ordering::Relaxed)
}
