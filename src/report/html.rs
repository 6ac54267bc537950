//! The self-contained report.html: provenance, Table 1, the Eq. 3 table per level, and every
//! figure inline as SVG (no scripts, no external files).

use super::aggregate::Aggregate;
use super::figures::Rendered;
use super::inference::{Statistics, Value};
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.3}"))
}

/// A number with its interval in small type.
fn num_ci(v: Option<f64>, ci: Option<&Value>) -> String {
    match (v, ci.and_then(|c| c.ci)) {
        (Some(x), Some(e)) => {
            let i = e.ci();
            format!("{x:.3} <small>[{:.3}, {:.3}]</small>", i.lo, i.hi)
        }
        _ => num(v),
    }
}

fn family_title(f: &str) -> &'static str {
    match f {
        "table1_strategy" => "Table 1: strategy vs strategy (same model, dataset and category)",
        "table1_model" => "Table 1: model vs model (same strategy, dataset and category)",
        "base_vs_medical" => "Table 1: base vs medical drop (same model, strategy and dataset)",
        "strategy_ranking" => "Strategy ranking: each strategy vs the next one down",
        "top_perturbations" => "Top perturbations: each vs the next one down",
        _ => "Other comparisons",
    }
}

pub fn page(agg: &Aggregate, header: &[String], figs: &[Rendered]) -> String {
    page_with(agg, None, header, figs)
}

