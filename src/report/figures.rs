//! Fig. 3-style figures with `plotters`, each as PNG (bitmap backend) and SVG.
//!
//! Text is drawn with DejaVu Sans, committed under assets/fonts/ and registered with plotters'
//! `ab_glyph` font support: no system font discovery, so a figure renders the same on every
//! machine. Every figure carries a footer with the provenance (config, seed, git revision).

use super::aggregate::Aggregate;
use super::inference::{Item, Statistics, Value};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::OnceLock;

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";
const W: u32 = 900;
const H: u32 = 560;

fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| "cannot load the embedded DejaVu Sans font".to_string())
    })
    .clone()
}

/// A figure to draw.
#[derive(Clone, Debug)]
pub enum Fig {
    /// Horizontal bars, one per label, in the given order (top to bottom), each with an optional
    /// interval (error bar). `marks[k]`, when given: whether bar k differs from bar k + 1 (drawn
    /// as "*" between them, "ns" when not).
    Bars {
        title: String,
        x_desc: String,
        items: Vec<Bar>,
        marks: Option<Vec<bool>>,
    },
    /// Labelled points with optional intervals in x and y.
    Scatter {
        title: String,
        x_desc: String,
        y_desc: String,
        points: Vec<(String, ValueCi, ValueCi)>,
    },
    /// One polyline per series, points with optional intervals in y.
    Lines {
        title: String,
        x_desc: String,
        y_desc: String,
        series: Vec<(String, Vec<LinePoint>)>,
    },
}

/// An interval (lo, hi) drawn as an error bar.
pub type Ci = (f64, f64);
/// A bar: (label, value, interval).
pub type Bar = (String, f64, Option<Ci>);
/// A value with its interval.
pub type ValueCi = (f64, Option<Ci>);
/// A line point: (x, y, interval of y).
pub type LinePoint = (f64, f64, Option<Ci>);

fn ends(v: f64, ci: &Option<Ci>) -> [f64; 3] {
    ci.map_or([v, v, v], |(lo, hi)| [v, lo, hi])
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
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let pad = ((hi - lo).abs() * 0.08).max(1e-3);
    (lo - pad, hi + pad)
}

