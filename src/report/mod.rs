//! `medfm-robust report DIR --out OUT`: Eq. 3 aggregation, the paper's Table 1 layout, long-format
//! CSV, Fig. 3-style figures and a self-contained HTML page (spec/product.md "Outputs").
//!
//! Outputs (all headed with config, seed, versions, device and git revision from DIR/run.json):
//! `table1.md`, `table1.tex`, `table1.csv`, `summary.csv`, `figures/<name>.png|svg`,
//! `report.html` (figures inline as SVG, no external resources). Every number carries its paired
//! bootstrap interval and every comparison its sign-flip test ([`inference`], docs/statistics.md).

pub mod aggregate;
pub mod figures;
pub mod html;
pub mod inference;
pub mod tables;
pub mod tasks;
pub mod vlm;

use crate::error::{Error, Result};
use crate::run::meta::RunMeta;
use crate::run::records;

use std::path::{Path, PathBuf};

/// What `report` wrote.
#[derive(Debug, Default)]
pub struct ReportSummary {
    pub records: usize,
    pub errors: usize,
    pub files: Vec<PathBuf>,
    /// Units of the run's plan (from run.json's config; None when the plan cannot be rebuilt,
    /// e.g. the data moved, or there is no run.json).
    pub expected: Option<usize>,
    /// Units of the plan that have no record at all.
    pub missing: usize,
    /// Why completeness could not be checked.
    pub completeness_note: Option<String>,
}

impl ReportSummary {
    /// "incomplete: N of M units" when units of the plan have no record.
    pub fn incomplete(&self) -> Option<String> {
        let m = self.expected?;
        (self.missing > 0).then(|| {
            format!(
                "incomplete: {} of {m} units have records ({} missing); numbers cover only those",
                m - self.missing,
                self.missing
            )
        })
    }
}

/// How a metric is written in tables and figures (IoU, Dice, else upper case).
pub fn metric_label(metric: &str) -> String {
    match metric {
        "iou" => "IoU".into(),
        "dice" => "Dice".into(),
        m => m.to_uppercase(),
    }
}

/// The metric a report is built on: `iou` when present, else the first metric of the records.
pub fn choose_metric<'a>(records: impl IntoIterator<Item = &'a records::Record>) -> Option<String> {
    let mut first = None;
    for r in records {
        if r.metrics.contains_key("iou") {
            return Some("iou".into());
        }
        if first.is_none() {
            first = r.metrics.keys().next().cloned();
        }
    }
    first
}

/// Read the run folder `dir` (records files + run.json) and write every report output to `out`,
/// with the default statistics (B = 2000, seed 0, no baseline).
pub fn write_report(dir: &Path, out: &Path) -> Result<ReportSummary> {
    write_report_with(dir, out, &inference::StatsOptions::default())
}

