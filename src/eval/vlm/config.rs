//! MODEL.toml: one served model behind an OpenAI-compatible chat-completions endpoint.
//!
//! The API key itself never appears here: only the NAME of the environment variable that holds
//! it (`api_key_env`). The key is read at client construction and kept out of every output,
//! log, cache entry and error message.

use super::parse::BoxFormat;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One model endpoint. Example (examples/models/vllm-medgemma.toml):
/// ```toml
/// name = "medgemma-4b-it"
/// base_url = "http://127.0.0.1:8000/v1"
/// model = "google/medgemma-4b-it"
/// max_tokens = 512
/// box_format = "xyxy-pixel"
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Label used in records and reports.
    pub name: String,
    /// Up to and including `/v1` (Gemini: `.../v1beta/openai`); `/chat/completions` is appended.
    pub base_url: String,
    /// The `model` field of the request.
    pub model: String,
    /// Environment variable holding the API key; omit for local servers that need none.
    #[serde(default)]
    pub api_key_env: Option<String>,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// Sampling temperature (0: greedy, the benchmark's setting).
    #[serde(default)]
    pub temperature: f64,
    /// Send the token limit as `max_completion_tokens` (OpenAI o-series) instead of `max_tokens`.
    #[serde(default)]
    pub max_completion_tokens: bool,
    /// How this model writes boxes (grounding): see [`BoxFormat::parse`].
    #[serde(default)]
    pub box_format: Option<String>,
    /// Optional system message (the authors used "You are an expert medical imaging specialist."
    /// for MedGemma).
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// OpenAI's image `detail` ("low" | "high" | "auto"); omitted when unset.
    #[serde(default)]
    pub image_detail: Option<String>,
    /// Requests in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Seconds before one request is abandoned (and retried).
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Retries after the first attempt (429, 5xx, timeouts, unparsable bodies).
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// First backoff in milliseconds; doubles per retry, capped at 60 s, with jitter.
    #[serde(default = "default_backoff")]
    pub retry_base_ms: u64,
}

fn default_max_tokens() -> u32 {
    512
}
fn default_concurrency() -> usize {
    4
}
fn default_timeout() -> f64 {
    120.0
}
fn default_retries() -> u32 {
    6
}
fn default_backoff() -> u64 {
    1000
}

impl ModelConfig {
    pub fn from_toml_str(text: &str, what: &str) -> Result<Self> {
        let cfg: ModelConfig =
            toml::from_str(text).map_err(|e| Error::invalid(what, e.to_string()))?;
        cfg.validate(what)?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    fn validate(&self, what: &str) -> Result<()> {
        if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
            return Err(Error::invalid(
                what,
                format!(
                    "base_url '{}' must start with http:// or https://",
                    self.base_url
                ),
            ));
        }
        if self.concurrency == 0 {
            return Err(Error::invalid(what, "concurrency must be at least 1"));
        }
        if self.timeout_s.is_nan() || self.timeout_s <= 0.0 {
            return Err(Error::invalid(what, "timeout_s must be positive"));
        }
        if let Some(b) = &self.box_format {
            BoxFormat::parse(b).map_err(|e| Error::invalid(what, e.to_string()))?;
        }
        Ok(())
    }

    /// The chat-completions URL.
    pub fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }

    /// The box convention, defaulting to xyxy in pixels.
    pub fn box_format(&self) -> Result<BoxFormat> {
        match &self.box_format {
            Some(b) => BoxFormat::parse(b),
            None => Ok(BoxFormat::default()),
        }
    }
}
