//! The self-contained report.html: provenance, Table 1, the Eq. 3 table per level, and every
//! figure inline as SVG (no scripts, no external files).

use super::aggregate::Aggregate;
use super::figures::Rendered;
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn num(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.3}"))
}

pub fn page(agg: &Aggregate, header: &[String], figs: &[Rendered]) -> String {
    let mut s = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>medfm-robust report</title>\n<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}th{background:#eee}td:first-child,td:nth-child(2){text-align:left}.prov{color:#555;font-size:13px}figure{margin:2em 0}svg{max-width:100%;height:auto}</style></head><body>\n");
    s.push_str("<h1>medfm-robust benchmark report</h1>\n<div class=\"prov\">");
    for h in header {
        let _ = write!(s, "{}<br>", esc(h));
    }
    s.push_str("</div>\n");
    let m = super::metric_label(&agg.metric);
    let ds = agg.datasets();
    let _ = writeln!(s, "<h2>Table 1</h2><p>Clean {m} and Eq. 3 drops (mean over levels of &Delta;<sub>&tau;</sub><sup>(s)</sup>) per dataset; {} record(s) with errors left out.</p>", agg.errors);
    s.push_str("<table><tr><th>model</th><th>strategy</th>");
    for d in &ds {
        let _ = write!(s, "<th>{d} clean {m}</th><th>{d} base drop</th><th>{d} medical drop</th>", d = esc(d));
    }
    s.push_str("<th>average base drop</th></tr>\n");
    for r in agg.table1() {
        let _ = write!(s, "<tr><td>{}</td><td>{}</td>", esc(&r.model), esc(&r.strategy));
        for c in &r.cells {
            let (a, b, md) = c.map_or((None, None, None), |(a, b, md)| (Some(a), b, md));
            let _ = write!(s, "<td>{}</td><td>{}</td><td>{}</td>", num(a), num(b), num(md));
        }
        let _ = writeln!(s, "<td>{}</td></tr>", num(r.average_base_drop));
    }
    s.push_str("</table>\n");
    let levels = agg.levels();
    let _ = writeln!(s, "<h2>Eq. 3 by severity</h2><table><tr><th>model / strategy</th><th>dataset</th><th>category</th>");
    for l in &levels {
        let _ = write!(s, "<th>L{l}</th>");
    }
    s.push_str("</tr>\n");
    let mut rows: Vec<((String, String, String), String)> = agg.delta.keys().map(|(mds, c, _)| (mds.clone(), c.clone())).collect();
    rows.dedup();
    for (mds, cat) in rows {
        let _ = write!(s, "<tr><td>{} / {}</td><td>{}</td><td>{}</td>", esc(&mds.0), esc(&mds.1), esc(&mds.2), esc(&cat));
        for l in &levels {
            let _ = write!(s, "<td>{}</td>", num(agg.delta.get(&(mds.clone(), cat.clone(), *l)).map(|d| d.0)));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n<h2>Figures</h2>\n");
    for f in figs {
        let svg = f.svg.find("<svg").map_or(f.svg.as_str(), |i| &f.svg[i..]);
        let _ = writeln!(s, "<figure id=\"{}\">{svg}<figcaption>{} (also figures/{}.png, .svg)</figcaption></figure>", esc(&f.name), esc(&f.name), esc(&f.name));
    }
    s.push_str("</body></html>\n");
    s
}
