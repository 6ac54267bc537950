//! `DIR/run.json`: what produced an output folder (the provenance every report output is headed
//! with) and the config hash that guards resumption.

use super::config::Config;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunMeta {
    pub config_hash: String,
    pub config: Config,
    pub tool: String,
    pub catalogue_version: u32,
    /// `git rev-parse --short HEAD` of the source tree the binary was built from, or "unknown".
    pub git_revision: String,
    pub device: String,
    pub seed: u64,
    pub profile: String,
}

impl RunMeta {
    pub fn new(config: &Config) -> RunMeta {
        RunMeta {
            config_hash: config.hash(),
            config: config.clone(),
            tool: format!("medfm-robust {}", env!("CARGO_PKG_VERSION")),
            catalogue_version: crate::perturb::registry::CATALOGUE_VERSION,
            git_revision: git_revision(),
            device: config.device.clone(),
            seed: config.seed,
            profile: config.profile.as_str().to_string(),
        }
    }

    pub fn read(dir: &Path) -> Result<Option<RunMeta>> {
        let p = dir.join("run.json");
        match std::fs::read_to_string(&p) {
            Ok(t) => serde_json::from_str(&t).map(Some).map_err(|e| {
                Error::invalid(
                    p.display().to_string(),
                    format!("not a run.json ({e}); restore it, or start this folder over with `medfm-robust run CONFIG --out {} --restart`", dir.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path: p, source }),
        }
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::other("run.json", e.to_string()))?;
        crate::io::write_atomic(&dir.join("run.json"), text.as_bytes())
    }

    /// Header lines (config, seed, versions, device, git revision) for every report output.
    pub fn header_lines(&self) -> Vec<String> {
        vec![
            format!(
                "config: {} (hash {}, profile {})",
                self.config.name, self.config_hash, self.profile
            ),
            format!("seed: {}", self.seed),
            format!(
                "versions: {}, perturbation catalogue v{}",
                self.tool, self.catalogue_version
            ),
            format!("device: {}", self.device),
            format!("git revision: {}", self.git_revision),
        ]
    }
}

/// The git revision of the source tree this binary was built from, asked at runtime; "unknown"
/// when git or the tree is not there.
pub fn git_revision() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
