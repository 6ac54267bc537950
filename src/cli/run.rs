//! `medfm-robust run CONFIG --out DIR [--dry-run] [--shard i/N] [--restart]`, `merge DIR... --out
//! DIR`, `report DIR --out DIR`, and the built-in demo benchmark ([`run_demo_benchmark`]).

use super::{progress, Global};
use crate::io;
use crate::perturb::{self, Category, Modality};
use crate::phantom;
use crate::run::config::{Config, DatasetConfig, ModelConfig, Profile};
use crate::run::{exec, merge, Shard};
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The benchmark config (TOML; see examples/bench.toml).
    pub config: PathBuf,
    /// Output folder: records.jsonl, run.json. Rerunning the same command resumes.
    #[arg(long)]
    pub out: PathBuf,
    /// Print the plan (units per model and dataset) and a time estimate; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run shard i of N (0-based). Default: SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or
    /// JOB_COMPLETION_INDEX with MEDFM_ROBUST_SHARD_COUNT, else everything.
    #[arg(long)]
    pub shard: Option<String>,
    /// Discard the records of a different earlier config in --out and start over.
    #[arg(long)]
    pub restart: bool,
    /// Also write the report into OUT/report when the run is complete.
    #[arg(long)]
    pub report: bool,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// Shard output folders of one run.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Merged output folder.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(clap::Args)]
pub struct ReportArgs {
    /// A run output folder (records.jsonl and run.json).
    pub dir: PathBuf,
    /// Where to write the tables, figures and report.html (default: DIR/report).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also report the corruption error (CE, mCE, relative mCE) of every model relative to this
    /// one (MODEL, or MODEL/STRATEGY when the model has several strategies).
    #[arg(long, value_name = "MODEL[/STRATEGY]")]
    pub baseline: Option<String>,
    /// Bootstrap replicates per interval (0: no intervals).
    #[arg(long, value_name = "B", default_value_t = crate::stats::bootstrap::DEFAULT_REPLICATES)]
    pub bootstrap: usize,
    /// Seed of the bootstrap resampling and the sign-flip tests (same records + seed = same report).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub stats_seed: u64,
}

fn shard(arg: Option<&str>) -> anyhow::Result<Shard> {
    Ok(match arg {
        Some(s) => Shard::parse(s)?,
        None => Shard::from_env(|k| std::env::var(k).ok())?.unwrap_or(Shard::ALL),
    })
}

pub fn run(a: RunArgs, g: Global) -> anyhow::Result<i32> {
    let config = Config::load(&a.config)?;
    let shard = shard(a.shard.as_deref())?;
    run_config(&config, &a.out, shard, a.restart, a.dry_run, a.report, g.quiet)
}

fn run_config(config: &Config, out: &Path, shard: Shard, restart: bool, dry_run: bool, report: bool, quiet: bool) -> anyhow::Result<i32> {
    let (plan, mut evaluators) = exec::validate(config)?;
    if dry_run {
        print!("{}", exec::dry_run(&plan, &mut evaluators, out, shard, 1)?);
        return Ok(0);
    }
    let pb = progress::bar(quiet, "run");
    let cb = |done: u64, total: u64| {
        if pb.length() != Some(total) {
            pb.set_length(total);
        }
        pb.set_position(done);
    };
    let opts = exec::RunOptions { out: out.to_path_buf(), shard, restart, batch: 2 * rayon::current_num_threads() };
    let s = exec::execute(&plan, &mut evaluators, &opts, &cb)?;
    pb.finish_and_clear();
    if !quiet {
        eprintln!(
            "run: shard {shard}: {} units in shard ({} of the run), {} already done, {} run now, {} failed -> {}",
            s.units_in_shard,
            s.units_total,
            s.already_done,
            s.ran,
            s.failed,
            s.records_file.display()
        );
    }
    if report && shard.count == 1 {
        let rs = crate::report::write_report(out, &out.join("report"))?;
        if !quiet {
            eprintln!("report: {} records -> {}", rs.records, out.join("report").display());
        }
    }
    Ok(if s.failed > 0 { 3 } else { 0 })
}

pub fn merge(a: MergeArgs, _g: Global) -> anyhow::Result<i32> {
    let s = merge::merge(&a.dirs, &a.out)?;
    println!("merged {} records ({} failed) into {}", s.records, s.failed, a.out.join("records.jsonl").display());
    if let Some(n) = &s.plan_note {
        eprintln!("warning: {n}");
    }
    if !s.missing.is_empty() {
        eprintln!("{} unit(s) missing (listed in {}), e.g.:", s.missing.len(), a.out.join("missing_units.txt").display());
        for u in s.missing.iter().take(10) {
            eprintln!("  {u}");
        }
        return Ok(4);
    }
    Ok(0)
}

