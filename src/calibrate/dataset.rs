//! Per-dataset calibration (`--calibration per-dataset`): strengths are searched on a calibration
//! subset (default: the first image, as the reference code does; N images -> the median of their
//! in-band strengths), cached in a JSON file keyed by (perturbation, modality, level, SSIM variant,
//! catalogue version), and reused for every image, whose achieved SSIM is still measured and
//! reported with an in-band verdict.

use crate::error::{Error, Result};
use crate::perturb::registry::CATALOGUE_VERSION;
use crate::ssim::SsimVariant;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One cached strength.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CachedStrength {
    /// None when no calibration image reached the band.
    pub strength: Option<f32>,
    /// Calibration images used, and how many were in band.
    pub images: usize,
    pub in_band: usize,
}

/// The strength cache file. Keys: `perturbation|modality|L<level>|variant|v<catalogue version>`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StrengthCache {
    pub entries: BTreeMap<String, CachedStrength>,
    #[serde(skip)]
    path: Option<PathBuf>,
}

impl StrengthCache {
    pub fn key(
        perturbation: &str,
        modality: Option<&str>,
        level: u8,
        variant: SsimVariant,
    ) -> String {
        format!(
            "{perturbation}|{}|L{level}|{}|v{CATALOGUE_VERSION}",
            modality.unwrap_or("any"),
            variant.as_str()
        )
    }

    /// Load from `path` if it exists, else an empty cache that will be saved there.
    pub fn open(path: &Path) -> Result<Self> {
        let mut c = if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            serde_json::from_str::<StrengthCache>(&text).map_err(|e| {
                Error::invalid(
                    path.display().to_string(),
                    format!("not a strength cache ({e}); delete it to recalibrate"),
                )
            })?
        } else {
            StrengthCache::default()
        };
        c.path = Some(path.to_path_buf());
        Ok(c)
    }

    pub fn get(&self, key: &str) -> Option<&CachedStrength> {
        self.entries.get(key)
    }

    pub fn insert(&mut self, key: String, v: CachedStrength) {
        self.entries.insert(key, v);
    }

    pub fn save(&self) -> Result<()> {
        if let Some(p) = &self.path {
            let text = serde_json::to_string_pretty(self)
                .map_err(|e| Error::other("strength cache", e.to_string()))?;
            crate::io::write_atomic(p, text.as_bytes())?;
        }
        Ok(())
    }
}

/// Median of the in-band strengths (lower median for even counts, so the result is one of the
/// calibrated values).
pub fn median_strength(in_band: &mut [f32]) -> Option<f32> {
    if in_band.is_empty() {
        return None;
    }
    in_band.sort_by(f32::total_cmp);
    Some(in_band[(in_band.len() - 1) / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        let mut c = StrengthCache::open(&p).unwrap();
        let k = StrengthCache::key("gaussian_noise", Some("ct"), 3, SsimVariant::Wang);
        c.insert(
            k.clone(),
            CachedStrength {
                strength: Some(0.25),
                images: 1,
                in_band: 1,
            },
        );
        c.save().unwrap();
        let c2 = StrengthCache::open(&p).unwrap();
        assert_eq!(c2.get(&k), c.get(&k));
        assert!(k.ends_with(&format!("v{CATALOGUE_VERSION}")));
    }

    #[test]
    fn median_is_a_member() {
        assert_eq!(median_strength(&mut [3.0, 1.0, 2.0, 4.0]), Some(2.0));
        assert_eq!(median_strength(&mut []), None);
    }
}
