//! `medfm-robust run CONFIG --out DIR [--dry-run] [--shard i/N] [--restart]`, `merge DIR... --out
//! DIR`, `report DIR --out DIR`, the built-in demo benchmark ([`run_demo_benchmark`]), and
//! [`run_config`], the one place every front-end (run, eval-seg, eval-vlm, demo) runs units.

use super::{exit, progress, Global};
use anyhow::Context;
use medfm_robust::io;
use medfm_robust::run::config::Config;
use medfm_robust::run::{demo, exec, merge, records, Shard};
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
    /// Write the report of an incomplete run (units of the plan without records) and exit 0;
    /// without it such a report is still written, marked incomplete, and the exit code is 2.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Also report the corruption error (CE, mCE, relative mCE) of every model relative to this
    /// one (MODEL, or MODEL/STRATEGY when the model has several strategies).
    #[arg(long, value_name = "MODEL[/STRATEGY]")]
    pub baseline: Option<String>,
    /// Bootstrap replicates per interval (0: no intervals).
    #[arg(long, value_name = "B", default_value_t = medfm_robust::stats::bootstrap::DEFAULT_REPLICATES)]
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
    run_config(
        &config, &a.out, shard, a.restart, a.dry_run, a.report, g.quiet,
    )
}

/// Run `config` into `out` (validation, resume, shard), print the summary; the exit code of the
/// table in [`super::exit`]. Every front-end that runs units ends here.
pub fn run_config(
    config: &Config,
    out: &Path,
    shard: Shard,
    restart: bool,
    dry_run: bool,
    report: bool,
    quiet: bool,
) -> anyhow::Result<i32> {
    // the engine and provider first: a device that cannot be had stops here, before any work
    // (a misspelt one is reported by the validation, with every other problem of the config)
    let device = match medfm_robust::run::config::check_device(&config.device) {
        Ok(()) => Some(medfm_robust::run::device::resolve(&config.device)?),
        Err(_) => None,
    };
    if let (Some(note), false) = (device.as_ref().and_then(|d| d.note.as_ref()), quiet) {
        eprintln!("{note}");
    }
    let provider = device
        .as_ref()
        .map_or(config.device.as_str(), |d| d.provider.as_str());
    let (plan, mut evaluators) = exec::validate_for(config, out, provider)?;
    if dry_run {
        print!("{}", exec::dry_run(&plan, &mut evaluators, out, shard, 1)?);
        return Ok(exit::OK);
    }
    let pb = progress::bar(quiet, &config.name);
    let cb = |done: u64, total: u64| {
        if pb.length() != Some(total) {
            pb.set_length(total);
        }
        pb.set_position(done);
    };
    let opts = exec::RunOptions {
        out: out.to_path_buf(),
        shard,
        restart,
        batch: 2 * rayon::current_num_threads().max(4),
        strength_cache: None,
    };
    let t0 = std::time::Instant::now();
    let engine = device.map_or(medfm_robust::backend::Engine::Cpu, |d| d.engine);
    let s = exec::execute_on(&plan, &mut evaluators, &opts, &engine, &cb)?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    if !quiet {
        if s.changed > 0 {
            eprintln!(
                "run: {} unit(s) rerun because their sample's files changed since their records",
                s.changed
            );
        }
        eprintln!(
            "run: shard {shard}: {} units in shard ({} of the run), {} already done, {} run now in {secs:.1} s, {} failed -> {}",
            s.units_in_shard,
            s.units_total,
            s.already_done,
            s.ran,
            s.failed,
            s.records_file.display()
        );
    }
    let recs: Vec<medfm_robust::run::Record> = records::load_dir(out)?.into_values().collect();
    print!("{}", medfm_robust::report::tasks::summary_text(&recs));
    let failed = recs.iter().filter(|r| !r.ok()).count();
    if report && shard.count == 1 {
        let rs = medfm_robust::report::write_report(out, &out.join("report"))?;
        if !quiet {
            eprintln!(
                "report: {} records -> {}",
                rs.records,
                out.join("report").display()
            );
        }
    }
    Ok(if failed > 0 {
        exit::UNITS_FAILED
    } else {
        exit::OK
    })
}

