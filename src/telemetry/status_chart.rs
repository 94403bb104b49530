//! The small SVG chart on an app's status page: Machines (started, created, and the
//! started target) over the kept points, the first metric under it on its own scale,
//! actions as dots and failed rounds as red marks. Inline SVG: no script, no request.

use std::fmt::Write;

use crate::markup::escape;
use crate::reconcile::status::Point;

const W: f64 = 720.0;
const LEFT: f64 = 44.0;
const PANEL: f64 = 150.0;
const METRIC_PANEL: f64 = 80.0;
const GAP: f64 = 28.0;

/// `HH:MM`, with seconds when the chart spans less than an hour.
fn clock(t: f64, span: f64) -> String {
    let s = t.rem_euclid(86400.0) as u64;
    if span < 3600.0 {
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 3600, s / 60 % 60)
    }
}

/// A polyline through the points that have a value.
fn line(points: &[(f64, Option<f64>)], color: &str, dash: &str, out: &mut String) {
    let mut d = String::new();
    for (x, y) in points {
        if let Some(y) = y {
            let _ = write!(d, "{}{x:.1},{y:.1} ", if d.is_empty() { "M" } else { "L" });
        }
    }
    if !d.is_empty() {
        let _ = write!(
            out,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{dash}/>"
        );
    }
}

pub fn chart(points: &[Point], metric: Option<&str>) -> String {
    if points.is_empty() {
        return String::new();
    }
    let (t0, t1) = (points[0].at, points[points.len() - 1].at);
    let span = (t1 - t0).max(1.0);
    let x = |t: f64| LEFT + (t - t0) / span * (W - LEFT - 10.0);
    let target = |p: &Point| (p.target >= 0).then_some(f64::from(p.target));
    let ymax = points
        .iter()
        .flat_map(|p| {
            [
                f64::from(p.created),
                f64::from(p.started),
                target(p).unwrap_or(0.0),
            ]
        })
        .fold(1.0, f64::max)
        .ceil();
    let y = |v: f64| 10.0 + PANEL - v / ymax * PANEL;
    let metric = metric.filter(|_| points.iter().any(|p| p.metric.is_finite()));
    let h = 10.0
        + PANEL
        + GAP
        + if metric.is_some() {
            METRIC_PANEL + GAP
        } else {
            0.0
        };
    let mut s = format!(
        "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {h}\" width=\"{W}\" height=\"{h}\" role=\"img\" aria-label=\"Machines over the last rounds\" font-size=\"11\" font-family=\"sans-serif\">"
    );
    // Axes and labels.
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/>\
         <text x=\"{tx}\" y=\"14\" text-anchor=\"end\">{ymax}</text><text x=\"{tx}\" y=\"{b}\" text-anchor=\"end\">0</text>\
         <text x=\"{LEFT}\" y=\"{lb}\">{}</text><text x=\"{r}\" y=\"{lb}\" text-anchor=\"end\">{} UTC</text>",
        clock(t0, span),
        clock(t1, span),
        b = y(0.0),
        r = W - 10.0,
        tx = LEFT - 4.0,
        lb = y(0.0) + 14.0,
    );
    let pts = |f: &dyn Fn(&Point) -> Option<f64>| -> Vec<(f64, Option<f64>)> {
        points.iter().map(|p| (x(p.at), f(p).map(&y))).collect()
    };
    let ok = |p: &Point| !p.failed;
    line(
        &pts(&|p| ok(p).then_some(f64::from(p.created))),
        "#9aa5b1",
        "",
        &mut s,
    );
    line(
        &pts(&target),
        "#ff7f0e",
        " stroke-dasharray=\"5,4\"",
        &mut s,
    );
    line(
        &pts(&|p| ok(p).then_some(f64::from(p.started))),
        "#1f77b4",
        "",
        &mut s,
    );
    for p in points {
        if p.failed {
            let _ = write!(s, "<line class=\"failed\" x1=\"{0:.1}\" y1=\"{1:.1}\" x2=\"{0:.1}\" y2=\"{2:.1}\" stroke=\"#d62728\" stroke-width=\"2\"/>", x(p.at), y(0.0) - 8.0, y(0.0));
        } else if p.acted {
            let _ = write!(
                s,
                "<circle class=\"action\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"#222\"/>",
                x(p.at),
                y(f64::from(p.started)),
            );
        }
    }
    let _ = write!(
        s,
        "<text x=\"{LEFT}\" y=\"{}\"><tspan fill=\"#1f77b4\">— started</tspan>  <tspan fill=\"#9aa5b1\">— created</tspan>  <tspan fill=\"#ff7f0e\">- - started target</tspan>  ● action (or planned)  <tspan fill=\"#d62728\">| failed round</tspan></text>",
        y(0.0) + 26.0
    );
    if let Some(name) = metric {
        let top = 10.0 + PANEL + GAP + 6.0;
        let value = |p: &Point| Some(f64::from(p.metric)).filter(|v| v.is_finite());
        let mmax = points.iter().filter_map(value).fold(0.0, f64::max);
        let mmax = if mmax > 0.0 { mmax } else { 1.0 };
        let my = |v: f64| top + METRIC_PANEL - v / mmax * METRIC_PANEL;
        let line_points: Vec<(f64, Option<f64>)> =
            points.iter().map(|p| (x(p.at), value(p).map(my))).collect();
        line(&line_points, "#2ca02c", "", &mut s);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/>\
             <text x=\"{tx}\" y=\"{t}\" text-anchor=\"end\">{mmax}</text>\
             <text x=\"{LEFT}\" y=\"{lb}\" fill=\"#2ca02c\">— {}</text>",
            escape(name),
            b = my(0.0),
            r = W - 10.0,
            tx = LEFT - 4.0,
            t = top + 4.0,
            lb = my(0.0) + 14.0,
        );
    }
    s.push_str("</svg>");
    s
}
