//! `records.jsonl`: one JSON object per work unit, append-only.
//!
//! Durability contract: each record is serialised to one complete line and written with a single
//! `write_all` on a file opened in append mode, then `fsync`ed before the next unit starts. A
//! process killed at any moment therefore leaves whole lines plus at most one torn last line (no
//! trailing newline). [`RecordsFile::open`] truncates such a torn tail before appending, and
//! [`read_records`] ignores it, so a resumed run never sees a half record.
//!
//! Resume: a unit is finished when its latest record has no `error`; failed units are retried and
//! their new record is appended (readers keep the latest record of each unit, preferring a
//! success).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// One line of records.jsonl. Field names follow the segmentation evaluator's records
/// (`eval-seg`), with the metrics gathered in `metrics` so VLM tasks fit the same schema.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub unit: String,
    pub model: String,
    pub strategy: String,
    #[serde(default)]
    pub preset: String,
    pub dataset: String,
    pub task: String,
    pub sample: String,
    pub perturbation: String,
    /// "clean", "base", "medical" or "extra".
    pub category: String,
    #[serde(default)]
    pub modality: Option<String>,
    /// 0 for clean.
    pub level: u8,
    #[serde(default)]
    pub strength: Option<f32>,
    /// SSIM of the evaluated image against the clean one (profile's variant).
    #[serde(default)]
    pub ssim: Option<f64>,
    #[serde(default)]
    pub in_band: Option<bool>,
    /// Why the level is not in band, when it is not.
    #[serde(default)]
    pub reason: Option<String>,
    /// Metric values, e.g. {"iou": 0.81, "dice": 0.89}; empty when `error` is set.
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// The box prompt used (x0, y0, x1, y1), inclusive.
    #[serde(default)]
    pub prompt: Option<[usize; 4]>,
    #[serde(default)]
    pub error: Option<String>,
    /// What the strength policy concluded (in_band, unreachable_above, unreachable_below,
    /// skipped); absent for clean units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::calibrate::Verdict>,
    /// Content hash of the sample's files (image, mask): a resumed run reruns the units of a
    /// sample whose files changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Task-specific fields (docs/records.md): VLM `reply`, `parsed`, `parse_rule`, `truth`,
    /// `prediction`, `references`, ... Kept in key order, so the line is deterministic.
    #[serde(flatten, default)]
    pub fields: BTreeMap<String, serde_json::Value>,
}

impl Record {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// An open records file for appending.
pub struct RecordsFile {
    path: PathBuf,
    file: File,
}

impl RecordsFile {
    /// Open (create) `path` for appending, cutting off a torn last line first.
    pub fn open(path: &Path) -> Result<RecordsFile> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len > 0 {
            let mut bytes = Vec::with_capacity(len as usize);
            file.seek(SeekFrom::Start(0)).map_err(io)?;
            file.read_to_end(&mut bytes).map_err(io)?;
            if bytes.last() != Some(&b'\n') {
                let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                file.set_len(keep as u64).map_err(io)?;
                file.sync_all().map_err(io)?;
            }
        }
        Ok(RecordsFile {
            path: path.to_path_buf(),
            file,
        })
    }

