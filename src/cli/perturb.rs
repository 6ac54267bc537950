use super::{progress, Global};
use medfm_robust::generate::{self, CalibrationMode, GenerateOptions, Summary};
use medfm_robust::io;
use medfm_robust::perturb::Modality;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct PerturbArgs {
    /// A folder (scanned recursively for PNG/JPEG/TIFF) or a manifest (.jsonl / .csv with
    /// `image`, optional `mask`, `modality` columns).
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder: OUT/<perturbation>/L<level>/<relative path>, OUT/manifest.jsonl and the
    /// pipeline's OUT/records.jsonl. Rerunning the same command resumes: written units whose
    /// source files are unchanged and whose outputs are on disk are kept.
    #[arg(long)]
    pub out: PathBuf,
    /// OUT holds a run of other options: discard its records and start over (outputs are
    /// overwritten as units are written again).
    #[arg(long)]
    pub restart: bool,
    /// Modality: selects the base set plus this modality's set (fundus = oct).
    #[arg(long)]
    pub modality: Option<String>,
    /// Comma-separated ids and groups: `all`, `base`, `medical`, `extra`, or ids.
    #[arg(long, default_value = "all")]
    pub perturbations: String,
    /// Severity levels: 1-5, 1,3,5 or 3.
    #[arg(long, default_value = "1-5", value_parser = super::args::levels_arg)]
    pub levels: super::args::Levels,
    #[arg(long, value_enum, default_value = "per-image")]
    pub calibration: CalibrationArg,
    /// Per-dataset mode: number of images (first N per modality) to calibrate on; median strength.
    #[arg(long, default_value_t = 1)]
    pub calibration_images: usize,
    /// Per-dataset mode: strength cache file (default OUT/strengths.json).
    #[arg(long)]
    pub strength_cache: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Masks with the same stem (same relative folder, or directly in DIR); geometric
    /// perturbations write the warped mask too.
    #[arg(long)]
    pub masks: Option<PathBuf>,
    /// Volumes (NIfTI, multi-frame DICOM files, DICOM series folders): which slices become
    /// images: `all`, `mid` (the middle slice) or an index from 0; `volume`: each NIfTI volume is
    /// perturbed and calibrated as a whole (SSIM = mean of its slices') and written with its
    /// shape and affine.
    #[arg(long, default_value = "all")]
    pub slices: String,
    #[arg(long, value_enum, default_value = "wang")]
    pub ssim_variant: super::ssim::VariantArg,
    /// Also write outputs for levels that are not in band (at the closest strength found).
    #[arg(long)]
    pub write_out_of_band: bool,
    /// Maximum SSIM evaluations per band.
    #[arg(long, default_value_t = 20)]
    pub max_evals: u32,
    /// Compute device for the strength search: cpu, cuda, or auto (cuda when compiled in and a GPU
    /// is present). Writing and the SSIM of written files always run on the CPU.
    #[arg(long, default_value = "cpu", value_parser = super::args::DeviceArg::parse)]
    pub device: super::args::DeviceArg,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum CalibrationArg {
    PerImage,
    PerDataset,
}

/// `--device` of perturb, gallery and demo, through the one selection point
/// (`backend::Engine::select`): `cpu` (default) never touches CUDA; `cuda` without the feature or
/// without a usable GPU is the typed `BackendError` (NotCompiled / NoDevice), reported as
/// `--device cuda: ...`; `auto` is CUDA when available, else the CPU. The selected engine is
/// named on stderr unless quiet. With CUDA, `perturb` and `demo` run the strength search of the
/// ids with an on-GPU search on the GPU and write on the CPU (src/generate.rs, docs/gpu.md
/// "--device"); `gallery` only validates the choice and renders on the CPU. `tensorrt` is an
/// ONNX Runtime provider (eval-seg, run) and is refused here.
pub fn select_engine(
    d: &super::args::DeviceArg,
    quiet: bool,
) -> anyhow::Result<medfm_robust::backend::Engine> {
    use medfm_robust::backend::EngineKind;
    let kind = match d.0.split(':').next().unwrap_or("cpu") {
        "cpu" => EngineKind::Cpu,
        "cuda" => EngineKind::Cuda,
        "auto" => EngineKind::Auto,
        _ => anyhow::bail!("--device {d}: this command perturbs on cpu, cuda or auto; tensorrt is an ONNX Runtime provider for eval-seg and run"),
    };
    use medfm_robust::backend::Engine;
    let e = match kind {
        // auto: the CUDA engine where it can be had, else the CPU, saying why
        EngineKind::Auto => Engine::select(EngineKind::Cuda).unwrap_or_else(|why| {
            if !quiet {
                eprintln!("--device auto: no CUDA engine ({why}); perturbing on the CPU");
            }
            Engine::Cpu
        }),
        k => Engine::select(k).map_err(|e| anyhow::anyhow!("--device {d}: {e}"))?,
    };
    if !quiet && kind != EngineKind::Cpu {
        eprintln!("device: {}", e.describe());
    }
    Ok(e)
}

pub fn run(a: PerturbArgs, g: Global) -> anyhow::Result<i32> {
    // 0 evaluations would report every level "not in band" for a made-up reason.
    medfm_robust::Error::check_range("--max-evals", a.max_evals as u64, 1, 1000)?;
    let engine = select_engine(&a.device, g.quiet)?;
    // Bad folder entries (dangling links, loops) are items whose reading fails with a named error;
    // the output folder is never listed as input.
    let slices = io::slices::Slices::parse(&a.slices)?;
    let items = io::list_inputs(&a.input, a.masks.as_deref(), Some(&a.out))?.all();
    let items = io::slices::expand(items, slices);
    if items.is_empty() {
        anyhow::bail!("{}: no PNG/JPEG/TIFF/DICOM images found", a.input.display());
    }
    let opts = GenerateOptions {
        out: a.out.clone(),
        perturbations: a.perturbations.clone(),
        modality: a.modality.as_deref().map(Modality::parse).transpose()?,
        levels: a.levels.0.clone(),
        seed: a.seed,
        variant: a.ssim_variant.into(),
        calibration: match a.calibration {
            CalibrationArg::PerImage => CalibrationMode::PerImage,
            CalibrationArg::PerDataset => CalibrationMode::PerDataset,
        },
        calibration_images: a.calibration_images,
        strength_cache: a.strength_cache.clone(),
        write_out_of_band: a.write_out_of_band,
        max_evals_per_band: a.max_evals,
        restart: a.restart,
    };
    // Validate the selection up front (before any work).
    medfm_robust::perturb::select(&opts.perturbations, opts.modality)?;
    let pb = progress::bar(g.quiet, "perturb");
    let cb = progress::callback(&pb);
    let summary = generate::generate_on(&items, &opts, &engine, &cb)?;
    pb.finish_and_clear();
    Ok(report(&summary, &a.out, g.quiet))
}

/// Print warnings, failures and a one-line summary; the exit code is 2 when anything failed.
pub fn report(s: &Summary, out: &std::path::Path, quiet: bool) -> i32 {
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
    for f in &s.failures {
        // Most errors already start with the file they are about: name it once.
        let error = f
            .error
            .strip_prefix(&format!("{}: ", f.source))
            .unwrap_or(&f.error);
        match f.perturbation {
            Some(p) => eprintln!("error: {} [{p}]: {error}", f.source),
            None => eprintln!("error: {}: {error}", f.source),
        }
    }
    let not_in_band = s.records.len() - s.in_band();
    if s.resumed > 0 && !quiet {
        eprintln!(
            "resumed: {} of {} (image, perturbation, level) units kept from an earlier run (their sources and outputs are unchanged)",
            s.resumed, s.units
        );
    }
    if s.changed > 0 && !quiet {
        eprintln!(
            "{} finished unit(s) written again: their source files changed since their record",
            s.changed
        );
    }
    if !quiet || !s.failures.is_empty() {
        eprintln!(
            "{} records, {} written, {} in band, {} not in band (see `reason` in {}), {} failed item(s)",
            s.records.len(),
            s.written(),
            s.in_band(),
            not_in_band,
            out.join("manifest.jsonl").display(),
            s.failures.len()
        );
    }
    if s.failures.is_empty() {
        super::exit::OK
    } else {
        super::exit::UNITS_FAILED
    }
}
