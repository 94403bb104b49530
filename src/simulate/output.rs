//! What `fas simulate` writes: the summary table and the timeline (CSV or JSON); the
//! SVG chart is chart.rs. Everything is formatted
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
    let reactions = runs.iter().any(|r| r.summary.reaction.is_some());
    let _ = write!(
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
    out.push_str(if reactions {
        "  reaction median / p95 (episodes)\n"
    } else {
        "\n"
    });
    for r in runs {
        let s = &r.summary;
        let under = if capacity.is_some() {
            format!("{:.0} s", s.seconds_under_capacity)
        } else {
            "-".into()
        };
        let _ = write!(
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
        match s.reaction {
            Some(x) => {
                let _ = writeln!(
                    out,
                    "  {:.1} s / {:.1} s ({})",
                    x.median_secs, x.p95_secs, x.episodes
                );
            }
            None if reactions => out.push_str("  -\n"),
            None => out.push('\n'),
        }
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
