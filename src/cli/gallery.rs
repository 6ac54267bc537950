use super::Global;
use medfm_robust::calibrate::SearchOptions;
use medfm_robust::image::BitDepth;
use medfm_robust::perturb::Modality;
use medfm_robust::{io, phantom, viz};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct GalleryArgs {
    #[arg(long)]
    pub modality: String,
    /// Image to perturb (default: the modality's built-in phantom).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
    /// Phantom size in pixels (when no --image).
    #[arg(long, default_value_t = 192)]
    pub size: usize,
    /// Tile size in the sheet.
    #[arg(long, default_value_t = 128)]
    pub tile: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, value_enum, default_value = "wang")]
    pub ssim_variant: super::ssim::VariantArg,
    /// Compute device: cpu, cuda, or auto. Accepted for symmetry and validated; the gallery itself
    /// is always rendered on the CPU.
    #[arg(long, default_value = "cpu", value_parser = super::args::DeviceArg::parse)]
    pub device: super::args::DeviceArg,
}

pub fn run(a: GalleryArgs, g: Global) -> anyhow::Result<i32> {
    let _engine = super::perturb::select_engine(&a.device, g.quiet)?;
    let m = Modality::parse(&a.modality)?;
    viz::contact::check_tile(a.tile)?;
    if a.image.is_none() {
        medfm_robust::Error::check_range(
            "--size",
            a.size as u64,
            phantom::MIN_SIZE as u64,
            phantom::MAX_SIZE as u64,
        )?;
    }
    let (image, depth) = match &a.image {
        Some(p) => {
            let l = io::read_image(p)?;
            (l.image, l.depth)
        }
        None => (
            phantom::try_phantom(m, a.size, a.size, phantom::natural_channels(m), a.seed)?.image,
            BitDepth::U8,
        ),
    };
    let opts = SearchOptions {
        variant: a.ssim_variant.into(),
        ..Default::default()
    };
    let sheet = viz::gallery::gallery(m, &image, depth, a.seed, &opts, a.tile)?;
    viz::contact::write_png(&sheet, &a.out)?;
    if !g.quiet {
        eprintln!("wrote {}", a.out.display());
    }
    Ok(0)
}
