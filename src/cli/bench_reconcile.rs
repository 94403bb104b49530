//! `fas bench reconcile`: the real scheduler and reconciler against a `fas sim` child
//! process holding N wildcard apps of 3 Machines, with 50 ms added to every API call.
//! Prints: seconds until every app was visited once, API calls per app in a steady
//! round, CPU seconds of fas per round, and peak RSS. Goals on a 2-core machine: every
//! app within one 15 s interval, <= 1 call per app per steady round, <= 10% of a core
//! (1.5 CPU s per 15 s round), <= 80 MB.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::clock::SystemClock;
use crate::config::Secret;
use crate::fly::{ClientOptions, FlyClient};
use crate::policy::expr::CountExprs;
use crate::policy::{Limits, Policy, PolicyHandle};
use crate::reconcile::{Apps, PlanOptions, Reconciler, Scheduler};
use crate::telemetry::Metrics;

#[derive(clap::Args)]
pub struct ReconcileBenchArgs {
    /// Apps matched by the wildcard (`fas bench reconcile`; `collectors`: 1,000 unless given).
    #[arg(long, default_value_t = 10_000)]
    pub(super) apps: usize,
    /// Reconcile interval of the run (`fas bench reconcile`).
    #[arg(long, default_value_t = 15)]
    pub(super) interval_secs: u64,
    /// Latency the simulator adds to every API call, in ms (`fas bench reconcile`).
    #[arg(long, default_value_t = 50)]
    pub(super) latency_ms: u64,
    /// Reconciles in flight at once (`fas bench reconcile`).
    #[arg(long, default_value_t = 64)]
    pub(super) concurrency: usize,
}

/// (user + system CPU seconds, peak RSS in MB) of this process, from /proc.
pub(super) fn usage() -> (f64, f64) {
    (cpu_secs("self"), status_kb("VmHWM:") as f64 / 1024.0)
}

