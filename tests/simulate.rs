//! `fas simulate`: backtests on the example history are deterministic, compare
//! policies, write the timeline and chart, and read history from a real Prometheus
//! filled by backfill.

mod support;

use std::process::Command;

use support::{fas, repo, servers, stderr, stdout};

fn args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "simulate",
        "--metrics",
        "examples/history/queue_depth.csv",
        "--expr",
        "ceil(queue_depth / 10)",
        "--policy",
        "scripts/queue_per_machine.lua",
        "--capacity-per-machine",
        "10",
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn compares_policies_deterministically() {
    let dir = tempfile::tempdir().unwrap();
    let (out1, chart1) = (dir.path().join("a.csv"), dir.path().join("a.svg"));
    let (out2, chart2) = (dir.path().join("b.json"), dir.path().join("b.svg"));
    let o1 = fas(
        &args(&[
            "--out",
            out1.to_str().unwrap(),
            "--chart",
            chart1.to_str().unwrap(),
        ]),
        &[],
        &repo(),
    );
    assert!(o1.status.success(), "{}", stderr(&o1));
    let o2 = fas(
        &args(&[
            "--out",
            out2.to_str().unwrap(),
            "--chart",
            chart2.to_str().unwrap(),
        ]),
        &[],
        &repo(),
    );
    assert_eq!(stdout(&o1), stdout(&o2), "same inputs, same table");
    assert_eq!(
        std::fs::read(&chart1).unwrap(),
        std::fs::read(&chart2).unwrap(),
        "byte-identical charts"
    );
    let table = stdout(&o1);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("policy")
            && lines[0].contains("machine-hours")
            && lines[0].contains("flaps"),
        "{table}"
    );
    let flaps = |label: &str| -> u64 {
        let row = lines.iter().find(|l| l.starts_with(label)).unwrap();
        row.split_whitespace()
            .rev()
            .nth(3)
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(
        flaps("queue_per_machine") < flaps("ceil(queue_depth"),
        "the cooldown policy flaps less: {table}"
    );
    let csv = std::fs::read_to_string(&out1).unwrap();
    assert!(
        csv.starts_with("policy,timestamp,demand,created,started,target_min,target_max,action\n")
    );
    assert_eq!(csv.lines().count(), 1 + 2 * 1440);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out2).unwrap()).unwrap();
    assert_eq!(json[0]["timeline"].as_array().unwrap().len(), 1440);
    let svg = std::fs::read_to_string(&chart1).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // One panel per policy, each with its title, its own Machines axis and time ticks;
    // one time-axis title for all.
    let panels: Vec<&str> = svg.split("<g class=\"panel\"").skip(1).collect();
    assert_eq!(panels.len(), 2, "one panel per policy");
    for (panel, policy) in panels
        .iter()
        .zip(["queue_per_machine", "ceil(queue_depth / 10)"])
    {
        assert!(
            panel.starts_with(&format!(" data-policy=\"{policy}\"")),
            "{policy}"
        );
        assert!(
            panel.contains(&format!("font-weight=\"bold\">{policy}</text>")),
            "{policy} title"
        );
        assert!(
            panel.contains(">Machines</text>"),
            "{policy}: no y-axis title"
        );
        assert_eq!(
            panel.matches("<path ").count(),
            3,
            "{policy}: demand, created, started"
        );
        for tick in [">00:00<", ">06:00<", ">12:00<", ">18:00<"] {
            assert!(panel.contains(tick), "{policy}: no time tick {tick}");
        }
        assert!(
            panel.contains(" flaps, "),
            "{policy}: flaps in the subtitle"
        );
    }
    assert_eq!(
        svg.matches(">time (UTC), 24.0 h</text>").count(),
        1,
        "time-axis title"
    );
}

#[test]
fn bad_history_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.csv"), "timestamp,q\n10,1\n20,x\n").unwrap();
    let o = fas(
        &["simulate", "--metrics", "h.csv", "--expr", "q"],
        &[],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("h.csv: line 3: \"x\" is not a number"),
        "{}",
        stderr(&o)
    );
}

#[cfg_attr(
    any(fas_no_prometheus, fas_no_promtool),
    ignore = "needs prometheus and promtool here: apt-get install -y prometheus"
)]
#[test]
fn reads_history_from_a_backfilled_prometheus() {
    let Some(_) = servers::require(
        "promtool",
        &["/usr/bin/promtool".into()],
        "apt-get install -y prometheus",
    ) else {
        return;
    };
    // Backfill an hour of 1-minute samples (old data: retention is set to 100 years).
    let dir = tempfile::tempdir().unwrap();
    let start: u64 = 1_704_067_200; // 2024-01-01T00:00:00Z
    let end = start + 3600;
    let mut om = String::from("# TYPE hist_queue gauge\n");
    for (i, t) in (start..=end).step_by(60).enumerate() {
        om.push_str(&format!(
            "hist_queue{{app=\"web\"}} {} {t}\n",
            (i % 10) * 10
        ));
    }
    om.push_str("# EOF\n");
    std::fs::write(dir.path().join("hist.om"), om).unwrap();
    let data = dir.path().join("data");
    let ok = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "-q"])
        .arg(dir.path().join("hist.om"))
        .arg(&data)
        .status()
        .unwrap()
        .success();
    assert!(ok, "promtool backfill");
    let Some(prom) = servers::prometheus_with_data(&data) else {
        return;
    };
    let (s, e) = (start.to_string(), end.to_string());
    let o = fas(
        &[
            "simulate",
            "--prometheus",
            &prom.url,
            "--query",
            "hist_queue{app=\"web\"}",
            "--start",
            &s,
            "--end",
            &e,
            "--step",
            "60s",
            "--expr",
            "ceil(queue_depth / 10)",
        ],
        &[],
        &repo(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    let row = table
        .lines()
        .find(|l| l.starts_with("ceil(queue_depth / 10)"))
        .unwrap_or_else(|| panic!("{table}"));
    let peak: u64 = row.split_whitespace().nth(4).unwrap().parse().unwrap(); // after the 3 words of the label
    assert_eq!(peak, 9, "the backfilled series peaks at 90: {table}");
}

/// `--jobs`: the shipped worker policy over the example job arrivals interrupts jobs
/// with upstream's scale-down order and none with its own (fas.drain), the same way
/// on every run.
#[test]
fn jobs_interrupted_by_scale_down_upstream_order_versus_fas_drain() {
    let run = || {
        fas(
            &[
                "simulate",
                "--metrics",
                "examples/history/jobs.csv",
                "--policy",
                "scripts/worker_drain.lua",
                "--jobs",
            ],
            &[],
            &repo(),
        )
    };
    let o = run();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let interrupted = |order: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.contains(order))
            .unwrap_or_else(|| panic!("no {order} row: {text}"));
        let cols: Vec<&str> = line.split_whitespace().collect();
        cols[cols.len() - 2].parse().unwrap()
    };
    let (upstream, own) = (
        interrupted("upstream (by id)"),
        interrupted("the policy's own"),
    );
    assert!(
        upstream > 0,
        "the workload interrupts jobs under id order: {text}"
    );
    assert_eq!(own, 0, "fas.drain never stops a busy worker: {text}");
    assert_eq!(stdout(&run()), text, "deterministic");
    // --jobs needs a Lua policy to compare.
    let o = fas(
        &[
            "simulate",
            "--metrics",
            "examples/history/jobs.csv",
            "--expr",
            "jobs",
            "--jobs",
        ],
        &[],
        &repo(),
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--policy"), "{}", stderr(&o));
}
