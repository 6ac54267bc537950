use anyhow::Context;
use medfm_robust::io;
use medfm_robust::ssim::{SsimReference, SsimVariant};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct SsimArgs {
    pub a: PathBuf,
    pub b: PathBuf,
    #[arg(long, value_enum, default_value = "wang")]
    pub variant: VariantArg,
    /// Compute N times and print the mean wall time per computation on stderr (benchmarking;
    /// the clean image's moments are computed once, as calibration does).
    #[arg(long, default_value_t = 0)]
    pub time: usize,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum VariantArg {
    Wang,
    Skimage,
    Compat,
}

impl From<VariantArg> for SsimVariant {
    fn from(v: VariantArg) -> Self {
        match v {
            VariantArg::Wang => SsimVariant::Wang,
            VariantArg::Skimage => SsimVariant::Skimage,
            VariantArg::Compat => SsimVariant::Compat,
        }
    }
}

pub fn run(a: SsimArgs) -> anyhow::Result<i32> {
    let x = io::read_image(&a.a)?.image;
    let y = io::read_image(&a.b)?.image;
    let v = SsimVariant::from(a.variant);
    let s = medfm_robust::ssim::ssim(&x, &y, v)
        .with_context(|| format!("SSIM of {} and {}", a.a.display(), a.b.display()))?;
    println!("{s:.10}");
    if a.time > 0 {
        let t0 = std::time::Instant::now();
        for _ in 0..a.time {
            std::hint::black_box(medfm_robust::ssim::ssim(&x, &y, v)?);
        }
        let full = t0.elapsed().as_secs_f64() / a.time as f64;
        let r = SsimReference::new(&x, v)?;
        let t0 = std::time::Instant::now();
        for _ in 0..a.time {
            std::hint::black_box(r.ssim(&y)?);
        }
        let cached = t0.elapsed().as_secs_f64() / a.time as f64;
        eprintln!("time_per_ssim_s {full:.6}\ntime_per_ssim_cached_reference_s {cached:.6}");
    }
    Ok(0)
}
