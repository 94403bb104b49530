//! `fas sandbox`: the whole loop on a laptop, no Fly account. The simulator runs
//! in-process, a synthetic workload (a daily-like wave with bursts, deterministic by
//! seed) feeds a queue-depth metric, and the real scheduler, reconciler and HTTP client
//! scale a simulated app with the policy of your choice. Time is compressed by
//! `--speed`; a live view (or plain lines with `--once` or without a TTY) shows demand,
//! Machines and actions, and a summary closes the run.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::clock::Clock;
use crate::config::{text, Secret};
use crate::fly::{ClientOptions, FlyClient};
use crate::policy::expr::CountExprs;
use crate::policy::{Limits, Policy, PolicyHandle};
use crate::reconcile::{scheduler::STATE_GRACE, Apps, PlanOptions, Reconciler, Scheduler};
use crate::sim::{self, Latencies, Seed, SeedApp, SeedMachine, SimOptions};
use crate::telemetry::Metrics;

use super::sandbox_feed::{
    unfed_metrics, CpuCollector, JobsCollector, Workload, WorkloadCollector, FED,
};

/// The policy `fas sandbox` runs when given none: the shipped pool policy.
const DEFAULT_POLICY: &str = include_str!("../../scripts/pool.lua");
pub(super) const APP: &str = "sandbox-app";
pub(super) const PER_MACHINE: f64 = 10.0;

#[derive(clap::Args)]
pub struct SandboxArgs {
    /// A Lua policy file (default: the shipped scripts/pool.lua).
    #[arg(long, conflicts_with = "expr")]
    policy: Option<PathBuf>,
    /// An Expr for the started count instead, as FAS_STARTED_MACHINE_COUNT.
    #[arg(long)]
    expr: Option<String>,
    /// How long to run, in real time.
    #[arg(long, default_value = "60s")]
    duration: String,
    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 20.0)]
    speed: f64,
    /// Seed of the workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Plain lines instead of the live view (also when stdout is not a terminal).
    #[arg(long)]
    once: bool,
}

/// Simulated time running `speed` times faster than the wall clock.
pub(super) struct ScaledClock {
    start: Instant,
    pub(super) sim_start: f64,
    speed: f64,
}

impl Clock for ScaledClock {
    fn now(&self) -> f64 {
        self.sim_start + self.start.elapsed().as_secs_f64() * self.speed
    }
}

fn spark(values: &[f64], max: f64) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    values
        .iter()
        .map(|v| BARS[((v / max.max(1.0)) * 7.0).round().clamp(0.0, 7.0) as usize])
        .collect()
}

pub fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let duration = text::parse_duration(&args.duration).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(args.speed > 0.0, "--speed must be greater than 0");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(sandbox(args, duration))
}

