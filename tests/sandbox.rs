//! `fas sandbox` runs the real loop against the in-process simulator and a synthetic
//! workload, printing plain lines without a terminal and a summary at the end.

mod support;

use support::{fas, repo, stderr, stdout};

#[test]
fn the_default_policy_scales_the_simulated_app() {
    let o = fas(
        &["sandbox", "--duration", "4s", "--speed", "40", "--once"],
        &[],
        &repo(),
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(
        out.lines().filter(|l| l.starts_with("t=")).count() >= 3,
        "a line per round: {out}"
    );
    let summary = out
        .lines()
        .find(|l| l.starts_with("summary:"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        !summary.contains(" 0 created"),
        "the pool policy created Machines: {summary}"
    );
}

#[test]
fn an_expr_policy_starts_and_stops_from_a_pool() {
    let o = fas(
        &[
            "sandbox",
            "--duration",
            "4s",
            "--speed",
            "40",
            "--once",
            "--expr",
            "ceil(queue_depth / 10)",
        ],
        &[],
        &repo(),
    );
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("policy ceil(queue_depth / 10)"), "{out}");
    let summary = out.lines().find(|l| l.starts_with("summary:")).unwrap();
    assert!(
        !summary.contains(" 0 started,"),
        "Machines were started: {summary}"
    );
}

/// Fly's realistic latencies at any speed: however fast the sandbox runs (intervals
/// far shorter than transitions), the app never drops to zero Machines.
#[test]
fn at_any_speed_the_app_keeps_a_machine() {
    for speed in ["40", "5000", "100000"] {
        for expr in [None, Some("ceil(queue_depth / 10)")] {
            let mut args = vec!["sandbox", "--duration", "2s", "--speed", speed, "--once"];
            if let Some(e) = expr {
                args.extend(["--expr", e]);
            }
            let o = fas(&args, &[], &repo());
            let out = stdout(&o);
            assert!(o.status.success(), "{out}{}", stderr(&o));
            for line in out.lines().filter(|l| l.starts_with("t=")) {
                assert!(
                    !line.contains("created= 0"),
                    "speed {speed} {expr:?}: {line}"
                );
            }
            let summary = out.lines().find(|l| l.starts_with("summary:")).unwrap();
            let fewest: u64 = summary
                .split("fewest Machines ")
                .nth(1)
                .and_then(|r| r.split(',').next())
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("{summary}"));
            assert!(fewest >= 1, "speed {speed} {expr:?}: {summary}");
        }
    }
}