fn draw<DB: DrawingBackend>(
    fig: &Fig,
    root: DrawingArea<DB, Shift>,
    footer: &str,
) -> Result<(), String> {
    t!(root.fill(&WHITE));
    let (area, foot) = root.split_vertically(H - 26);
    t!(foot.draw(&Text::new(
        footer.to_string(),
        (10, 6),
        (FAMILY, 13).into_font().color(&RGBColor(80, 80, 80))
    )));
    let palette = |i: usize| Palette99::pick(i).to_rgba();
    match fig {
        Fig::Bars {
            title,
            x_desc,
            items,
            marks,
        } => {
            let n = items.len().max(1);
            let lo = items
                .iter()
                .flat_map(|i| ends(i.1, &i.2))
                .fold(0.0, f64::min);
            let hi = items
                .iter()
                .flat_map(|i| ends(i.1, &i.2))
                .fold(0.0, f64::max);
            let (lo, hi) = span(lo, hi);
            // Room on the right for the marks.
            let hi = if marks.is_some() {
                hi + (hi - lo) * 0.06
            } else {
                hi
            };
            let label_w =
                items.iter().map(|i| i.0.chars().count()).max().unwrap_or(4) as u32 * 8 + 20;
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
                    SegmentValue::CenterOf(i) =>
                        names.get(*i as usize).cloned().unwrap_or_default(),
                    _ => String::new(),
                })
                .label_style((FAMILY, 14))
                .axis_desc_style((FAMILY, 16))
                .draw());
            let m = items.len() as i32;
            t!(
                chart.draw_series(items.iter().enumerate().map(|(k, (_, v, _))| {
                    let row = m - 1 - k as i32;
                    let mut r = Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(row)),
                            (*v, SegmentValue::Exact(row + 1)),
                        ],
                        palette(0).mix(0.75).filled(),
                    );
                    r.set_margin(3, 3, 0, 0);
                    r
                }))
            );
            // Error bars: a line over the interval with end caps.
            for (k, (_, _, ci)) in items.iter().enumerate() {
                let Some((a, b)) = *ci else { continue };
                let row = SegmentValue::CenterOf(m - 1 - k as i32);
                t!(chart.draw_series(std::iter::once(PathElement::new(
                    vec![(a, row.clone()), (b, row.clone())],
                    BLACK.stroke_width(2)
                ))));
                for x in [a, b] {
                    t!(chart.draw_series(std::iter::once(
                        EmptyElement::at((x, row.clone()))
                            + PathElement::new(vec![(0, -6), (0, 6)], BLACK.stroke_width(2))
                    )));
                }
            }
            if let Some(marks) = marks {
                for (k, &d) in marks
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| k + 1 < items.len())
                {
                    let edge = SegmentValue::Exact(m - 1 - k as i32);
                    let text = if d { "*" } else { "ns" };
                    // Centred on the boundary between the two bars.
                    let mark = EmptyElement::at((hi - (hi - lo) * 0.045, edge))
                        + Text::new(
                            text.to_string(),
                            (0, -8),
                            (FAMILY, 15).into_font().color(&RGBColor(150, 0, 0)),
                        );
                    t!(chart.draw_series(std::iter::once(mark)));
                }
            }
        }
        Fig::Scatter {
            title,
            x_desc,
            y_desc,
            points,
        } => {
            let xs = points.iter().flat_map(|p| ends(p.1 .0, &p.1 .1));
            let ys = points.iter().flat_map(|p| ends(p.2 .0, &p.2 .1));
            let (x0, x1) = span(
                xs.clone().fold(f64::INFINITY, f64::min),
                xs.fold(f64::NEG_INFINITY, f64::max),
            );
            // Room on the right for the labels, which are drawn right of their points.
            let x1 = x1 + (x1 - x0) * 0.3;
            let (y0, y1) = span(
                ys.clone().fold(f64::INFINITY, f64::min),
                ys.fold(f64::NEG_INFINITY, f64::max),
            );
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
                .label_style((FAMILY, 14))
                .axis_desc_style((FAMILY, 16))
                .draw());
            for (i, (label, (x, xci), (y, yci))) in points.iter().enumerate() {
                let c = palette(i);
                if let Some((a, b)) = *xci {
                    t!(chart.draw_series(std::iter::once(PathElement::new(
                        vec![(a, *y), (b, *y)],
                        c.stroke_width(2)
                    ))));
                }
                if let Some((a, b)) = *yci {
                    t!(chart.draw_series(std::iter::once(PathElement::new(
                        vec![(*x, a), (*x, b)],
                        c.stroke_width(2)
                    ))));
                }
                let point = EmptyElement::at((*x, *y))
                    + Circle::new((0, 0), 6, c.filled())
                    + Text::new(label.clone(), (9, -7), (FAMILY, 14).into_font());
                t!(chart.draw_series(std::iter::once(point)));
            }
        }
        Fig::Lines {
            title,
            x_desc,
            y_desc,
            series,
        } => {
            let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
            let ys = series
                .iter()
                .flat_map(|s| s.1.iter().flat_map(|p| ends(p.1, &p.2)));
            let (x0, x1) = span(
                xs.clone().fold(f64::INFINITY, f64::min),
                xs.fold(f64::NEG_INFINITY, f64::max),
            );
            let (y0, y1) = span(
                ys.clone().fold(f64::INFINITY, f64::min),
                ys.fold(f64::NEG_INFINITY, f64::max),
            );
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
                .x_label_formatter(&|v| if (v - v.round()).abs() < 1e-9 {
                    format!("L{}", v.round() as i64)
                } else {
                    String::new()
                })
                .label_style((FAMILY, 14))
                .axis_desc_style((FAMILY, 16))
                .draw());
            let k = series.len().max(1) as f64;
            for (i, (label, pts)) in series.iter().enumerate() {
                let c = palette(i);
                // Series side by side around each level so their error bars do not overlap.
                let dx = if k > 1.0 {
                    (i as f64 - (k - 1.0) / 2.0) * (0.3 / k)
                } else {
                    0.0
                };
                let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.0 + dx, p.1)).collect();
                t!(chart.draw_series(LineSeries::new(xy.clone(), c.stroke_width(2))))
                    .label(label.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
                t!(chart.draw_series(xy.iter().map(|&(x, y)| Circle::new((x, y), 4, c.filled()))));
                for p in pts {
                    if let Some((a, b)) = p.2 {
                        t!(chart.draw_series(std::iter::once(PathElement::new(
                            vec![(p.0 + dx, a), (p.0 + dx, b)],
                            c.stroke_width(1)
                        ))));
                    }
                }
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
    draw(
        fig,
        BitMapBackend::with_buffer(&mut rgb, (W, H)).into_drawing_area(),
        footer,
    )?;
    let img = image::RgbImage::from_raw(W, H, rgb).ok_or("bitmap size mismatch")?;
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    let mut svg = String::new();
    draw(
        fig,
        SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area(),
        footer,
    )?;
    // Provenance also as a comment (the footer text is drawn as well).
    let svg = if svg.starts_with("<svg") {
        format!("<!-- {} -->\n{svg}", footer.replace("--", "- -"))
    } else {
        svg
    };
    Ok(Rendered {
        name: name.to_string(),
        png,
        svg,
    })
}

