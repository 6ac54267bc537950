//! `medfm-robust demo`: the whole pipeline on built-in phantoms, no arguments, no network.
//! Writes the phantoms (one per modality, with masks), their SSIM-calibrated perturbations at
//! L1..L5 with a manifest, an SSIM table (printed and as Markdown) and one labelled contact sheet
//! per modality; then the built-in demo segmentation model (a classical box-prompted segmenter in
//! SAM's two-graph ONNX layout, see docs/segmentation.md) on the phantoms, clean and perturbed,
//! through ONNX Runtime, with its IoU/Dice summary; then the full benchmark on the built-in config
//! (`benchmark/`: records.jsonl, summary.csv, table1.{md,tex,csv}, figures, report.html), which
//! resumes when `demo --out DIR` is rerun on the same folder.

use super::{perturb::report, progress, Global};
use anyhow::Context;
use medfm_robust::generate::{self, CalibrationMode, GenerateOptions, Record};
use medfm_robust::io;
use medfm_robust::perturb::{self, Modality};
use medfm_robust::phantom;
use medfm_robust::ssim::SsimVariant;
use medfm_robust::viz::contact::{self, Sheet, Tile};
use medfm_robust::viz::gallery::caption;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Output folder (default: a new `medfm-robust-demo[-N]` folder in the current directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Phantom size in pixels.
    #[arg(long, default_value_t = 160)]
    pub size: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Compute device for the strength search: cpu, cuda, or auto (cuda when compiled in and a GPU
    /// is present).
    #[arg(long, default_value = "cpu", value_parser = super::args::DeviceArg::parse)]
    pub device: super::args::DeviceArg,
}

/// `--size` range: below 64 some perturbations cannot reach their bands on a phantom; above 1024
/// the demo (8 modalities x every perturbation x 5 levels) runs for hours.
const DEMO_MIN_SIZE: u64 = 64;
const DEMO_MAX_SIZE: u64 = 1024;

fn fresh_dir() -> PathBuf {
    let base = PathBuf::from("medfm-robust-demo");
    if !base.exists() {
        return base;
    }
    (2..)
        .map(|i| PathBuf::from(format!("medfm-robust-demo-{i}")))
        .find(|p| !p.exists())
        .unwrap_or(base)
}

pub fn run(a: DemoArgs, g: Global) -> anyhow::Result<i32> {
    medfm_robust::Error::check_range("--size", a.size as u64, DEMO_MIN_SIZE, DEMO_MAX_SIZE)?;
    let engine = super::perturb::select_engine(&a.device, g.quiet)?;
    let out = a.out.clone().unwrap_or_else(fresh_dir);
    let input = out.join("input");
    let mut manifest = String::new();
    for m in Modality::ALL {
        let ph = phantom::try_phantom(m, a.size, a.size, phantom::natural_channels(m), a.seed)?;
        let img_rel = format!("{m}.png");
        let mask_rel = format!("masks/{m}.png");
        io::write_image(
            &input.join(&img_rel),
            &ph.image,
            medfm_robust::BitDepth::U8,
            io::Format::Png,
        )?;
        io::write_mask(&input.join(&mask_rel), &ph.mask)?;
        writeln!(
            manifest,
            "{}",
            serde_json::json!({"image": img_rel, "mask": mask_rel, "modality": m.as_str()})
        )?;
    }
    let manifest_path = input.join("manifest.jsonl");
    io::write_atomic(&manifest_path, manifest.as_bytes())?;

    let items = io::list_inputs(&manifest_path, None, None)?.items;
    let perturbed = out.join("perturbed");
    let opts = GenerateOptions {
        out: perturbed.clone(),
        perturbations: "all".into(),
        modality: None,
        levels: vec![1, 2, 3, 4, 5],
        seed: a.seed,
        variant: SsimVariant::Wang,
        calibration: CalibrationMode::PerImage,
        calibration_images: 1,
        strength_cache: None,
        write_out_of_band: true,
        max_evals_per_band: 20,
        restart: false,
    };
    let pb = progress::bar(g.quiet, "demo");
    let cb = progress::callback(&pb);
    let t0 = std::time::Instant::now();
    let summary = generate::generate_on(&items, &opts, &engine, &cb)?;
    pb.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();

    let table = ssim_table(&summary.records);
    println!("{table}");
    io::write_atomic(&out.join("ssim_table.md"), table.as_bytes())?;
    for m in Modality::ALL {
        let sheet = sheet_for(m, &input, &perturbed, &summary.records)?;
        contact::write_png(&sheet, &out.join(format!("contact_{m}.png")))?;
    }
    let code = report(&summary, &perturbed, g.quiet);

    // Segmentation through ONNX Runtime (needs the ORT library: `make demo` installs it): the
    // demo model on the phantoms written above, every perturbation of their modality.
    let seg_code =
        match demo_segmentation(&out.join("segmentation"), &manifest_path, a.seed, g.quiet) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("warning: ONNX segmentation stage skipped: {e:#}");
                super::exit::OK
            }
        };

    // The full benchmark (run -> records -> Eq. 3 report) on the built-in config; resumable.
    let bench_code = super::run::run_demo_benchmark(&out.join("benchmark"), &a.device.0, g.quiet)?;
    let code = code.max(bench_code).max(seg_code);
    println!(
        "demo: {} phantoms x their perturbations x 5 levels in {secs:.1} s; {} of {} levels in band",
        Modality::ALL.len(),
        summary.in_band(),
        summary.records.len()
    );
    println!("demo output: {}", out.display());
    Ok(code)
}

