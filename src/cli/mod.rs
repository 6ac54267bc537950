//! The `medfm-robust` command line (contract: spec/product.md). `anyhow` lives only here.

use clap::{Parser, Subcommand};

pub mod seg;

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
    /// Evaluate a segmentation model (ONNX, SAM layout or generic) on clean and perturbed images.
    EvalSeg(Box<seg::EvalSegArgs>),
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
        Command::EvalSeg(a) => seg::run_eval_seg(*a),
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
