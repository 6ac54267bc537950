//! VLM evaluation over OpenAI-compatible chat-completions APIs (spec/evaluation.md, "VLMs").
//!
//! Pieces, top to bottom: [`config`] (MODEL.toml), [`client`] (requests, retries, timeouts),
//! [`cache`] (on-disk responses), [`tasks`] (OmniMedVQA, ROCOv2, grounding readers and seeded
//! sampling), [`prompts`] (default and the authors' compat prompts), [`parse`] (answer letters,
//! boxes, IoU), [`images`] (what is sent), [`levels`] (perturbed inputs), [`run`] (the loop,
//! records and summary). Captioning metrics live in [`crate::metrics::caption`].

pub mod cache;
pub mod client;
pub mod config;
pub mod images;
pub mod levels;
pub mod parse;
pub mod prompts;
pub mod run;
pub mod tasks;

pub use client::{ChatRequest, Client, Reply};
pub use config::ModelConfig;
pub use levels::Strengths;
pub use prompts::Compat;
pub use run::{run, RunOptions, RunSummary};
pub use tasks::Task;
