//! VLM evaluation over OpenAI-compatible chat-completions APIs (spec/evaluation.md, "VLMs").
//!
//! Pieces, top to bottom: [`config`] (MODEL.toml), [`client`] (requests, retries, timeouts),
//! [`cache`] (on-disk responses), [`tasks`] (OmniMedVQA, ROCOv2, grounding readers and seeded
//! sampling), [`prompts`] (default and the authors' compat prompts), [`parse`] (answer letters,
//! boxes, IoU), [`images`] (what is sent), [`demo_server`] (the built-in rule-based demo endpoint).
//! The loop, records and summary are the pipeline's (crate::run, crate::run::vlm_eval). Captioning metrics live in [`crate::metrics::caption`].

pub mod cache;
pub mod client;
pub mod config;
pub mod demo_server;
pub mod images;
pub mod parse;
pub mod prompts;
pub mod tasks;

pub use client::{ChatRequest, Client, Reply};
pub use config::ModelConfig;
pub use prompts::Compat;
pub use tasks::Task;
