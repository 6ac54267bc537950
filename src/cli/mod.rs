//! The `medfm-robust` command line (contract: spec/product.md). `anyhow` lives only here; the
//! library holds no CLI code. Exit codes: [`exit`].

mod args;
mod demo;
pub mod exit;
mod gallery;
mod list;
mod perturb;
mod phantom;
mod progress;
mod run;
mod seg;
mod ssim;
mod vlm;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "medfm-robust",
    version,
    about = "Robustness benchmark for medical foundation models: SSIM-calibrated medical image perturbations and model evaluation",
    after_help = exit::TABLE
)]
pub struct Cli {
    /// No progress bars or chatter on stderr (errors are still printed).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, short = 'j', global = true)]
    pub jobs: Option<usize>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// The perturbation catalogue.
    List(list::ListArgs),
    /// SSIM of two images, printed as one number.
    Ssim(ssim::SsimArgs),
    /// Write SSIM-calibrated perturbed copies of a dataset with a manifest.
    Perturb(perturb::PerturbArgs),
    /// The whole pipeline on built-in phantoms: no arguments, no network.
    Demo(demo::DemoArgs),
    /// A labelled grid of one modality's perturbations at clean and L1..L5.
    Gallery(gallery::GalleryArgs),
    /// Write a built-in phantom image (and its mask).
    Phantom(phantom::PhantomArgs),
    /// Run (or resume) a benchmark config: records.jsonl in --out.
    Run(run::RunArgs),
    /// Combine shard output folders of one run.
    Merge(run::MergeArgs),
    /// Tables, figures and report.html from a run output folder.
    Report(run::ReportArgs),
    /// Evaluate a segmentation model (ONNX, SAM layout or generic) on clean and perturbed images.
    EvalSeg(Box<seg::EvalSegArgs>),
    /// Evaluate a VLM over an OpenAI-compatible API, clean and perturbed (docs/vlm.md).
    EvalVlm(Box<vlm::EvalVlmArgs>),
    /// BLEU-1..4, ROUGE-L, CIDEr-D of a JSON Lines file (id, prediction, references) as JSON.
    CaptionMetrics(vlm::CaptionMetricsArgs),
}

/// Shared options for anything that prints progress.
#[derive(Clone, Copy)]
pub struct Global {
    pub quiet: bool,
}

/// Entry point: returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => exit::OK,
                _ => exit::SETUP,
            };
            let _ = e.print();
            return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                exit::SETUP
            } else {
                code
            };
        }
    };
    if let Some(j) = cli.jobs {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(j.max(1))
            .build_global()
        {
            eprintln!("error: --jobs: {e}");
            return exit::SETUP;
        }
    }
    let g = Global { quiet: cli.quiet };
    let res = match cli.command {
        Command::List(a) => list::run(a),
        Command::Ssim(a) => ssim::run(a),
        Command::Perturb(a) => perturb::run(a, g),
        Command::Demo(a) => demo::run(a, g),
        Command::Gallery(a) => gallery::run(a, g),
        Command::Phantom(a) => phantom::run(a),
        Command::Run(a) => run::run(a, g),
        Command::Merge(a) => run::merge(a, g),
        Command::Report(a) => run::report(a, g),
        Command::EvalSeg(a) => seg::run_eval_seg(*a, g),
        Command::EvalVlm(a) => vlm::run_eval_vlm(*a, g),
        Command::CaptionMetrics(a) => vlm::run_caption_metrics(a),
    };
    match res {
        Ok(code) => code,
        Err(e) => {
            let e: &(dyn std::error::Error + 'static) = e.as_ref();
            eprintln!("error: {}", medfm_robust::error::chain_message(e));
            exit::SETUP
        }
    }
}
