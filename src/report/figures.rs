//! Fig. 3-style figures with `plotters`, each as PNG (bitmap backend) and SVG.
//!
//! Text is drawn with DejaVu Sans, committed under assets/fonts/ and registered with plotters'
//! `ab_glyph` font support: no system font discovery, so a figure renders the same on every
//! machine. Every figure carries a footer with the provenance (config, seed, git revision).

use super::aggregate::Aggregate;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
const W: u32 = 900;
const H: u32 = 560;

fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).map_err(|_| "cannot load the embedded DejaVu Sans font".to_string()))
        .clone()
}

/// A figure to draw.
#[derive(Clone, Debug)]
pub enum Fig {
    /// Horizontal bars, one per label, in the given order (top to bottom).
    Bars { title: String, x_desc: String, items: Vec<(String, f64)> },
    /// Labelled points.
    Scatter { title: String, x_desc: String, y_desc: String, points: Vec<(String, f64, f64)> },
    /// One polyline per series.
    Lines { title: String, x_desc: String, y_desc: String, series: Vec<(String, Vec<(f64, f64)>)> },
}

/// A drawn figure.
pub struct Rendered {
    pub name: String,
    pub png: Vec<u8>,
    pub svg: String,
}

macro_rules! t {
    ($e:expr) => {
        $e.map_err(|e| e.to_string())?
    };
}

fn span(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo).abs() * 0.08).max(1e-3);
    (lo - pad, hi + pad)
}

fn draw<DB: DrawingBackend>(fig: &Fig, root: DrawingArea<DB, Shift>, footer: &str) -> Result<(), String> {
    t!(root.fill(&WHITE));
    let (area, foot) = root.split_vertically(H - 26);
    t!(foot.draw(&Text::new(footer.to_string(), (10, 6), (FAMILY, 13).into_font().color(&RGBColor(80, 80, 80)))));
    let palette = |i: usize| Palette99::pick(i).to_rgba();
    match fig {
        Fig::Bars { title, x_desc, items } => {
            let n = items.len().max(1);
            let lo = items.iter().map(|i| i.1).fold(0.0, f64::min);
            let hi = items.iter().map(|i| i.1).fold(0.0, f64::max);
            let (lo, hi) = span(lo, hi);
            let label_w = items.iter().map(|i| i.0.chars().count()).max().unwrap_or(4) as u32 * 8 + 20;
            let mut chart = t!(ChartBuilder::on(&area)
                .caption(title, (FAMILY, 22))
                .margin(14)
                .x_label_area_size(48)
                .y_label_area_size(label_w.min(360))
                // A discrete i32 range includes its end: 0..n-1 gives exactly n segments.
                .build_cartesian_2d(lo..hi, (0..(n as i32 - 1).max(1)).into_segmented()));
            let names: Vec<String> = items.iter().map(|i| i.0.clone()).rev().collect();
            t!(chart
                .configure_mesh()
                .disable_y_mesh()
                .x_desc(x_desc.as_str())
                .y_labels(n)
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
                    _ => String::new(),
                })
                .label_style((FAMILY, 14))
                .axis_desc_style((FAMILY, 16))
                .draw());
            let m = items.len() as i32;
            t!(chart.draw_series(items.iter().enumerate().map(|(k, (_, v))| {
                let row = m - 1 - k as i32;
                let mut r = Rectangle::new([(0.0, SegmentValue::Exact(row)), (*v, SegmentValue::Exact(row + 1))], palette(0).filled());
                r.set_margin(3, 3, 0, 0);
                r
            })));
        }
        Fig::Scatter { title, x_desc, y_desc, points } => {
            let (x0, x1) = span(points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min), points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max));
            // Room on the right for the labels, which are drawn right of their points.
            let x1 = x1 + (x1 - x0) * 0.3;
            let (y0, y1) = span(points.iter().map(|p| p.2).fold(f64::INFINITY, f64::min), points.iter().map(|p| p.2).fold(f64::NEG_INFINITY, f64::max));
            let mut chart = t!(ChartBuilder::on(&area)
                .caption(title, (FAMILY, 22))
                .margin(14)
                .x_label_area_size(48)
                .y_label_area_size(70)
                .build_cartesian_2d(x0..x1, y0..y1));
            t!(chart.configure_mesh().x_desc(x_desc.as_str()).y_desc(y_desc.as_str()).label_style((FAMILY, 14)).axis_desc_style((FAMILY, 16)).draw());
            for (i, (label, x, y)) in points.iter().enumerate() {
                let c = palette(i);
                let point = EmptyElement::at((*x, *y)) + Circle::new((0, 0), 6, c.filled()) + Text::new(label.clone(), (9, -7), (FAMILY, 14).into_font());
                t!(chart.draw_series(std::iter::once(point)));
            }
        }
        Fig::Lines { title, x_desc, y_desc, series } => {
            let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
            let ys = series.iter().flat_map(|s| s.1.iter().map(|p| p.1));
            let (x0, x1) = span(xs.clone().fold(f64::INFINITY, f64::min), xs.fold(f64::NEG_INFINITY, f64::max));
            let (y0, y1) = span(ys.clone().fold(f64::INFINITY, f64::min), ys.fold(f64::NEG_INFINITY, f64::max));
            let mut chart = t!(ChartBuilder::on(&area)
                .caption(title, (FAMILY, 22))
                .margin(14)
                .x_label_area_size(48)
                .y_label_area_size(70)
                .build_cartesian_2d(x0..x1, y0..y1));
            t!(chart
                .configure_mesh()
                .x_desc(x_desc.as_str())
                .y_desc(y_desc.as_str())
                .x_label_formatter(&|v| if (v - v.round()).abs() < 1e-9 { format!("L{}", v.round() as i64) } else { String::new() })
                .label_style((FAMILY, 14))
                .axis_desc_style((FAMILY, 16))
                .draw());
            for (i, (label, pts)) in series.iter().enumerate() {
                let c = palette(i);
                t!(chart.draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))).label(label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
                t!(chart.draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 4, c.filled()))));
            }
            t!(chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font((FAMILY, 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw());
        }
    }
    t!(root.present());
    Ok(())
}