async fn sandbox(args: SandboxArgs, duration: Duration) -> anyhow::Result<()> {
    // Fly's realistic latencies (seconds, jittered), on the sandbox's time scale.
    let latencies = Latencies::default().scaled(args.speed);
    let server = sim::start(
        "127.0.0.1:0".parse()?,
        SimOptions {
            latencies,
            rate_limits: false,
            seed: args.seed,
            ..SimOptions::default()
        },
    )
    .await?;
    // A fleet every shipped policy can work with: one started and 19 stopped (start/
    // stop and target policies need Machines to start); the default pool policy
    // creates its own, so it starts from one.
    let default_policy = args.policy.is_none() && args.expr.is_none();
    let stopped = if default_policy { 0 } else { 19 };
    let machine = |state: &str| SeedMachine {
        region: "iad".into(),
        state: state.into(),
        process_group: "app".into(),
    };
    let mut machines = vec![machine("started")];
    machines.extend((0..stopped).map(|_| machine("stopped")));
    server
        .sim
        .seed(&Seed {
            apps: vec![SeedApp {
                org: "sandbox".into(),
                name: APP.into(),
                machines,
            }],
        })
        .map_err(anyhow::Error::msg)?;

    let (label, policy) = match (&args.policy, &args.expr) {
        (Some(p), _) => (
            p.display().to_string(),
            PolicyHandle::spawn({
                let p = p.clone();
                move || {
                    Policy::from_file(
                        &p,
                        &serde_json::json!({"per_machine": PER_MACHINE}),
                        Limits::default(),
                    )
                }
            })?,
        ),
        (None, Some(e)) => (
            e.clone(),
            PolicyHandle::spawn({
                let exprs = CountExprs {
                    min_started: Some(e.clone()),
                    max_started: Some(e.clone()),
                    ..Default::default()
                };
                let names: Vec<String> = FED.iter().map(|(n, _)| n.to_string()).collect();
                move || Policy::from_exprs(&exprs, &names, Limits::default())
            })?,
        ),
        (None, None) => {
            let dir = std::env::temp_dir().join(format!("fas-sandbox-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("pool.lua");
            std::fs::write(&path, DEFAULT_POLICY).context("cannot write the default policy")?;
            let params = serde_json::json!({"per_machine": PER_MACHINE, "pool": 2, "max": 20});
            (
                "pool.lua (shipped)".to_string(),
                PolicyHandle::spawn(move || Policy::from_file(&path, &params, Limits::default()))?,
            )
        }
    };
    let fly = Arc::new(FlyClient::new(ClientOptions {
        request_timeout: Duration::from_secs(5),
        max_retries: 1,
        rate_limit: false,
        ..ClientOptions::for_base(&server.url(), Secret::new("sandbox"))
    })?);
    let clock = Arc::new(ScaledClock {
        start: Instant::now(),
        sim_start: 1_700_000_000.0,
        speed: args.speed,
    });
    let workload = Arc::new(Workload::new(clock.clone(), args.seed));
    let metrics = Arc::new(Metrics::default());
    let interval = Duration::from_secs_f64(15.0 / args.speed);
    let plan = PlanOptions {
        process_group: "app".into(),
        regions: vec![],
        create_stopped: default_policy,
        suspend: false,
    };
    let jobs = Arc::new(JobsCollector::new(
        workload.clone(),
        server.sim.clone(),
        clock.clone(),
        args.seed,
    ));
    let reconciler = Arc::new(Reconciler::new(
        fly.clone(),
        vec![
            Arc::new(WorkloadCollector(workload.clone())),
            Arc::new(CpuCollector {
                workload: workload.clone(),
                sim: server.sim.clone(),
            }),
            jobs.clone(),
        ],
        policy,
        plan,
        Duration::from_secs(5),
        interval,
        clock.clone(),
        metrics.clone(),
    ));
    let scheduler = Scheduler {
        reconciler,
        fly,
        apps: Apps::One(APP.into()),
        interval,
        refresh_interval: Duration::from_secs(3600),
        concurrency: 1,
        grace: STATE_GRACE,
        watch: crate::config::Watch::off(),
        pokes: None,
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(scheduler.run(rx));

    let live = !args.once && std::io::stdout().is_terminal();
    let count = |state: &str| -> u64 {
        let in_state = |a: &crate::sim::world::SimApp| {
            a.machines
                .iter()
                .filter(|m| match state {
                    // Machines that stay: not destroyed nor on their way out.
                    "" => !matches!(m.state.as_str(), "destroyed" | "destroying"),
                    s => m.state == s,
                })
                .count() as u64
        };
        server.sim.world.read_app(APP, in_state).unwrap_or(0)
    };
    let actions = || {
        [
            "fas_machine_create_count",
            "fas_machine_destroy_count",
            "fas_machine_start_count",
            "fas_machine_stop_count",
        ]
        .map(|name| metrics.counter(name, &[("status", "ok")]))
    };
    let (mut demand_hist, mut started_hist) = (Vec::new(), Vec::new());
    let (mut machine_secs, mut under_secs, mut peak) = (0.0, 0.0, 0);
    let (mut rounds_seen, mut last) = (0u64, Instant::now());
    // The fleet it started with counts: a pool policy may grow it before the first look.
    let mut fewest = 1 + stopped as u64;
    let started_at = Instant::now();
    let minutes =
        |real: Duration| plural(real.as_secs_f64() * args.speed / 60.0, "simulated minute");
    println!(
        "fas sandbox: policy {label}, {} real = {} (speed {}x)",
        crate::config::text::format_duration(duration),
        minutes(duration),
        args.speed
    );
    println!("times are simulated; Ctrl-C stops early with the summary");
    println!("metrics fed to the policy:");
    for (name, what) in FED {
        println!("  {name} ({what})");
    }
    println!(
        "fleet at the start: {}, 1 started",
        plural(1.0 + stopped as f64, "Machine")
    );
    let unfed = match &args.policy {
        Some(path) => unfed_metrics(path, &serde_json::json!({"per_machine": PER_MACHINE})),
        None => Vec::new(),
    };
    if !unfed.is_empty() {
        println!(
            "warning: the policy reads {}, which the sandbox does not feed (it sees nil there), so what depends on it never acts; the sandbox feeds {}",
            unfed.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
            FED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        );
    }
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while started_at.elapsed() < duration {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = &mut ctrl_c => break,
        }
        let (demand, created, started) = (workload.demand(), count(""), count("started"));
        let dt = last.elapsed().as_secs_f64() * args.speed;
        last = Instant::now();
        machine_secs += started as f64 * dt;
        if demand > started as f64 * PER_MACHINE {
            under_secs += dt;
        }
        peak = peak.max(started);
        fewest = fewest.min(created);
        let rounds: u64 = ["create", "destroy", "start", "stop", "suspend", "no_scale"]
            .iter()
            .map(|s| metrics.counter("fas_reconcile_count", &[("status", s)]))
            .sum();
        if rounds == rounds_seen {
            continue;
        }
        rounds_seen = rounds;
        demand_hist.push(demand / PER_MACHINE);
        started_hist.push(started as f64);
        let [c, d, s, p] = actions();
        let t = clock.now() - clock.sim_start;
        let line = format!(
            "t={t:>5.0}s demand={demand:>5.0} ({:>4.1} Machines' worth) | created={created:>2} started={started:>2} | so far {c} created, {d} destroyed, {s} started, {p} stopped",
            demand / PER_MACHINE
        );
        if live {
            let width = 60;
            let from = demand_hist.len().saturating_sub(width);
            let max = demand_hist[from..]
                .iter()
                .chain(&started_hist[from..])
                .fold(1.0f64, |a, b| a.max(*b));
            print!("\x1b[2J\x1b[H");
            println!(
                "fas sandbox — policy {label} — speed {}x — simulated time {:.0} min — {:.0}s left (Ctrl-C: stop with the summary)\n",
                args.speed,
                t / 60.0,
                (duration.saturating_sub(started_at.elapsed())).as_secs_f64()
            );
            println!(
                "demand (Machines' worth) {}",
                spark(&demand_hist[from..], max)
            );
            println!(
                "started Machines         {}\n",
                spark(&started_hist[from..], max)
            );
            println!("{line}");
            let _ = std::io::stdout().flush();
        } else {
            println!("{line}");
        }
    }
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    let [c, d, s, p] = actions();
    let fewest = fewest.min(count(""));
    println!(
        "\nsummary: {rounds_seen} rounds over {}; {:.2} Machine-hours; peak {peak} started",
        minutes(started_at.elapsed().min(duration)),
        machine_secs / 3600.0,
    );
    println!("  actions: {c} created, {d} destroyed, {s} started, {p} stopped");
    println!("  under capacity: {under_secs:.0} s ({PER_MACHINE} items per Machine)");
    println!(
        "  Machines: fewest {fewest}, at the end {} ({} started)",
        count(""),
        count("started")
    );
    // Suggest fas.drain only to a policy that does not use it already.
    let drains = args
        .policy
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .is_some_and(|text| text.contains("fas.drain"));
    let hint = if drains {
        ""
    } else {
        " (compare a policy using fas.drain: --policy scripts/worker_drain.lua)"
    };
    println!(
        "jobs interrupted by scale-down: {}{hint}",
        jobs.interrupted()
    );
    if c + d + s + p == 0 {
        let why = if unfed.is_empty() {
            "its targets matched the fleet all along".to_string()
        } else {
            format!(
                "it reads {} and the sandbox does not feed that",
                unfed.join(", ")
            )
        };
        println!("the policy never acted: {why}");
    }
    Ok(())
}

/// `1 Machine`, `3 Machines`, `0.5 simulated minutes`: counts as people write them.
fn plural(n: f64, what: &str) -> String {
    let n = (n * 10.0).round() / 10.0;
    if n == 1.0 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
