//! Table 1 (Markdown, LaTeX, CSV) and the long-format summary.csv.
//!
//! Every file starts with the provenance header (config, seed, versions, device, git revision) as
//! comments of its format: `<!-- -->` in Markdown, `%` in LaTeX, `#` in CSV (pandas:
//! `pd.read_csv(path, comment="#")`). Numbers are printed with 4 decimals (Table 1: 3); with
//! statistics, every Table 1 number is followed by its bootstrap interval `[lo, hi]`
//! (docs/statistics.md).

use super::aggregate::{Aggregate, Mds};
use super::inference::{Statistics, Value};
use std::fmt::Write as _;

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"))
}

/// "0.021 [0.015, 0.027]" (or just the number without an interval).
fn with_ci(v: Option<f64>, ci: Option<&Value>, digits: usize) -> String {
    match (v, ci.and_then(|c| c.ci)) {
        (Some(x), Some(e)) => {
            let i = e.ci();
            format!("{x:.digits$} [{:.digits$}, {:.digits$}]", i.lo, i.hi)
        }
        _ => fmt(v, digits),
    }
}

/// The Table 1 values of one (model, strategy, dataset) with their intervals.
struct Cells<'a> {
    clean: Option<&'a Value>,
    base: Option<&'a Value>,
    medical: Option<&'a Value>,
}

fn cells<'a>(st: Option<&'a Statistics>, mds: &Mds) -> Cells<'a> {
    let get = |c: &str| st.and_then(|s| s.category.get(&(mds.clone(), c.to_string())));
    Cells {
        clean: st.and_then(|s| s.clean.get(mds)),
        base: get("base"),
        medical: get("medical"),
    }
}

fn ci_note(st: Option<&Statistics>) -> String {
    st.filter(|s| s.options.replicates > 0).map_or(String::new(), |s| {
        format!(" [lo, hi]: {:.0}% paired bootstrap interval (BCa, B = {}, seed {}, resampling samples; docs/statistics.md)", s.options.level * 100.0, s.options.replicates, s.options.seed)
    })
}

pub fn table1_markdown(agg: &Aggregate, header: &[String]) -> String {
    table1_markdown_with(agg, None, header)
}

pub fn table1_markdown_with(agg: &Aggregate, st: Option<&Statistics>, header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "<!-- {h} -->");
    }
    let ds = agg.datasets();
    let m = super::metric_label(&agg.metric);
    let _ = writeln!(s, "\nTable 1: clean {m} and Eq. 3 drops (mean over levels of Delta_tau^(s)), per dataset.{}\n", ci_note(st));
    s.push_str("| model | strategy |");
    for d in &ds {
        let _ = write!(s, " {d} clean {m} | {d} base drop | {d} medical drop |");
    }
    s.push_str(" average base drop |\n|---|---|");
    for _ in &ds {
        s.push_str("---:|---:|---:|");
    }
    s.push_str("---:|\n");
    for r in agg.table1() {
        let _ = write!(s, "| {} | {} |", r.model, r.strategy);
        for (c, d) in r.cells.iter().zip(&ds) {
            let (a, b, md) = c.map_or((None, None, None), |(a, b, m)| (Some(a), b, m));
            let k = cells(st, &(r.model.clone(), r.strategy.clone(), d.clone()));
            let _ = write!(
                s,
                " {} | {} | {} |",
                with_ci(a, k.clean, 3),
                with_ci(b, k.base, 3),
                with_ci(md, k.medical, 3)
            );
        }
        let avg = st.and_then(|x| x.average_base.get(&(r.model.clone(), r.strategy.clone())));
        let _ = writeln!(s, " {} |", with_ci(r.average_base_drop, avg, 3));
    }
    s
}

fn tex_escape(t: &str) -> String {
    t.replace('\\', "\\textbackslash{}")
        .replace('_', "\\_")
        .replace('&', "\\&")
        .replace('%', "\\%")
        .replace('#', "\\#")
}

fn tex_ci(v: Option<f64>, ci: Option<&Value>) -> String {
    match (v, ci.and_then(|c| c.ci)) {
        (Some(x), Some(e)) => {
            let i = e.ci();
            format!("{x:.3} {{\\scriptsize[{:.3}, {:.3}]}}", i.lo, i.hi)
        }
        _ => fmt(v, 3),
    }
}

pub fn table1_latex(agg: &Aggregate, header: &[String]) -> String {
    table1_latex_with(agg, None, header)
}