/// Draw `fig` as PNG bytes and an SVG string.
pub fn render(name: &str, fig: &Fig, footer: &str) -> Result<Rendered, String> {
    register_font()?;
    let mut rgb = vec![0u8; (W * H * 3) as usize];
    draw(fig, BitMapBackend::with_buffer(&mut rgb, (W, H)).into_drawing_area(), footer)?;
    let img = image::RgbImage::from_raw(W, H, rgb).ok_or("bitmap size mismatch")?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).map_err(|e| e.to_string())?;
    let mut svg = String::new();
    draw(fig, SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area(), footer)?;
    // Provenance also as a comment (the footer text is drawn as well).
    let svg = if svg.starts_with("<svg") { format!("<!-- {} -->\n{svg}", footer.replace("--", "- -")) } else { svg };
    Ok(Rendered { name: name.to_string(), png, svg })
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

fn mean_by<K: Ord>(pairs: impl IntoIterator<Item = (K, f64)>) -> BTreeMap<K, f64> {
    let mut m: BTreeMap<K, Vec<f64>> = BTreeMap::new();
    for (k, v) in pairs {
        m.entry(k).or_default().push(v);
    }
    m.into_iter().map(|(k, v)| (k, mean(&v))).collect()
}

fn sorted_desc(m: BTreeMap<String, f64>) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The six figures of the report (name, figure).
pub fn figures(agg: &Aggregate) -> Vec<(String, Fig)> {
    let m = super::metric_label(&agg.metric);
    let drop_desc = format!("{m} drop (clean - perturbed)");
    // Overall drop of (model, strategy, dataset): mean of Delta over categories and levels.
    let mds_drop = mean_by(agg.delta.iter().map(|((mds, _, _), (d, _))| (mds.clone(), *d)));
    let ms = |mds: &(String, String, String)| format!("{} / {}", mds.0, mds.1);

    let clean_ms = mean_by(agg.clean.iter().map(|(mds, (c, _))| (ms(mds), *c)));
    let drop_ms = mean_by(mds_drop.iter().map(|(mds, d)| (ms(mds), *d)));
    let points = clean_ms.iter().filter_map(|(k, c)| drop_ms.get(k).map(|d| (k.clone(), *c, *d))).collect();
    let strategy = sorted_desc(mean_by(mds_drop.iter().map(|(mds, d)| (mds.1.clone(), *d))));
    let model = sorted_desc(mean_by(agg.delta.iter().map(|((mds, cat, _), (d, _))| (format!("{} ({cat})", mds.0), *d))));
    let dataset = sorted_desc(mean_by(agg.delta.iter().map(|((mds, cat, _), (d, _))| (format!("{} ({cat})", mds.2), *d))));
    let mut top = sorted_desc(mean_by(agg.per_perturbation.iter().map(|((_, p, _), c)| (p.clone(), c.drop))));
    top.truncate(15);
    let series: BTreeMap<String, Vec<(f64, f64)>> = {
        let by = mean_by(agg.delta.iter().map(|((mds, _, l), (d, _))| ((ms(mds), *l), *d)));
        let mut s: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for ((k, l), d) in by {
            s.entry(k).or_default().push((l as f64, d));
        }
        s
    };
    vec![
        (
            "tradeoff".into(),
            Fig::Scatter { title: "Performance-robustness trade-off".into(), x_desc: format!("clean {m} (mean over datasets)"), y_desc: drop_desc.clone(), points },
        ),
        ("strategy_ranking".into(), Fig::Bars { title: "Strategy ranking (larger = less robust)".into(), x_desc: drop_desc.clone(), items: strategy }),
        ("model_comparison".into(), Fig::Bars { title: "Model comparison by perturbation category".into(), x_desc: drop_desc.clone(), items: model }),
        ("dataset_sensitivity".into(), Fig::Bars { title: "Dataset sensitivity by perturbation category".into(), x_desc: drop_desc.clone(), items: dataset }),
        ("top15_perturbations".into(), Fig::Bars { title: "Top 15 perturbations by mean drop".into(), x_desc: drop_desc.clone(), items: top }),
        (
            "drop_vs_severity".into(),
            Fig::Lines { title: "Drop vs severity (Eq. 3, mean over categories)".into(), x_desc: "severity level".into(), y_desc: drop_desc, series: series.into_iter().collect() },
        ),
    ]
}