pub fn page_with(
    agg: &Aggregate,
    st: Option<&Statistics>,
    header: &[String],
    figs: &[Rendered],
) -> String {
    let mut s = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>medfm-robust report</title>\n<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}th{background:#eee}td:first-child,td:nth-child(2){text-align:left}.prov{color:#555;font-size:13px}figure{margin:2em 0}svg{max-width:100%;height:auto}</style></head><body>\n");
    s.push_str("<h1>medfm-robust benchmark report</h1>\n<div class=\"prov\">");
    for h in header {
        let _ = write!(s, "{}<br>", esc(h));
    }
    s.push_str("</div>\n");
    let m = super::metric_label(&agg.metric);
    let ds = agg.datasets();
    let ci_note = st.filter(|x| x.options.replicates > 0).map_or(String::new(), |x| {
        format!(" [lo, hi]: {:.0}% paired bootstrap interval (BCa, B = {}, seed {}; samples resampled, clean and perturbed kept paired).", x.options.level * 100.0, x.options.replicates, x.options.seed)
    });
    let _ = writeln!(s, "<h2>Table 1</h2><p>Clean {m} and Eq. 3 drops (mean over levels of &Delta;<sub>&tau;</sub><sup>(s)</sup>) per dataset; {} record(s) with errors left out.{ci_note}</p>", agg.errors);
    s.push_str("<table><tr><th>model</th><th>strategy</th>");
    for d in &ds {
        let _ = write!(
            s,
            "<th>{d} clean {m}</th><th>{d} base drop</th><th>{d} medical drop</th>",
            d = esc(d)
        );
    }
    s.push_str("<th>average base drop</th></tr>\n");
    for r in agg.table1() {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td>",
            esc(&r.model),
            esc(&r.strategy)
        );
        for (c, d) in r.cells.iter().zip(&ds) {
            let (a, b, md) = c.map_or((None, None, None), |(a, b, md)| (Some(a), b, md));
            let mds = (r.model.clone(), r.strategy.clone(), d.clone());
            let cat = |c: &str| st.and_then(|x| x.category.get(&(mds.clone(), c.to_string())));
            let _ = write!(
                s,
                "<td>{}</td><td>{}</td><td>{}</td>",
                num_ci(a, st.and_then(|x| x.clean.get(&mds))),
                num_ci(b, cat("base")),
                num_ci(md, cat("medical"))
            );
        }
        let _ = writeln!(
            s,
            "<td>{}</td></tr>",
            num_ci(
                r.average_base_drop,
                st.and_then(|x| x.average_base.get(&(r.model.clone(), r.strategy.clone())))
            )
        );
    }
    s.push_str("</table>\n");
    let levels = agg.levels();
    let _ = writeln!(s, "<h2>Eq. 3 by severity</h2><table><tr><th>model / strategy</th><th>dataset</th><th>category</th>");
    for l in &levels {
        let _ = write!(s, "<th>L{l}</th>");
    }
    s.push_str("</tr>\n");
    let mut rows: Vec<((String, String, String), String)> = agg
        .delta
        .keys()
        .map(|(mds, c, _)| (mds.clone(), c.clone()))
        .collect();
    rows.dedup();
    for (mds, cat) in rows {
        let _ = write!(
            s,
            "<tr><td>{} / {}</td><td>{}</td><td>{}</td>",
            esc(&mds.0),
            esc(&mds.1),
            esc(&mds.2),
            esc(&cat)
        );
        for l in &levels {
            let key = (mds.clone(), cat.clone(), *l);
            let _ = write!(
                s,
                "<td>{}</td>",
                num_ci(
                    agg.delta.get(&key).map(|d| d.0),
                    st.and_then(|x| x.delta.get(&key))
                )
            );
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    if let Some(st) = st {
        comparisons(&mut s, st);
        corruption_errors(&mut s, agg, st);
    }
    s.push_str("<h2>Figures</h2>\n");
    for f in figs {
        let svg = f.svg.find("<svg").map_or(f.svg.as_str(), |i| &f.svg[i..]);
        let _ = writeln!(s, "<figure id=\"{}\">{svg}<figcaption>{} (also figures/{}.png, .svg)</figcaption></figure>", esc(&f.name), esc(&f.name), esc(&f.name));
    }
    s.push_str("</body></html>\n");
    s
}

/// One line per comparison: does the difference hold at the options' level (Holm-adjusted
/// sign-flip p within its family)?
fn comparisons(s: &mut String, st: &Statistics) {
    let level = st.options.level;
    let pct = format!("{:.0}%", level * 100.0);
    let _ = writeln!(
        s,
        "<h2>Comparisons</h2><p>Paired difference A &minus; B of the drops (same samples), its {pct} bootstrap interval, the two-sided sign-flip p-value ({} resamples) and Holm's adjustment over each family; a claim <b>holds at {pct}</b> when the adjusted p is below {:.2}.</p>",
        st.options.permutations,
        1.0 - level
    );
    let mut fam = String::new();
    for c in &st.comparisons {
        if c.family != fam {
            if !fam.is_empty() {
                s.push_str("</ul>\n");
            }
            fam = c.family.clone();
            let k = st.comparisons.iter().filter(|x| x.family == fam).count();
            let h = st
                .comparisons
                .iter()
                .filter(|x| x.family == fam && x.holds(level))
                .count();
            let _ = writeln!(
                s,
                "<h3>{} ({h} of {k} hold)</h3><ul>",
                esc(family_title(&fam))
            );
        }
        let ci = c.diff.ci.map_or(String::new(), |e| {
            format!(" [{:.3}, {:.3}]", e.ci().lo, e.ci().hi)
        });
        let verdict = if c.holds(level) {
            format!("<b>holds at {pct}</b>")
        } else {
            format!("does not hold at {pct}")
        };
        let _ = writeln!(
            s,
            "<li>{} &minus; {}: {:+.3}{ci}, n = {}, p = {:.4}, Holm p = {:.4}: {verdict}</li>",
            esc(&c.a_label()),
            esc(&c.versus),
            c.diff.estimate,
            c.n,
            c.p,
            c.p_holm
        );
    }
    if !fam.is_empty() {
        s.push_str("</ul>\n");
    }
}

fn corruption_errors(s: &mut String, agg: &Aggregate, st: &Statistics) {
    let Some((bm, bs)) = &st.baseline else { return };
    let scale = crate::stats::ce::error_scale(&agg.metric);
    let err = if scale == 1.0 {
        format!("1 &minus; {}", super::metric_label(&agg.metric))
    } else {
        format!("{scale} &minus; {}", super::metric_label(&agg.metric))
    };
    let _ = writeln!(s, "<h2>Corruption error relative to {} / {}</h2><p>CE = &Sigma;<sub>s</sub> E<sub>s</sub> / &Sigma;<sub>s</sub> E<sub>s</sub><sup>baseline</sup> per perturbation (error = {err}), relative CE from the errors minus the clean error; mCE and relative mCE are their means over perturbations (Hendrycks &amp; Dietterich 2019).</p>", esc(bm), esc(bs));
    s.push_str("<table><tr><th>model / strategy</th><th>dataset</th><th>perturbations</th><th>mCE</th><th>relative mCE</th></tr>\n");
    for r in st.ce.iter().filter(|r| r.perturbation == "*") {
        let _ = writeln!(
            s,
            "<tr><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.mds.0),
            esc(&r.mds.1),
            esc(&r.mds.2),
            esc(&r.category),
            num(r.ce),
            num(r.rel_ce)
        );
    }
    s.push_str("</table>\n");
}
