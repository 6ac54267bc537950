//! The config-driven benchmark (`medfm-robust run`, `merge`): work units, resumable append-only
//! records, sharding (spec/product.md "Architecture" 8; notes/ecosystem-research.md section 6).
//!
//! - [`config`]: the TOML config and its validation;
//! - [`units`]: work units, stable ids, shards (`--shard i/N`, Slurm / Kubernetes environment);
//! - [`data`]: dataset listing;
//! - [`eval`]: the [`eval::UnitEvaluator`] trait, segmentation over any [`eval::Segmenter`], the
//!   built-in stand-in segmenters;
//! - [`records`]: records.jsonl (atomic flushed appends, torn-line tolerant);
//! - [`meta`]: run.json (config hash, provenance);
//! - [`device`]: the config's `device`, resolved once before any work into the engine and the
//!   ONNX Runtime provider;
//! - [`exec`]: validation pass, resume, the group loop, dry run;
//! - [`merge`]: combining shard outputs.

pub mod config;
pub mod data;
pub mod demo;
pub mod device;
pub mod eval;
pub mod exec;
pub mod merge;
pub mod meta;
pub mod records;
pub mod units;
pub mod vlm_eval;

pub use config::{Config, Profile};
pub use exec::{execute, validate, Plan, RunOptions, RunSummary};
pub use records::Record;
pub use units::{Shard, Unit};
