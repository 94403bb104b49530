//! What `fas simulate` writes: the summary table, the timeline (CSV or JSON), and an
//! SVG chart of demand against created and started Machines. Everything is formatted
//! from the numbers alone, so the same run gives byte-identical files.

use std::fmt::Write;

use super::{Round, Summary};

/// One run of one policy.
pub struct Run {
    pub label: String,
    pub timeline: Vec<Round>,
    pub summary: Summary,
}

pub fn summary_table(runs: &[Run], capacity: Option<f64>) -> String {
    let mut out = String::new();
    let w = runs.iter().map(|r| r.label.len()).max().unwrap_or(6).max(6);
    let _ = writeln!(
        out,
        "{:<w$}  {:>14}  {:>12}  {:>12}  {:>8}  {:>6}  {:>14}  {:>7}",
        "policy",
        "machine-hours",
        "peak started",
        "peak created",
        "actions",
        "flaps",
        "under capacity",
        "errors"
    );
    for r in runs {
        let s = &r.summary;
        let under = if capacity.is_some() {
            format!("{:.0} s", s.seconds_under_capacity)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "{:<w$}  {:>14.2}  {:>12}  {:>12}  {:>8}  {:>6}  {:>14}  {:>7}",
            r.label,
            s.machine_seconds / 3600.0,
            s.peak_started,
            s.peak_created,
            s.creates + s.destroys + s.starts + s.stops,
            s.flaps,
            under,
            s.policy_errors
        );
    }
    out
}

fn opt(v: Option<i64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub fn timeline_csv(runs: &[Run]) -> String {
    let mut out =
        String::from("policy,timestamp,demand,created,started,target_min,target_max,action\n");
    for r in runs {
        for x in &r.timeline {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{}",
                r.label.replace(',', ";"),
                x.t,
                x.demand,
                x.created,
                x.started,
                opt(x.target_min),
                opt(x.target_max),
                x.action
            );
        }
    }
    out
}

pub fn timeline_json(runs: &[Run]) -> String {
    let v: Vec<serde_json::Value> = runs
        .iter()
        .map(|r| serde_json::json!({"policy": r.label, "summary": r.summary, "timeline": r.timeline}))
        .collect();
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

const COLORS: &[&str] = &[
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

/// Demand (in Machines' worth when a capacity is given) against each policy's started
/// and created Machines over time.
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

pub fn chart_svg(runs: &[Run], capacity: Option<f64>) -> String {
    let (w, h, left, right, top, bottom) = (960.0, 420.0, 60.0, 20.0, 30.0, 50.0);
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
    let x = |t: f64| left + (t - t0) / (t1 - t0).max(1e-9) * (w - left - right);
    let y = |v: f64| top + (1.0 - v.clamp(0.0, ymax) / ymax) * (h - top - bottom);
    // At most ~2,000 points per line: every n-th round.
    let step = (first.len() / 2000).max(1);
    let line = |pts: &mut dyn Iterator<Item = (f64, f64)>, color: &str, dash: &str| {
        let mut d = String::new();
        for (i, (t, v)) in pts.enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                x(t),
                y(v)
            );
        }
        format!("<path d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"{dash}/>\n")
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    // Round values on the Machines axis: a step of 1, 2 or 5 times a power of ten.
    let rough = (ymax / 1.1 / 5.0).max(1.0);
    let mag = 10f64.powf(rough.log10().floor());
    let ystep = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * mag);
    for i in 0..=((ymax / ystep).floor() as usize) {
        let v = ystep * i as f64;
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v:.0}</text>",
            w - right,
            y(v),
            y(v),
            left - 6.0,
            y(v) + 4.0
        );
    }
    let (ticks, title) = time_ticks(t0, t1);
    for (t, label) in ticks {
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#999\"/><text x=\"{0:.1}\" y=\"{3:.1}\" text-anchor=\"middle\">{label}</text>",
            x(t),
            h - bottom,
            h - bottom + 5.0,
            h - bottom + 18.0
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" x2=\"{:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\" stroke=\"#999\"/><line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{1:.1}\" stroke=\"#999\"/>",
        w - right,
        h - bottom
    );
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{title}</text>\n<text transform=\"translate(16 {:.1}) rotate(-90)\" text-anchor=\"middle\">Machines</text>",
        (left + w - right) / 2.0,
        h - 8.0,
        (top + h - bottom) / 2.0
    );
    let demand_label = if capacity.is_some() {
        "demand (Machines needed)"
    } else {
        "demand"
    };
    svg.push_str(&line(
        &mut first
            .iter()
            .step_by(step)
            .map(|r| (r.t, scale_demand(r.demand))),
        "#888",
        " stroke-dasharray=\"4 3\"",
    ));
    let mut legend = vec![(demand_label.to_string(), "#888")];
    for (i, r) in runs.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        svg.push_str(&line(
            &mut r
                .timeline
                .iter()
                .step_by(step)
                .map(|x| (x.t, x.started as f64)),
            color,
            "",
        ));
        svg.push_str(&line(
            &mut r
                .timeline
                .iter()
                .step_by(step)
                .map(|x| (x.t, x.created as f64)),
            color,
            " stroke-opacity=\"0.35\"",
        ));
        legend.push((format!("{}: started (faint: created)", r.label), color));
    }
    for (i, (label, color)) in legend.iter().enumerate() {
        let ly = top + 4.0 + i as f64 * 16.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"3\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            left + 10.0,
            ly,
            left + 28.0,
            ly + 5.0,
            label.replace('&', "&amp;").replace('<', "&lt;")
        );
    }
    svg.push_str("</svg>\n");
    svg
}