    /// Append one record (any serialisable line: run records, perturb's manifest) as one line,
    /// flushed to disk.
    pub fn append<T: Serialize>(&mut self, r: &T) -> Result<()> {
        let io = |source| Error::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(r)
            .map_err(|e| Error::other(self.path.display().to_string(), e.to_string()))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

/// All complete records of one file, in file order (a torn last line is skipped; a malformed
/// complete line is an error naming the line).
pub fn read_records(path: &Path) -> Result<Vec<Record>> {
    read_lines(path, "a record", |mut v| {
        adapt_eval_seg(&mut v);
        serde_json::from_value(v)
    })
}

/// The complete lines of a JSON Lines file written by [`RecordsFile`], each parsed by `parse`
/// (a torn last line is skipped; an absent file is empty; a malformed line is an error naming
/// the file, the line and `what` it should be).
pub fn read_lines<T>(
    path: &Path,
    what: &str,
    parse: impl Fn(serde_json::Value) -> serde_json::Result<T>,
) -> Result<Vec<T>> {
    let text = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let text = String::from_utf8_lossy(&text[..complete]);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |e: serde_json::Error| {
            Error::invalid(
                format!("{} line {}", path.display(), i + 1),
                format!("not {what}: {e}"),
            )
        };
        let v: serde_json::Value = serde_json::from_str(line).map_err(bad)?;
        out.push(parse(v).map_err(bad)?);
    }
    Ok(out)
}

/// Records written by `eval-seg` (segmentation evaluator) carry `iou` / `dice` at the top level
/// and no `task`: move them into `metrics` so `report` reads those files too.
fn adapt_eval_seg(v: &mut serde_json::Value) {
    let Some(o) = v.as_object_mut() else { return };
    if !o.contains_key("metrics") {
        let mut m = serde_json::Map::new();
        for k in ["iou", "dice"] {
            if let Some(x) = o.remove(k).filter(|x| x.is_number()) {
                m.insert(k.to_string(), x);
            }
        }
        o.insert("metrics".into(), serde_json::Value::Object(m));
    }
    o.entry("task").or_insert_with(|| "segmentation".into());
}

/// The records files of an output folder: records.jsonl and records-shard-*.jsonl, sorted.
pub fn records_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n == "records.jsonl" || (n.starts_with("records-shard-") && n.ends_with(".jsonl"))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// The latest record of each unit over `records` (a success wins over a later failure), keyed
/// and therefore ordered by unit id.
pub fn latest_by_unit(records: impl IntoIterator<Item = Record>) -> BTreeMap<String, Record> {
    let mut m: BTreeMap<String, Record> = BTreeMap::new();
    for r in records {
        match m.get(&r.unit) {
            Some(old) if old.ok() && !r.ok() => {}
            _ => {
                m.insert(r.unit.clone(), r);
            }
        }
    }
    m
}

/// Every record of an output folder (all records files), one per unit.
pub fn load_dir(dir: &Path) -> Result<BTreeMap<String, Record>> {
    let mut all = Vec::new();
    for f in records_files(dir)? {
        all.extend(read_records(&f)?);
    }
    Ok(latest_by_unit(all))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(unit: &str, err: Option<&str>) -> Record {
        Record {
            unit: unit.into(),
            model: "m".into(),
            strategy: "full".into(),
            preset: "p".into(),
            dataset: "d".into(),
            task: "segmentation".into(),
            sample: "s".into(),
            perturbation: "clean".into(),
            category: "clean".into(),
            modality: None,
            level: 0,
            strength: None,
            ssim: None,
            in_band: None,
            reason: None,
            metrics: BTreeMap::from([("iou".to_string(), 0.5)]),
            prompt: None,
            error: err.map(String::from),
            verdict: None,
            content: None,
            fields: BTreeMap::new(),
        }
    }

    #[test]
    fn torn_tail_is_ignored_and_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("records.jsonl");
        let mut f = RecordsFile::open(&p).unwrap();
        f.append(&rec("a", None)).unwrap();
        f.append(&rec("b", None)).unwrap();
        drop(f);
        // Simulate a kill mid-write.
        let mut raw = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        raw.write_all(b"{\"unit\":\"c\",\"mod").unwrap();
        drop(raw);
        assert_eq!(read_records(&p).unwrap().len(), 2);
        let mut f = RecordsFile::open(&p).unwrap();
        f.append(&rec("c", None)).unwrap();
        let rs = read_records(&p).unwrap();
        assert_eq!(
            rs.iter().map(|r| r.unit.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn success_wins_over_failure() {
        let m = latest_by_unit([
            rec("a", Some("boom")),
            rec("a", None),
            rec("a", Some("late")),
            rec("b", Some("x")),
        ]);
        assert!(m["a"].ok());
        assert!(!m["b"].ok());
    }

    #[test]
    fn eval_seg_records_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("records.jsonl");
        let line = r#"{"unit":"d/s/clean/0","model":"m","strategy":"full","preset":"medsam","dataset":"d","sample":"s","perturbation":"clean","category":"clean","level":0,"strength":null,"ssim":null,"in_band":null,"iou":0.75,"dice":0.8571,"prompt":[1,2,3,4],"mask_index":0,"error":null}"#;
        std::fs::write(&p, format!("{line}\n")).unwrap();
        let r = &read_records(&p).unwrap()[0];
        assert_eq!(r.metrics["iou"], 0.75);
        assert_eq!(r.task, "segmentation");
        assert_eq!(r.prompt, Some([1, 2, 3, 4]));
    }

    #[test]
    fn malformed_complete_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("records.jsonl");
        std::fs::write(&p, "not json\n").unwrap();
        let e = read_records(&p).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