/// User + system CPU seconds of process `pid` ("self", or a number), from /proc.
pub(super) fn cpu_secs(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the `)`; 100 ticks/s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// One `key:` line of /proc/self/status in KiB (`VmRSS:`, `VmHWM:`), 0 when absent.
pub(super) fn status_kb(key: &str) -> u64 {
    status_kb_of("self", key)
}

/// One `key:` line of /proc/PID/status in KiB, 0 when absent.
pub(super) fn status_kb_of(pid: &str, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A `fas sim` child process on a free port, killed when dropped.
pub(super) struct SimChild {
    child: std::process::Child,
    /// Kept open until the end: the simulator goes on printing.
    _out: BufReader<std::process::ChildStdout>,
    /// Its base URL.
    pub url: String,
}

impl SimChild {
    /// A simulator holding `apps` wildcard apps `bench/app-N` of 3 Machines, adding
    /// `latency_ms` to every API call.
    pub(super) fn wildcard_apps(apps: usize, latency_ms: u64) -> anyhow::Result<SimChild> {
        let faults =
            std::env::temp_dir().join(format!("fas-bench-faults-{}.json", std::process::id()));
        std::fs::write(
            &faults,
            format!("[{{\"action\": \"*\", \"delay_ms\": {latency_ms}}}]"),
        )?;
        let apps = format!("bench/app-*=3*{apps}");
        let sim = SimChild::start(&["--apps", &apps, "--faults", &faults.to_string_lossy()]);
        // The simulator has read its faults once it says where it listens.
        let _ = std::fs::remove_file(&faults);
        sim
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl SimChild {
    /// `fas sim --listen 127.0.0.1:0 ARGS`, once it says where it listens.
    pub(super) fn start(args: &[&str]) -> anyhow::Result<SimChild> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["sim", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start fas sim")?;
        let mut out = BufReader::new(child.stdout.take().context("no stdout")?);
        let mut line = String::new();
        out.read_line(&mut line)?;
        let url = line
            .trim()
            .strip_prefix("fas sim listening on ")
            .context("fas sim did not start")?
            .to_string();
        Ok(SimChild {
            child,
            _out: out,
            url,
        })
    }
}

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(a: ReconcileBenchArgs) -> anyhow::Result<()> {
    let sim = SimChild::wildcard_apps(a.apps, a.latency_ms)?;
    let url = sim.url.clone();
    let result = bench(&a, &url);
    drop(sim);
    result
}

fn bench(a: &ReconcileBenchArgs, url: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let interval = Duration::from_secs(a.interval_secs);
        let http = reqwest::Client::new();
        let stats = || async {
            let v: serde_json::Value = http.get(format!("{url}/__sim/stats")).send().await?.json().await?;
            anyhow::Ok(v["total_requests"].as_u64().unwrap_or(0))
        };
        let fly = Arc::new(FlyClient::new(ClientOptions::for_base(url, Secret::new("bench")))?);
        let exprs = CountExprs { min_started: Some("3".into()), max_started: Some("3".into()), ..Default::default() };
        let policy = PolicyHandle::spawn(move || Policy::from_exprs(&exprs, &[], Limits::default()))?;
        let metrics = Arc::new(Metrics::default());
        let plan = PlanOptions { process_group: "app".into(), regions: vec![], create_stopped: false, suspend: false };
        let reconciler = Arc::new(Reconciler::new(fly.clone(), vec![], policy, plan, Duration::from_secs(30), interval, Arc::new(SystemClock), metrics.clone()));
        let scheduler = Scheduler {
            reconciler,
            fly,
            apps: Apps::Matching { org: "bench".into(), pattern: glob::Pattern::new("app-*").expect("a constant, valid pattern") },
            interval,
            refresh_interval: Duration::from_secs(3600),
            concurrency: a.concurrency,
            grace: crate::reconcile::scheduler::STATE_GRACE,
            watch: crate::config::Watch::off(),
            pokes: None,
        };
        let (stop, rx) = tokio::sync::watch::channel(false);
        let start = Instant::now();
        let calls0 = stats().await?;
        let task = tokio::spawn(scheduler.run(rx));
        let visited = || metrics.counter("fas_reconcile_count", &[("status", "no_scale")]) as usize;
        while visited() < a.apps && start.elapsed() < interval * 3 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let first_round = start.elapsed().as_secs_f64();
        let all_visited = visited() >= a.apps;
        // Measure a steady round: from the end of round one to the end of round two.
        tokio::time::sleep((start + interval).saturating_duration_since(Instant::now())).await;
        let (cpu1, _) = usage();
        let calls1 = stats().await?;
        tokio::time::sleep(interval).await;
        let (cpu2, rss) = usage();
        let calls2 = stats().await?;
        stop.send(true)?;
        let _ = task.await;
        let errors = metrics.counter("fas_reconcile_errors_total", &[("kind", "api")]) + metrics.counter("fas_reconcile_errors_total", &[("kind", "timeout")]);
        println!(
            "reconcile, {} wildcard apps x 3 Machines, {} ms per API call, concurrency {}, interval {} s:",
            a.apps, a.latency_ms, a.concurrency, a.interval_secs
        );
        println!(
            "  every app visited once after {first_round:.1} s ({}; goal: within one interval; first round spread across it)",
            if all_visited { "all" } else { "NOT all" }
        );
        println!("  API calls per app per steady round: {:.3} (goal <= 1)", (calls2 - calls1) as f64 / a.apps as f64);
        println!("  CPU seconds of fas per round: {:.2} ({:.0}% of one core; goal <= 10%)", cpu2 - cpu1, (cpu2 - cpu1) / a.interval_secs as f64 * 100.0);
        println!("  peak RSS of fas: {rss:.0} MB (goal <= 80 MB)");
        println!("  first-round calls {} (incl. the org's app list), reconcile errors {errors}", calls1 - calls0);
        Ok(())
    })
}
