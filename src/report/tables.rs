//! Table 1 (Markdown, LaTeX, CSV) and the long-format summary.csv.
//!
//! Every file starts with the provenance header (config, seed, versions, device, git revision) as
//! comments of its format: `<!-- -->` in Markdown, `%` in LaTeX, `#` in CSV (pandas:
//! `pd.read_csv(path, comment="#")`). Numbers are printed with 4 decimals (Table 1: 3).

use super::aggregate::Aggregate;
use std::fmt::Write as _;

fn fmt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"))
}

pub fn table1_markdown(agg: &Aggregate, header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "<!-- {h} -->");
    }
    let ds = agg.datasets();
    let m = super::metric_label(&agg.metric);
    let _ = writeln!(s, "\nTable 1: clean {m} and Eq. 3 drops (mean over levels of Delta_tau^(s)), per dataset.\n");
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
        for c in &r.cells {
            let (a, b, m) = c.map_or((None, None, None), |(a, b, m)| (Some(a), b, m));
            let _ = write!(s, " {} | {} | {} |", fmt(a, 3), fmt(b, 3), fmt(m, 3));
        }
        let _ = writeln!(s, " {} |", fmt(r.average_base_drop, 3));
    }
    s
}

fn tex_escape(t: &str) -> String {
    t.replace('\\', "\\textbackslash{}").replace('_', "\\_").replace('&', "\\&").replace('%', "\\%").replace('#', "\\#")
}

pub fn table1_latex(agg: &Aggregate, header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "% {h}");
    }
    let ds = agg.datasets();
    let m = super::metric_label(&agg.metric);
    let _ = writeln!(s, "\\begin{{table}}[t]\n\\centering\n\\small");
    let _ = writeln!(s, "\\caption{{Clean {m} and Eq.~3 drops (mean over severity levels) per dataset.}}");
    let _ = writeln!(s, "\\begin{{tabular}}{{ll{}r}}\n\\toprule", "rrr".repeat(ds.len()));
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
        for c in &r.cells {
            let (a, b, m) = c.map_or((None, None, None), |(a, b, m)| (Some(a), b, m));
            let _ = write!(s, " & {} & {} & {}", fmt(a, 3), fmt(b, 3), fmt(m, 3));
        }
        let _ = writeln!(s, " & {} \\\\", fmt(r.average_base_drop, 3));
    }
    s.push_str("\\bottomrule\n\\end{tabular}\n\\end{table}\n");
    s
}

pub fn table1_csv(agg: &Aggregate, header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "# {h}");
    }
    s.push_str("model,strategy");
    for d in agg.datasets() {
        let _ = write!(s, ",{d}_clean_{m},{d}_base_drop,{d}_medical_drop", m = agg.metric);
    }
    s.push_str(",average_base_drop\n");
    for r in agg.table1() {
        let _ = write!(s, "{},{}", r.model, r.strategy);
        for c in &r.cells {
            let (a, b, m) = c.map_or((None, None, None), |(a, b, m)| (Some(a), b, m));
            let f = |v: Option<f64>| v.map_or(String::new(), |x| format!("{x:.6}"));
            let _ = write!(s, ",{},{},{}", f(a), f(b), f(m));
        }
        let _ = writeln!(s, ",{}", r.average_base_drop.map_or(String::new(), |x| format!("{x:.6}")));
    }
    s
}

/// Long format: one row per (model, strategy, dataset, category, perturbation, level);
/// `perturbation` = `*` rows are the Eq. 3 category means (n = perturbations averaged); level 0
/// rows are the clean means.
pub fn summary_csv(agg: &Aggregate, header: &[String]) -> String {
    let mut s = String::new();
    for h in header {
        let _ = writeln!(s, "# {h}");
    }
    s.push_str("model,strategy,dataset,category,perturbation,level,metric,n,clean,perturbed,drop,in_band_fraction\n");
    let m = &agg.metric;
    for ((model, strategy, dataset), (c, n)) in &agg.clean {
        let _ = writeln!(s, "{model},{strategy},{dataset},clean,clean,0,{m},{n},{c:.6},{c:.6},0.000000,");
    }
    for (((model, strategy, dataset), p, level), cell) in &agg.per_perturbation {
        let _ = writeln!(
            s,
            "{model},{strategy},{dataset},{},{p},{level},{m},{},{:.6},{:.6},{:.6},{:.4}",
            cell.category, cell.n, cell.clean, cell.perturbed, cell.drop, cell.in_band_fraction
        );
    }
    for (((model, strategy, dataset), cat, level), (d, n)) in &agg.delta {
        let _ = writeln!(s, "{model},{strategy},{dataset},{cat},*,{level},{m},{n},,,{d:.6},");
    }
    s
}