pub fn table1_latex_with(agg: &Aggregate, st: Option<&Statistics>, header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "% {h}");
    }
    let ds = agg.datasets();
    let m = super::metric_label(&agg.metric);
    let _ = writeln!(s, "\\begin{{table}}[t]\n\\centering\n\\small");
    let _ = writeln!(
        s,
        "\\caption{{Clean {m} and Eq.~3 drops (mean over severity levels) per dataset.{}}}",
        tex_escape(&ci_note(st))
    );
    let _ = writeln!(
        s,
        "\\begin{{tabular}}{{ll{}r}}\n\\toprule",
        "rrr".repeat(ds.len())
    );
    s.push_str(" & ");
    for d in &ds {
        let _ = write!(s, " & \\multicolumn{{3}}{{c}}{{{}}}", tex_escape(d));
    }
    s.push_str(" & \\\\\n");
    s.push_str("Model & Strategy");
    for _ in &ds {
        let _ = write!(s, " & {m} & $\\Delta_{{base}}$ & $\\Delta_{{med}}$");
    }
    s.push_str(" & Avg. $\\Delta_{base}$ \\\\\n\\midrule\n");
    for r in agg.table1() {
        let _ = write!(s, "{} & {}", tex_escape(&r.model), tex_escape(&r.strategy));
        for (c, d) in r.cells.iter().zip(&ds) {
            let (a, b, md) = c.map_or((None, None, None), |(a, b, m)| (Some(a), b, m));
            let k = cells(st, &(r.model.clone(), r.strategy.clone(), d.clone()));
            let _ = write!(
                s,
                " & {} & {} & {}",
                tex_ci(a, k.clean),
                tex_ci(b, k.base),
                tex_ci(md, k.medical)
            );
        }
        let avg = st.and_then(|x| x.average_base.get(&(r.model.clone(), r.strategy.clone())));
        let _ = writeln!(s, " & {} \\\\", tex_ci(r.average_base_drop, avg));
    }
    s.push_str("\\bottomrule\n\\end{tabular}\n\\end{table}\n");
    s
}

pub fn table1_csv(agg: &Aggregate, header: &[String]) -> String {
    table1_csv_with(agg, None, header)
}

/// Table 1 as CSV; with statistics each value is followed by `_ci_low`, `_ci_high` columns.
pub fn table1_csv_with(agg: &Aggregate, st: Option<&Statistics>, header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "# {h}");
    }
    let with = st.is_some();
    let col = |s: &mut String, name: String| {
        let _ = write!(s, ",{name}");
        if with {
            let _ = write!(s, ",{name}_ci_low,{name}_ci_high");
        }
    };
    s.push_str("model,strategy");
    for d in agg.datasets() {
        col(&mut s, format!("{d}_clean_{}", agg.metric));
        col(&mut s, format!("{d}_base_drop"));
        col(&mut s, format!("{d}_medical_drop"));
    }
    col(&mut s, "average_base_drop".into());
    s.push('\n');
    let val = |s: &mut String, v: Option<f64>, ci: Option<&Value>| {
        let _ = write!(s, ",{}", v.map_or(String::new(), |x| format!("{x:.6}")));
        if with {
            let i = ci.and_then(|c| c.ci).map(|e| e.ci());
            let _ = write!(
                s,
                ",{},{}",
                i.map_or(String::new(), |i| format!("{:.6}", i.lo)),
                i.map_or(String::new(), |i| format!("{:.6}", i.hi))
            );
        }
    };
    for r in agg.table1() {
        let _ = write!(s, "{},{}", r.model, r.strategy);
        for (c, d) in r.cells.iter().zip(agg.datasets()) {
            let (a, b, m) = c.map_or((None, None, None), |(a, b, m)| (Some(a), b, m));
            let k = cells(st, &(r.model.clone(), r.strategy.clone(), d));
            val(&mut s, a, k.clean);
            val(&mut s, b, k.base);
            val(&mut s, m, k.medical);
        }
        let avg = st.and_then(|x| x.average_base.get(&(r.model.clone(), r.strategy.clone())));
        val(&mut s, r.average_base_drop, avg);
        s.push('\n');
    }
    s
}

/// The columns of summary.csv.
pub const SUMMARY_HEADER: &str = "model,strategy,dataset,category,perturbation,level,metric,n,clean,perturbed,drop,in_band_fraction,ci_low,ci_high,pct_low,pct_high,p,p_holm,ce,rel_ce,kind,family,versus";

pub fn summary_csv(agg: &Aggregate, header: &[String]) -> String {
    summary_csv_with(agg, None, header)
}

fn ci_cols(v: Option<&Value>) -> String {
    match v.and_then(|v| v.ci) {
        Some(e) => {
            let i = e.ci();
            format!(
                "{:.6},{:.6},{:.6},{:.6}",
                i.lo, i.hi, e.percentile.lo, e.percentile.hi
            )
        }
        None => ",,,".into(),
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |x| format!("{x:.6}"))
}