fn ci(v: &Value) -> Option<Ci> {
    v.ci.map(|e| {
        let i = e.ci();
        (i.lo, i.hi)
    })
}

fn bars(items: &[Item]) -> Vec<Bar> {
    items
        .iter()
        .map(|i| (i.label.clone(), i.value.estimate, ci(&i.value)))
        .collect()
}

/// The figures of the report (name, figure), every bar and point with its bootstrap interval.
pub fn figures(agg: &Aggregate, st: &Statistics) -> Vec<(String, Fig)> {
    let m = super::metric_label(&agg.metric);
    let level = format!("{:.0}%", st.options.level * 100.0);
    let bars_note = if st.options.replicates > 0 {
        format!("; bars: {level} bootstrap CI")
    } else {
        String::new()
    };
    let drop_desc = format!("{m} drop (clean - perturbed){bars_note}");
    let f = &st.figures;
    let alpha = format!("{:.2}", 1.0 - st.options.level);
    let mark_note = format!("{m} drop{bars_note}; * = differs from the bar below (Holm p < {alpha}), ns = not distinguishable");
    let points = f
        .tradeoff
        .iter()
        .map(|(k, c, d)| (k.clone(), (c.estimate, ci(c)), (d.estimate, ci(d))))
        .collect();
    let series = f
        .series
        .iter()
        .map(|(k, pts)| {
            (
                k.clone(),
                pts.iter()
                    .map(|(l, v)| (*l as f64, v.estimate, ci(v)))
                    .collect(),
            )
        })
        .collect();
    let mut out = vec![
        (
            "tradeoff".into(),
            Fig::Scatter {
                title: "Performance-robustness trade-off".into(),
                x_desc: format!("clean {m} (mean over datasets){bars_note}"),
                y_desc: format!("{m} drop (clean - perturbed)"),
                points,
            },
        ),
        (
            "strategy_ranking".into(),
            Fig::Bars {
                title: "Strategy ranking (larger = less robust)".into(),
                x_desc: mark_note.clone(),
                items: bars(&f.strategy),
                marks: Some(f.strategy_distinct.clone()),
            },
        ),
        (
            "model_comparison".into(),
            Fig::Bars {
                title: "Model comparison by perturbation category".into(),
                x_desc: drop_desc.clone(),
                items: bars(&f.model),
                marks: None,
            },
        ),
        (
            "dataset_sensitivity".into(),
            Fig::Bars {
                title: "Dataset sensitivity by perturbation category".into(),
                x_desc: drop_desc.clone(),
                items: bars(&f.dataset),
                marks: None,
            },
        ),
        (
            "top15_perturbations".into(),
            Fig::Bars {
                title: "Top 15 perturbations by mean drop".into(),
                x_desc: mark_note,
                items: bars(&f.top),
                marks: Some(f.top_distinct.clone()),
            },
        ),
        (
            "drop_vs_severity".into(),
            Fig::Lines {
                title: "Drop vs severity (Eq. 3, mean over categories)".into(),
                x_desc: format!("severity level{bars_note}"),
                y_desc: format!("{m} drop (clean - perturbed)"),
                series,
            },
        ),
    ];
    if !f.ssim_area.is_empty() {
        out.push((
            "ssim_area".into(),
            Fig::Bars {
                title: "Area under the drop-vs-SSIM curve, SSIM 0.5-1 (top 15)".into(),
                x_desc: format!("area ({m} drop x SSIM; / 0.5 = mean drop){bars_note}"),
                items: bars(&f.ssim_area),
                marks: None,
            },
        ));
    }
    out
}
