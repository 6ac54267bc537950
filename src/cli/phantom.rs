use medfm_robust::image::BitDepth;
use medfm_robust::perturb::Modality;
use medfm_robust::{io, phantom};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct PhantomArgs {
    #[arg(long)]
    pub modality: String,
    /// Output image (PNG/TIFF/JPEG by extension).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the lesion/structure mask here.
    #[arg(long)]
    pub mask: Option<PathBuf>,
    #[arg(long, default_value_t = 256)]
    pub size: usize,
    /// 1 or 3 (default: the modality's natural channel count).
    #[arg(long)]
    pub channels: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

pub fn run(a: PhantomArgs) -> anyhow::Result<i32> {
    let m = Modality::parse(&a.modality)?;
    let c = a.channels.unwrap_or_else(|| phantom::natural_channels(m));
    anyhow::ensure!(c == 1 || c == 3, "--channels must be 1 or 3");
    medfm_robust::Error::check_range(
        "--size",
        a.size as u64,
        phantom::MIN_SIZE as u64,
        phantom::MAX_SIZE as u64,
    )?;
    let p = phantom::try_phantom(m, a.size, a.size, c, a.seed)?;
    let fmt = io::Format::from_path(&a.out)
        .ok_or_else(|| anyhow::anyhow!("{}: use a .png, .tif or .jpg name", a.out.display()))?;
    io::write_image(&a.out, &p.image, BitDepth::U8, fmt)?;
    if let Some(mp) = &a.mask {
        io::write_mask(mp, &p.mask)?;
    }
    Ok(0)
}
