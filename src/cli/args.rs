//! Flags shared by every subcommand: one parser each, so `--levels`, `--device` and
//! `--ssim-variant` mean the same everywhere.

pub use super::ssim::VariantArg;

/// Severity levels of `--levels`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Levels(pub Vec<u8>);

/// `--levels` for clap.
pub fn levels_arg(s: &str) -> Result<Levels, String> {
    parse_levels(s).map(Levels)
}

/// `--levels`: `1-5`, `1,3,5`, `3` (or a mix: `1,3-5`); each level 1..=5; sorted, deduplicated.
pub fn parse_levels(s: &str) -> Result<Vec<u8>, String> {
    let bad = |why: &str| {
        format!(
            "'{s}': {why}; expected levels 1-5 as a range (1-5), a list (1,3,5) or one level (3)"
        )
    };
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(bad("empty item"));
        }
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let a: u8 = a.parse().map_err(|_| bad("not a number"))?;
        let b: u8 = b.parse().map_err(|_| bad("not a number"))?;
        if !(1..=5).contains(&a) || !(1..=5).contains(&b) {
            return Err(bad("levels are 1 to 5"));
        }
        if a > b {
            return Err(bad("a range must go up (1-5, not 5-1)"));
        }
        v.extend(a..=b);
    }
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// `--device`: `cpu`, `cuda[:N]`, `tensorrt[:N]` or `auto`. What each means depends on the
/// command: for `perturb`, `gallery` and `demo` the engine of the strength search (`tensorrt`
/// is refused there); for `eval-seg` and `run` the ONNX Runtime execution provider (and, for
/// `run`, where perturbation runs: see docs/gpu.md); `auto` picks CUDA when compiled in and a
/// GPU is present, else the CPU, and says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceArg(pub String);

impl DeviceArg {
    pub fn parse(s: &str) -> Result<DeviceArg, String> {
        medfm_robust::run::config::check_device(s).map(|_| DeviceArg(s.to_string()))
    }
}

impl std::fmt::Display for DeviceArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_forms() {
        assert_eq!(parse_levels("1-5").unwrap(), vec![1, 2, 3, 4, 5]);
        assert_eq!(parse_levels("1,3,5").unwrap(), vec![1, 3, 5]);
        assert_eq!(parse_levels("3").unwrap(), vec![3]);
        assert_eq!(parse_levels("5,1-2,2").unwrap(), vec![1, 2, 5]);
        for bad in ["0", "6", "1-6", "5-1", "a", "1,,2", ""] {
            assert!(parse_levels(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn devices() {
        for ok in ["cpu", "cuda", "cuda:1", "tensorrt:0", "auto"] {
            assert!(DeviceArg::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["tpu", "cuda:x", "cpu:1", "", "gpu"] {
            assert!(DeviceArg::parse(bad).is_err(), "{bad}");
        }
    }
}
