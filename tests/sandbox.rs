//! `fas sandbox` runs the real loop against the in-process simulator and a synthetic
//! workload, printing plain lines without a terminal and a summary at the end.

mod support;

use support::{fas, repo, stderr, stdout};

/// The summary block: from its `summary:` line to the end.
fn summary(out: &str) -> &str {
    let at = out
        .find("\nsummary: ")
        .unwrap_or_else(|| panic!("no summary: {out}"));
    &out[at + 1..]
}

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
    // Lines fit a log viewer: none runs past 125 characters.
    for line in out.lines() {
        assert!(
            line.chars().count() <= 125,
            "{} characters: {line}",
            line.len()
        );
    }
    assert!(
        out.contains("fleet at the start: 1 Machine, 1 started"),
        "{out}"
    );
    let summary = summary(&out);
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
    let summary = summary(&out);
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
            let summary = summary(&out);
            let fewest: u64 = summary
                .split("Machines: fewest ")
                .nth(1)
                .and_then(|r| r.split(',').next())
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("{summary}"));
            assert!(fewest >= 1, "speed {speed} {expr:?}: {summary}");
        }
    }
}

/// `fas sandbox --policy scripts/POLICY.lua` for `duration` at 100x, plain lines; its
/// stdout, after checking it succeeded.
fn shipped_policy(policy: &str, duration: &str) -> String {
    let path = format!("scripts/{policy}.lua");
    let args = [
        "sandbox",
        "--policy",
        &path,
        "--duration",
        duration,
        "--speed",
        "100",
        "--once",
    ];
    let o = fas(&args, &[], &repo());
    let out = stdout(&o);
    assert!(o.status.success(), "{policy}: {out}{}", stderr(&o));
    out
}

/// Every shipped policy gets a fleet it can scale and the metric it reads: each acts,
/// and the sandbox says what it fed.
#[test]
fn every_shipped_policy_scales_in_the_sandbox() {
    for policy in [
        "queue_per_machine",
        "hpa_target",
        "scale_to_zero",
        "pool",
        "worker_drain",
    ] {
        let out = shipped_policy(policy, "3s");
        assert!(
            out.contains("metrics fed to the policy:\n  queue_depth ("),
            "{out}"
        );
        assert!(!out.contains("warning:"), "{policy}: {out}");
        let summary = summary(&out);
        // "  actions: C created, D destroyed, S started, P stopped": some action happened.
        let actions: u64 = summary
            .lines()
            .find_map(|l| l.strip_prefix("  actions: "))
            .unwrap_or_else(|| panic!("{summary}"))
            .split(", ")
            .filter_map(|kv| kv.split(' ').next()?.parse::<u64>().ok())
            .sum();
        assert!(actions > 0, "{policy} never scaled: {summary}");
    }
}

#[test]
fn a_policy_waiting_on_a_metric_the_sandbox_lacks_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.lua");
    std::fs::write(
        &path,
        "function scale(metrics, app)\n  if metrics.jobs == nil then return nil end\n  return { started = metrics.jobs }\nend\n",
    )
    .unwrap();
    let args = [
        "sandbox",
        "--policy",
        path.to_str().unwrap(),
        "--duration",
        "2s",
        "--speed",
        "100",
        "--once",
    ];
    let o = fas(&args, &[], &repo());
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", stderr(&o));
    assert!(out.contains("warning: the policy reads `jobs`"), "{out}");
    assert!(
        out.contains("the policy never acted: it reads jobs"),
        "{out}"
    );
}

#[test]
fn ctrl_c_stops_early_with_the_summary() {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fas"))
        .args(["sandbox", "--duration", "60s", "--speed", "40", "--once"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let started = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{status:?}: {out}");
    assert!(started.elapsed().as_secs() < 15, "Ctrl-C took too long");
    assert!(out.contains("\nsummary: "), "{out}");
}

/// The sandbox's workers run jobs: the summary counts those a scale-down cut short,
/// and the shipped worker policy (fas.drain) cuts none while it scales both ways.
#[test]
fn jobs_interrupted_by_scale_down_are_counted_and_fas_drain_interrupts_none() {
    let interrupted = |policy: &str| -> (u64, String) {
        let out = shipped_policy(policy, "6s");
        let line = out
            .lines()
            .find(|l| l.starts_with("jobs interrupted by scale-down: "))
            .unwrap_or_else(|| panic!("{out}"));
        let n = line["jobs interrupted by scale-down: ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        (n, out)
    };
    let (n, out) = interrupted("worker_drain");
    assert_eq!(n, 0, "{out}");
    assert!(
        !out.contains("compare a policy using fas.drain"),
        "it uses fas.drain already: {out}"
    );
    assert!(out.contains("jobs_running (per Machine"), "{out}");
    let summary = summary(&out);
    assert!(
        !summary.contains(" 0 stopped"),
        "it scales down too: {summary}"
    );
    interrupted("queue_per_machine");
}