pub fn report(a: ReportArgs, _g: Global) -> anyhow::Result<i32> {
    let out = a.out.unwrap_or_else(|| a.dir.join("report"));
    let baseline = a.baseline.as_deref().map(crate::report::inference::Baseline::parse).transpose()?;
    let opts = crate::report::inference::StatsOptions { replicates: a.bootstrap, seed: a.stats_seed, baseline, ..Default::default() };
    let s = crate::report::write_report_with(&a.dir, &out, &opts)?;
    println!("report: {} records ({} with errors left out) -> {}", s.records, s.errors, out.display());
    Ok(0)
}

/// Phantom size and count of the demo benchmark.
const DEMO_SIZE: usize = 96;
const DEMO_SAMPLES: u64 = 2;

/// The built-in benchmark config over phantom datasets written under `data` (one dataset per
/// modality, [`DEMO_SAMPLES`] phantoms each), with the two built-in stand-in models as two
/// "strategies", two base perturbations and one medical perturbation per modality, levels 1-5.
pub fn demo_config(data: &Path) -> anyhow::Result<Config> {
    // Noise and blur when the catalogue has them (they move a threshold segmenter visibly), else
    // the first two non-geometric base perturbations.
    let mut base: Vec<&str> = ["gaussian_noise", "gaussian_blur"].into_iter().filter(|id| perturb::by_id(id).is_ok()).collect();
    if base.len() < 2 {
        base = perturb::all().iter().filter(|p| p.info().category == Category::Base && !p.info().geometric).map(|p| p.id()).take(2).collect();
    }
    let mut datasets = Vec::new();
    for m in Modality::ALL {
        let mut sel: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        if let Some(p) = perturb::all().iter().find(|p| p.info().category == Category::Medical && p.info().modality == Some(m)) {
            sel.push(p.id().to_string());
        }
        if sel.is_empty() {
            continue;
        }
        datasets.push(DatasetConfig {
            name: format!("phantom-{m}"),
            path: data.join(m.as_str()),
            reader: "generic".into(),
            modality: m.as_str().into(),
            limit: None,
            masks: None,
            perturbations: Some(sel),
        });
    }
    anyhow::ensure!(!datasets.is_empty(), "the perturbation catalogue is empty: nothing to benchmark");
    let model = |strategy: &str, preset: &str| ModelConfig {
        name: "demo-threshold".into(),
        strategy: strategy.into(),
        preset: preset.into(),
        graphs: BTreeMap::new(),
        task: "segmentation".into(),
    };
    Ok(Config {
        name: "demo".into(),
        seed: 0,
        profile: Profile::Default,
        device: "cpu".into(),
        levels: vec![1, 2, 3, 4, 5],
        perturbations: vec!["all".into()],
        max_evals_per_band: 20,
        datasets,
        models: vec![model("full", "builtin-threshold"), model("adapter", "builtin-threshold-smoothed")],
    })
}

/// Write the demo phantoms (`data/<modality>/{images,masks}/<k>.png`); existing files are kept,
/// so a rerun resumes on identical inputs.
pub fn write_demo_data(data: &Path) -> anyhow::Result<()> {
    for m in Modality::ALL {
        for k in 0..DEMO_SAMPLES {
            let img = data.join(m.as_str()).join("images").join(format!("{k}.png"));
            let mask = data.join(m.as_str()).join("masks").join(format!("{k}.png"));
            if img.is_file() && mask.is_file() {
                continue;
            }
            let ph = phantom::phantom(m, DEMO_SIZE, DEMO_SIZE, phantom::natural_channels(m), k);
            io::write_image(&img, &ph.image, crate::BitDepth::U8, io::Format::Png)?;
            io::write_mask(&mask, &ph.mask)?;
        }
    }
    Ok(())
}

/// The demo benchmark end to end into `out`: phantoms as datasets, the built-in config (also
/// written as OUT/bench.toml), the run (resumes when `out` holds an earlier demo run), and the
/// report in OUT/report. Returns the exit code.
pub fn run_demo_benchmark(out: &Path, quiet: bool) -> anyhow::Result<i32> {
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    let out = &out.canonicalize().with_context(|| out.display().to_string())?;
    let data = out.join("data");
    write_demo_data(&data)?;
    let config = demo_config(&data)?;
    let toml = toml::to_string_pretty(&config).context("demo config as TOML")?;
    io::write_atomic(&out.join("bench.toml"), toml.as_bytes())?;
    let code = run_config(&config, out, Shard::ALL, false, false, true, quiet)?;
    println!("demo benchmark output: {}", out.display());
    Ok(code)
}