/// Long format: one row per quantity, `kind` says which:
/// - `clean`: the clean mean of (model, strategy, dataset) (level 0; the interval bounds `clean`);
/// - `drop`: drop(p, s) of one perturbation at one level;
/// - `eq3`: Delta_tau^(s) (`perturbation` = `*`, n = perturbations averaged);
/// - `table1`: Table 1's category drop (level `*`); `table1_average`: the mean over datasets;
/// - `ce`: CE and relative CE against the baseline per perturbation, `perturbation` = `*` for the
///   mCE over `category` (`all` or one category);
/// - `ssim_area`: area of the drop-vs-SSIM curve over [0.5, 1] (in `drop`);
/// - `comparison`: A - B in `drop` for A = (model, strategy, dataset, category, perturbation) and
///   B = `versus`, with the sign-flip `p` and the Holm-adjusted `p_holm` within `family`.
///
/// `ci_low`, `ci_high`: the BCa interval (percentile where BCa is undefined, and always for
/// `ssim_area`); `pct_low`, `pct_high`: the percentile interval.
pub fn summary_csv_with(agg: &Aggregate, st: Option<&Statistics>, header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "# {h}");
    }
    s.push_str(SUMMARY_HEADER);
    s.push('\n');
    let m = &agg.metric;
    for (mds @ (model, strategy, dataset), (c, n)) in &agg.clean {
        let ci = ci_cols(st.and_then(|x| x.clean.get(mds)));
        let _ = writeln!(s, "{model},{strategy},{dataset},clean,clean,0,{m},{n},{c:.6},{c:.6},0.000000,,{ci},,,,,clean,,");
    }
    for (key @ ((model, strategy, dataset), p, level), cell) in &agg.per_perturbation {
        let ci = ci_cols(st.and_then(|x| x.drop.get(key)));
        let _ = writeln!(
            s,
            "{model},{strategy},{dataset},{},{p},{level},{m},{},{:.6},{:.6},{:.6},{:.4},{ci},,,,,drop,,",
            cell.category, cell.n, cell.clean, cell.perturbed, cell.drop, cell.in_band_fraction
        );
    }
    for (key @ ((model, strategy, dataset), cat, level), (d, n)) in &agg.delta {
        let ci = ci_cols(st.and_then(|x| x.delta.get(key)));
        let _ = writeln!(
            s,
            "{model},{strategy},{dataset},{cat},*,{level},{m},{n},,,{d:.6},,{ci},,,,,eq3,,"
        );
    }
    let Some(st) = st else { return s };
    for (((model, strategy, dataset), cat), v) in &st.category {
        let n = agg
            .delta
            .keys()
            .filter(|(mm, c, _)| {
                mm.0 == *model && mm.1 == *strategy && mm.2 == *dataset && c == cat
            })
            .count();
        let _ = writeln!(
            s,
            "{model},{strategy},{dataset},{cat},*,*,{m},{n},,,{:.6},,{},,,,,table1,,",
            v.estimate,
            ci_cols(Some(v))
        );
    }
    for ((model, strategy), v) in &st.average_base {
        let n = agg.datasets().len();
        let _ = writeln!(
            s,
            "{model},{strategy},*,base,*,*,{m},{n},,,{:.6},,{},,,,,table1_average,,",
            v.estimate,
            ci_cols(Some(v))
        );
    }
    for r in &st.ce {
        let (model, strategy, dataset) = &r.mds;
        let _ = writeln!(
            s,
            "{model},{strategy},{dataset},{},{},*,{m},,,,,,,,,,,,{},{},ce,,",
            r.category,
            r.perturbation,
            opt(r.ce),
            opt(r.rel_ce)
        );
    }
    for (((model, strategy, dataset), p), (v, n)) in &st.ssim_area {
        let cat = agg
            .per_perturbation
            .iter()
            .find(|((mm, q, _), _)| {
                mm.0 == *model && mm.1 == *strategy && mm.2 == *dataset && q == p
            })
            .map_or("", |(_, c)| c.category.as_str());
        let _ = writeln!(
            s,
            "{model},{strategy},{dataset},{cat},{p},*,{m},{n},,,{:.6},,{},,,,,ssim_area,,",
            v.estimate,
            ci_cols(Some(v))
        );
    }
    for c in &st.comparisons {
        let _ = writeln!(
            s,
            "{},{},{},{},{},*,{m},{},,,{:.6},,{},{:.6},{:.6},,,comparison,{},{}",
            c.model,
            c.strategy,
            c.dataset,
            c.category,
            c.perturbation,
            c.n,
            c.diff.estimate,
            ci_cols(Some(&c.diff)),
            c.p,
            c.p_holm,
            c.family,
            c.versus
        );
    }
    s
}