pub fn merge(a: MergeArgs, _g: Global) -> anyhow::Result<i32> {
    let s = merge::merge(&a.dirs, &a.out)?;
    println!(
        "merged {} records ({} failed) into {}",
        s.records,
        s.failed,
        a.out.join("records.jsonl").display()
    );
    if let Some(n) = &s.plan_note {
        eprintln!("warning: {n}");
    }
    if !s.missing.is_empty() {
        eprintln!(
            "{} unit(s) missing (listed in {}), e.g.:",
            s.missing.len(),
            a.out.join("missing_units.txt").display()
        );
        for u in s.missing.iter().take(10) {
            eprintln!("  {u}");
        }
        return Ok(exit::MISSING);
    }
    Ok(if s.failed > 0 {
        exit::UNITS_FAILED
    } else {
        exit::OK
    })
}

pub fn report(a: ReportArgs, _g: Global) -> anyhow::Result<i32> {
    let out = a.out.unwrap_or_else(|| a.dir.join("report"));
    let baseline = a
        .baseline
        .as_deref()
        .map(medfm_robust::report::inference::Baseline::parse)
        .transpose()?;
    let opts = medfm_robust::report::inference::StatsOptions {
        replicates: a.bootstrap,
        seed: a.stats_seed,
        baseline,
        ..Default::default()
    };
    let s = medfm_robust::report::write_report_with(&a.dir, &out, &opts)?;
    println!(
        "report: {} records ({} with errors left out) -> {}",
        s.records,
        s.errors,
        out.display()
    );
    if let Some(n) = &s.completeness_note {
        eprintln!("warning: {n}");
    }
    if let Some(line) = s.incomplete() {
        eprintln!("{line}");
        if !a.allow_incomplete {
            eprintln!("(exit 2: the run is incomplete; run the missing shards and merge, or pass --allow-incomplete to accept a partial report)");
            return Ok(exit::UNITS_FAILED);
        }
    }
    Ok(exit::OK)
}

/// The demo benchmark end to end into `out`: phantoms as datasets for all four tasks, the
/// built-in demo VLM served on 127.0.0.1 for VQA, captioning and grounding, the built-in config
/// (also written as OUT/bench.toml), the run (resumes when `out` holds an earlier demo run), and
/// the report in OUT/report, with the config's `device` set to `device` (so `demo --device cuda`
/// runs the benchmark's strength search on the GPU). Returns the exit code.
pub fn run_demo_benchmark(out: &Path, device: &str, quiet: bool) -> anyhow::Result<i32> {
    std::fs::create_dir_all(out).with_context(|| out.display().to_string())?;
    let out = &out
        .canonicalize()
        .with_context(|| out.display().to_string())?;
    let data = out.join("data");
    demo::write_data(&data)?;
    let server = medfm_robust::eval::vlm::demo_server::DemoServer::start()?;
    let toml_path = data.join("demo_vlm.toml");
    io::write_atomic(&toml_path, server.model_toml().as_bytes())?;
    let mut config = demo::config(&data, Some(&toml_path))?;
    config.device = device.to_string();
    let toml = toml::to_string_pretty(&config).context("demo config as TOML")?;
    io::write_atomic(&out.join("bench.toml"), toml.as_bytes())?;
    if !quiet {
        eprintln!(
            "demo: segmentation by built-in threshold segmenters; VQA, captioning and grounding by the built-in rule-based demo VLM ({}) on {} (not trained models)",
            medfm_robust::eval::vlm::demo_server::MODEL,
            server.base_url
        );
    }
    let code = run_config(&config, out, Shard::ALL, false, false, true, quiet)?;
    println!("demo benchmark output: {}", out.display());
    Ok(code)
}
