//! The `medfm-robust` command line (contract: spec/product.md). `anyhow` lives only here.

use clap::{Parser, Subcommand};

pub mod vlm;

#[derive(Parser)]
#[command(name = "medfm-robust", version, about = "Robustness benchmark for medical foundation models")]
pub struct Cli {
    /// No progress bars or chatter on stderr (errors are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// The perturbation catalogue.
    List(ListArgs),
    /// Evaluate a VLM over an OpenAI-compatible API, clean and perturbed (docs/vlm.md).
    EvalVlm(vlm::EvalVlmArgs),
    /// BLEU-1..4, ROUGE-L, CIDEr-D of a JSON Lines file (id, prediction, references) as JSON.
    CaptionMetrics(vlm::CaptionMetricsArgs),
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// Only base perturbations plus this modality's.
    #[arg(long)]
    pub modality: Option<String>,
    /// JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Entry point: returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let res = match cli.command {
        Command::List(a) => list(a),
        Command::EvalVlm(a) => vlm::run_eval_vlm(a, cli.quiet),
        Command::CaptionMetrics(a) => vlm::run_caption_metrics(a),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn list(_a: ListArgs) -> anyhow::Result<i32> {
    Ok(0)
}
