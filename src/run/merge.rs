//! `medfm-robust merge DIR... --out OUT`: the union of shard outputs.
//!
//! Contract: every input folder must hold a run of the same config (same hash in run.json); the
//! output has one record per unit (a success wins over a failure, see
//! [`super::records::latest_by_unit`]), sorted by unit id, written atomically to
//! OUT/records.jsonl with OUT/run.json; units of the plan that no input has are listed in the
//! returned summary and in OUT/missing_units.txt.

use super::config::Config;
use super::meta::RunMeta;
use super::records::{self, Record};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct MergeSummary {
    pub records: usize,
    pub failed: usize,
    /// Unit ids of the plan without any record (empty when the plan could not be rebuilt).
    pub missing: Vec<String>,
    /// Set when the datasets could not be listed again to enumerate the plan.
    pub plan_note: Option<String>,
}

pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<MergeSummary> {
    if inputs.is_empty() {
        return Err(Error::invalid("merge", "no input folders"));
    }
    let mut meta: Option<RunMeta> = None;
    let mut all: Vec<Record> = Vec::new();
    let mut seen: BTreeMap<String, (PathBuf, Record)> = BTreeMap::new();
    for dir in inputs {
        let m = RunMeta::read(dir)?.ok_or_else(|| {
            Error::invalid(
                dir.display().to_string(),
                "has no run.json: not a run output folder",
            )
        })?;
        if let Some(first) = &meta {
            if first.config_hash != m.config_hash {
                return Err(Error::invalid(
                    dir.display().to_string(),
                    format!("is a run of config hash {}, the first folder's is {}: not shards of one run", m.config_hash, first.config_hash),
                ));
            }
        } else {
            meta = Some(m);
        }
        for f in records::records_files(dir)? {
            let recs = records::read_records(&f)?;
            check_conflicts(&f, &recs, &mut seen)?;
            all.extend(recs);
        }
    }
    let meta = meta.expect("inputs is not empty");
    let merged = records::latest_by_unit(all);
    let mut text = String::new();
    for r in merged.values() {
        text.push_str(&serde_json::to_string(r).map_err(|e| Error::other("merge", e.to_string()))?);
        text.push('\n');
    }
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.to_path_buf(),
        source,
    })?;
    // Shard files of an earlier run in OUT would double-count; OUT gets exactly one file.
    for f in records::records_files(out)? {
        if f.file_name().is_some_and(|n| n != "records.jsonl") && !inputs.iter().any(|i| i == out) {
            std::fs::remove_file(&f).map_err(|source| Error::Io {
                path: f.clone(),
                source,
            })?;
        }
    }
    crate::io::write_atomic(&out.join("records.jsonl"), text.as_bytes())?;
    meta.write(out)?;
    let mut s = MergeSummary {
        records: merged.len(),
        failed: merged.values().filter(|r| !r.ok()).count(),
        ..Default::default()
    };
    match expected_units(&meta.config) {
        Ok(expected) => {
            let have: BTreeSet<&String> = merged.keys().collect();
            s.missing = expected.into_iter().filter(|u| !have.contains(u)).collect();
            let mut list = s.missing.join("\n");
            if !list.is_empty() {
                list.push('\n');
            }
            crate::io::write_atomic(&out.join("missing_units.txt"), list.as_bytes())?;
        }
        Err(e) => {
            s.plan_note = Some(format!(
                "cannot enumerate the plan to list missing units: {e}"
            ))
        }
    }
    Ok(s)
}

/// Successful records of one unit in two files must agree: the same unit with different values
/// means the inputs are not shards of one run (or a file was edited), and merging would silently
/// pick one.
fn check_conflicts(
    file: &Path,
    recs: &[Record],
    seen: &mut BTreeMap<String, (PathBuf, Record)>,
) -> Result<()> {
    for (unit, r) in records::latest_by_unit(recs.iter().cloned()) {
        if !r.ok() {
            continue;
        }
        match seen.get(&unit) {
            Some((other, old)) if other != file && !same_result(old, &r) => {
                return Err(Error::invalid(
                    "merge",
                    format!(
                        "unit {unit} ({} {} {} L{} of {}) has different results in {} and {}; these are not shards of one run: merge only folders of the same run, or rerun the unit",
                        r.model,
                        r.dataset,
                        r.perturbation,
                        r.level,
                        r.sample,
                        other.display(),
                        file.display()
                    ),
                ))
            }
            Some(_) => {}
            None => {
                seen.insert(unit, (file.to_path_buf(), r));
            }
        }
    }
    Ok(())
}

/// Two records give the same result: equal apart from bookkeeping that may differ between
/// runs of the same unit (whether a reply came from the cache, how many attempts it took).
fn same_result(a: &Record, b: &Record) -> bool {
    let strip = |r: &Record| {
        let mut r = r.clone();
        r.fields.remove("cached");
        r.fields.remove("attempts");
        r
    };
    strip(a) == strip(b)
}

/// Unit ids of the full plan of `config` (datasets listed again, models not loaded).
pub fn expected_units(config: &Config) -> Result<BTreeSet<String>> {
    let mut errs = Vec::new();
    let datasets = super::exec::plan_datasets(config, &mut errs);
    if !errs.is_empty() {
        return Err(Error::other(
            format!("config '{}'", config.name),
            errs.join("; "),
        ));
    }
    let plan = super::exec::Plan {
        config: config.clone(),
        datasets,
        models: config.models.clone(),
    };
    Ok(plan.all_unit_ids())
}
