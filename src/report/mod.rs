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

use crate::error::{Error, Result};
use crate::run::meta::RunMeta;
use crate::run::records;
use aggregate::Aggregate;
use std::path::{Path, PathBuf};

/// What `report` wrote.
#[derive(Debug, Default)]
pub struct ReportSummary {
    pub records: usize,
    pub errors: usize,
    pub files: Vec<PathBuf>,
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
pub fn write_report_with(dir: &Path, out: &Path, opts: &inference::StatsOptions) -> Result<ReportSummary> {
    let meta = RunMeta::read(dir)?;
    let recs = records::load_dir(dir)?;
    if recs.is_empty() {
        return Err(Error::invalid(dir.display().to_string(), "has no records (records.jsonl); run the benchmark first"));
    }
    let metric = choose_metric(recs.values()).ok_or_else(|| Error::invalid(dir.display().to_string(), "no record has a metric value"))?;
    let agg = Aggregate::from_records(recs.values(), &metric);
    let st = inference::Statistics::compute(&agg, opts)?;
    let st = Some(&st);
    let header = match &meta {
        Some(m) => m.header_lines(),
        None => vec!["config: unknown (no run.json)".into(), format!("git revision: {}", crate::run::meta::git_revision())],
    };
    let mut s = ReportSummary { records: recs.len(), errors: agg.errors, files: Vec::new() };
    let mut write = |name: &str, bytes: &[u8]| -> Result<()> {
        let p = out.join(name);
        crate::io::write_atomic(&p, bytes)?;
        s.files.push(p);
        Ok(())
    };
    write("table1.md", tables::table1_markdown_with(&agg, st, &header).as_bytes())?;
    write("table1.tex", tables::table1_latex_with(&agg, st, &header).as_bytes())?;
    write("table1.csv", tables::table1_csv_with(&agg, st, &header).as_bytes())?;
    write("summary.csv", tables::summary_csv_with(&agg, st, &header).as_bytes())?;
    let footer = match &meta {
        Some(m) => format!("{} | config {} ({}) | seed {} | {} | device {} | git {}", m.tool, m.config.name, m.profile, m.seed, m.config_hash, m.device, m.git_revision),
        None => "medfm-robust | config unknown".into(),
    };
    let mut rendered = Vec::new();
    for (name, fig) in figures::figures(&agg, st.unwrap()) {
        let r = figures::render(&name, &fig, &footer).map_err(|e| Error::other(format!("figure {name}"), e))?;
        write(&format!("figures/{name}.png"), &r.png)?;
        write(&format!("figures/{name}.svg"), r.svg.as_bytes())?;
        rendered.push(r);
    }
    write("report.html", html::page_with(&agg, st, &header, &rendered).as_bytes())?;
    Ok(s)
}