/// The demo ONNX model (a classical box-prompted segmenter in SAM's layout, not a trained
/// network) on the demo's phantoms through the pipeline, into `out` (records.jsonl).
fn demo_segmentation(out: &Path, manifest: &Path, seed: u64, quiet: bool) -> anyhow::Result<i32> {
    use medfm_robust::run::config::{Config, DatasetConfig};
    let model = super::seg::demo_model(&out.join("model"))?;
    let config = Config {
        seed,
        ..Config::new(
            "demo-onnx-segmentation",
            vec![DatasetConfig::new("phantoms", manifest, "manifest")],
            vec![model],
        )
    };
    if !quiet {
        println!("segmentation demo: demo-box-threshold (a classical box-prompted threshold segmenter in SAM's ONNX layout, not a trained network)");
    }
    super::run::run_config(
        &config,
        out,
        medfm_robust::run::Shard::ALL,
        false,
        false,
        false,
        quiet,
    )
}

/// Markdown table: rows perturbations (registry order), columns L1..L5; each cell the mean written
/// SSIM over the phantoms it ran on and how many were in band.
fn ssim_table(records: &[Record]) -> String {
    let mut cells: BTreeMap<(usize, u8), (f64, usize, usize)> = BTreeMap::new();
    for r in records {
        let pos = perturb::all()
            .iter()
            .position(|p| p.id() == r.perturbation)
            .unwrap_or(usize::MAX);
        let e = cells.entry((pos, r.level)).or_default();
        e.0 += r.ssim;
        e.1 += 1;
        e.2 += usize::from(r.in_band);
    }
    let mut s = String::from(
        "| perturbation | category | L1 | L2 | L3 | L4 | L5 |\n|---|---|---|---|---|---|---|\n",
    );
    for (pos, p) in perturb::all().iter().enumerate() {
        if !cells.keys().any(|(q, _)| *q == pos) {
            continue;
        }
        let _ = write!(s, "| {} | {} |", p.id(), p.info().category.as_str());
        for l in 1..=5 {
            match cells.get(&(pos, l)) {
                Some((sum, n, ok)) => {
                    let _ = write!(s, " {:.3} ({ok}/{n}) |", sum / *n as f64);
                }
                None => s.push_str(" - |"),
            }
        }
        s.push('\n');
    }
    s.push_str(
        "\nCells: mean SSIM (wang) of the written images over the phantoms; (in band / total).\n",
    );
    s
}

fn sheet_for(
    m: Modality,
    input: &Path,
    perturbed: &Path,
    records: &[Record],
) -> anyhow::Result<Sheet> {
    let clean = io::read_image(&input.join(format!("{m}.png")))?.image;
    let source = input.join(format!("{m}.png")).display().to_string();
    let mut rows = Vec::new();
    for p in perturb::select("all", Some(m))? {
        let mut tiles = vec![Tile {
            image: Some(clean.clone()),
            caption: vec!["clean".into()],
        }];
        for l in 1..=5u8 {
            let r = records
                .iter()
                .find(|r| r.source == source && r.perturbation == p.id() && r.level == l);
            tiles.push(match r {
                Some(r) => Tile {
                    image: match &r.output {
                        Some(o) => Some(
                            io::read_image(&perturbed.join(o))
                                .with_context(|| o.clone())?
                                .image,
                        ),
                        None => None,
                    },
                    caption: caption(r.ssim, r.strength, r.in_band, r.reason.as_deref()),
                },
                None => Tile {
                    image: None,
                    caption: vec!["failed".into()],
                },
            });
        }
        rows.push((p.id().to_string(), tiles));
    }
    Ok(Sheet {
        title: format!("{m} phantom: SSIM-calibrated perturbations"),
        columns: [
            "clean",
            "L1 .90-.98",
            "L2 .80-.89",
            "L3 .70-.79",
            "L4 .60-.69",
            "L5 .50-.59",
        ]
        .map(String::from)
        .to_vec(),
        rows,
        tile: 128,
    })
}