/// [`write_report`] with explicit statistics options (`report --bootstrap`, `--stats-seed`,
/// `--baseline`). The outputs are a pure function of the records and the options.
pub fn write_report_with(
    dir: &Path,
    out: &Path,
    opts: &inference::StatsOptions,
) -> Result<ReportSummary> {
    let meta = RunMeta::read(dir)?;
    let recs = records::load_dir(dir)?;
    if recs.is_empty() {
        return Err(Error::invalid(
            dir.display().to_string(),
            "has no records (records.jsonl); run the benchmark first",
        ));
    }
    let all: Vec<&records::Record> = recs
        .values()
        .filter(|r| r.task != crate::run::config::WRITE)
        .collect();
    if all.is_empty() {
        return Err(Error::invalid(
            dir.display().to_string(),
            "holds a corrupted dataset written by `perturb` (task `write`), not evaluations; evaluate it with `eval-seg`, `eval-vlm` or `run` and report their output",
        ));
    }
    // Table 1 and the Fig. 3 (a)-(f) figures: segmentation when present, else the first task.
    let task = tasks::tasks_in(all.iter().copied())
        .first()
        .copied()
        .unwrap_or("segmentation");
    let task_recs: Vec<&records::Record> = all.iter().copied().filter(|r| r.task == task).collect();
    let metric = if task == "segmentation" {
        choose_metric(task_recs.iter().copied()).ok_or_else(|| {
            Error::invalid(dir.display().to_string(), "no record has a metric value")
        })?
    } else {
        tasks::metrics_of(task)[0].to_string()
    };
    let agg = tasks::aggregate(task_recs.iter().copied(), task, &metric);
    let stats = inference::Statistics::compute(&agg, opts)?;
    let st = Some(&stats);
    let mut header = match &meta {
        Some(m) => m.header_lines(),
        None => vec![
            "config: unknown (no run.json)".into(),
            format!("git revision: {}", crate::run::meta::git_revision()),
        ],
    };
    let mut s = ReportSummary {
        records: recs.len(),
        errors: all.iter().filter(|r| !r.ok()).count(),
        ..Default::default()
    };
    match &meta {
        Some(m) => match crate::run::merge::expected_units(&m.config) {
            Ok(expected) => {
                s.expected = Some(expected.len());
                s.missing = expected.iter().filter(|u| !recs.contains_key(*u)).count();
            }
            Err(e) => {
                s.completeness_note = Some(format!(
                    "cannot rebuild the run's plan to check completeness: {e}"
                ))
            }
        },
        None => s.completeness_note = Some("no run.json: completeness not checked".into()),
    }
    if let Some(line) = s.incomplete() {
        header.push(line);
    }
    if s.errors > 0 {
        header.push(format!(
            "{} unit(s) failed and are left out of every number (their records say why)",
            s.errors
        ));
    }
    let mut write = |name: &str, bytes: &[u8]| -> Result<()> {
        let p = out.join(name);
        crate::io::write_atomic(&p, bytes)?;
        s.files.push(p);
        Ok(())
    };
    write(
        "table1.md",
        tables::table1_markdown_with(&agg, st, &header).as_bytes(),
    )?;
    write(
        "table1.tex",
        tables::table1_latex_with(&agg, st, &header).as_bytes(),
    )?;
    write(
        "table1.csv",
        tables::table1_csv_with(&agg, st, &header).as_bytes(),
    )?;
    write(
        "summary.csv",
        tables::summary_csv_with(&agg, st, &header).as_bytes(),
    )?;
    let footer = match &meta {
        Some(m) => format!(
            "{} | config {} ({}) | seed {} | {} | device {} | git {}",
            m.tool, m.config.name, m.profile, m.seed, m.config_hash, m.device, m.git_revision
        ),
        None => "medfm-robust | config unknown".into(),
    };
    let vlm_aggs = vlm::aggregates(&all);
    let vlm_stats = vlm::statistics(&all, &vlm_aggs, opts);
    let vlm_rows = vlm::rows(&vlm_aggs, &vlm_stats, opts);
    if !vlm_rows.is_empty() {
        write(
            "vlm_table.md",
            vlm::table_markdown(&vlm_rows, &header).as_bytes(),
        )?;
        write(
            "vlm_table.csv",
            vlm::table_csv(&vlm_rows, &header).as_bytes(),
        )?;
    }
    let mut rendered = Vec::new();
    let mut figs = figures::figures(&agg, &stats);
    figs.extend(vlm::figures(&vlm_aggs, &vlm_stats, &vlm_rows, opts));
    for (name, fig) in figs {
        let r = figures::render(&name, &fig, &footer)
            .map_err(|e| Error::other(format!("figure {name}"), e))?;
        write(&format!("figures/{name}.png"), &r.png)?;
        write(&format!("figures/{name}.svg"), r.svg.as_bytes())?;
        rendered.push(r);
    }
    let mut page = html::page_with(&agg, st, &header, &rendered);
    if !vlm_rows.is_empty() {
        let at = page.find("<h2>Figures</h2>").unwrap_or(page.len());
        page.insert_str(at, &vlm::table_html(&vlm_rows));
    }
    write("report.html", page.as_bytes())?;
    Ok(s)
}
