//! `fas simulate --chart`: an SVG with one panel per policy, stacked on one time axis
//! and one Machines scale, so each policy's flaps can be seen and compared. Each panel
//! draws the demand (dashed), started Machines (solid) and created ones (faint).
//! Built from the numbers alone: the same run gives a byte-identical file.

use std::fmt::Write;

use super::output::Run;
use crate::markup::escape;

const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];
const WIDTH: f64 = 960.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const PANEL: f64 = 200.0;
/// Room under each panel for its time labels and under the last for the axis title.
const GAP: f64 = 50.0;

/// Ticks for the time axis (at most ~8) and the axis title: wall-clock UTC `HH:MM` when
/// the history has real timestamps, hours from the start otherwise.
fn time_ticks(t0: f64, t1: f64) -> (Vec<(f64, String)>, String) {
    const STEPS: [f64; 10] = [
        60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0,
    ];
    let span = (t1 - t0).max(1.0);
    let step = STEPS
        .into_iter()
        .find(|s| span / s <= 8.0)
        .unwrap_or_else(|| (span / 8.0 / 86400.0).ceil() * 86400.0);
    let wall = t0 > 1e9;
    let mut t = if wall { (t0 / step).ceil() * step } else { t0 };
    let mut ticks = Vec::new();
    while t <= t1 + 1e-6 {
        let label = if !wall {
            format!("{:.0}h", (t - t0) / 3600.0)
        } else if step >= 86400.0 {
            format!("day {:.0}", ((t - t0) / 86400.0).floor() + 1.0)
        } else {
            let day_secs = t.rem_euclid(86400.0);
            format!(
                "{:02.0}:{:02.0}",
                (day_secs / 3600.0).floor(),
                (day_secs % 3600.0 / 60.0).floor()
            )
        };
        ticks.push((t, label));
        t += step;
    }
    let title = if wall {
        format!("time (UTC), {:.1} h", span / 3600.0)
    } else {
        format!("hours from the start, {:.1} h", span / 3600.0)
    };
    (ticks, title)
}

/// A round step for the Machines axis: 1, 2 or 5 times a power of ten.
fn machines_step(ymax: f64) -> f64 {
    let rough = (ymax / 1.1 / 4.0).max(1.0);
    let mag = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * mag)
}

pub fn chart_svg(runs: &[Run], capacity: Option<f64>) -> String {
    let n = runs.len().max(1) as f64;
    let height = TOP + n * (PANEL + GAP);
    let first = runs.first().map(|r| &r.timeline[..]).unwrap_or(&[]);
    let (t0, t1) = (
        first.first().map_or(0.0, |r| r.t),
        first.last().map_or(1.0, |r| r.t),
    );
    let scale_demand = |d: f64| capacity.map_or(d, |c| d / c);
    let ymax = runs
        .iter()
        .flat_map(|r| {
            r.timeline.iter().map(|x| {
                (x.created as f64)
                    .max(x.started as f64)
                    .max(scale_demand(x.demand))
            })
        })
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max)
        * 1.1;
    let ystep = machines_step(ymax);
    let x = |t: f64| LEFT + (t - t0) / (t1 - t0).max(1e-9) * (WIDTH - LEFT - RIGHT);
    // At most ~2,000 points per line: every n-th round.
    let step = (first.len() / 2000).max(1);
    let (ticks, time_title) = time_ticks(t0, t1);
    let demand_label = if capacity.is_some() {
        "demand (Machines needed)"
    } else {
        "demand"
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (i, run) in runs.iter().enumerate() {
        let top = TOP + i as f64 * (PANEL + GAP);
        let bottom = top + PANEL;
        let y = |v: f64| top + (1.0 - v.clamp(0.0, ymax) / ymax) * PANEL;
        let color = COLORS[i % COLORS.len()];
        let line = |pts: &mut dyn Iterator<Item = (f64, f64)>, color: &str, style: &str| {
            let mut d = String::new();
            for (k, (t, v)) in pts.enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if k == 0 { "M" } else { " L" },
                    x(t),
                    y(v)
                );
            }
            format!(
                "<path d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"{style}/>\n"
            )
        };
        let label = escape(&run.label);
        let _ = writeln!(svg, "<g class=\"panel\" data-policy=\"{label}\">");
        let mut v = 0.0;
        while v <= ymax {
            let _ = writeln!(
                svg,
                "<line x1=\"{LEFT}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#ddd\"/><text x=\"{2:.1}\" y=\"{3:.1}\" text-anchor=\"end\">{v:.0}</text>",
                WIDTH - RIGHT,
                y(v),
                LEFT - 6.0,
                y(v) + 4.0
            );
            v += ystep;
        }
        for (t, tick) in &ticks {
            let _ = writeln!(
                svg,
                "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#999\"/><text x=\"{0:.1}\" y=\"{3:.1}\" text-anchor=\"middle\">{tick}</text>",
                x(*t),
                bottom,
                bottom + 5.0,
                bottom + 18.0
            );
        }
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{bottom:.1}\" y2=\"{bottom:.1}\" stroke=\"#999\"/><line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{top:.1}\" y2=\"{bottom:.1}\" stroke=\"#999\"/>\n<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">Machines</text>",
            WIDTH - RIGHT,
            (top + bottom) / 2.0
        );
        svg.push_str(&line(
            &mut run
                .timeline
                .iter()
                .step_by(step)
                .map(|r| (r.t, scale_demand(r.demand))),
            "#888",
            " stroke-dasharray=\"4 3\"",
        ));
        svg.push_str(&line(
            &mut run
                .timeline
                .iter()
                .step_by(step)
                .map(|r| (r.t, r.created as f64)),
            color,
            " stroke-opacity=\"0.35\"",
        ));
        svg.push_str(&line(
            &mut run
                .timeline
                .iter()
                .step_by(step)
                .map(|r| (r.t, r.started as f64)),
            color,
            "",
        ));
        let s = &run.summary;
        let _ = writeln!(
            svg,
            "<text class=\"title\" x=\"{:.1}\" y=\"{:.1}\" font-weight=\"bold\">{label}</text><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#555\">started (solid), created (faint), {demand_label} (dashed) — {} flaps, {} actions</text>",
            LEFT + 8.0,
            top + 14.0,
            LEFT + 8.0,
            top + 30.0,
            s.flaps,
            s.creates + s.destroys + s.starts + s.stops
        );
        svg.push_str("</g>\n");
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{time_title}</text>",
        (LEFT + WIDTH - RIGHT) / 2.0,
        height - 8.0
    );
    svg.push_str("</svg>\n");
    svg
}
