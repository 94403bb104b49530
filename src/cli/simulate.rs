//! `fas simulate`: backtest one or more policies on a metric history (a CSV file or a
//! Prometheus range query) and print a summary table; optionally the timeline
//! (`--out x.csv|x.json`) and an SVG chart (`--chart x.svg`).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};

use crate::config::{process_env, text, Config};
use crate::policy::expr::CountExprs;
use crate::policy::{Limits, Policy};
use crate::simulate::output::{self, Run};
use crate::simulate::{self, History, Options};

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// A Lua policy to replay (repeat to compare several).
    #[arg(long = "policy")]
    policies: Vec<PathBuf>,
    /// An Expr for the started count, as FAS_STARTED_MACHINE_COUNT (repeatable).
    #[arg(long = "expr")]
    exprs: Vec<String>,
    /// Config file for policy-params, process group and initial state (and its policy
    /// or counts when no --policy/--expr is given).
    #[arg(long)]
    config: Option<PathBuf>,
    /// History CSV: `timestamp,metric,...` (unix seconds or RFC 3339).
    #[arg(long)]
    metrics: Option<PathBuf>,
    /// Prometheus base URL to read the history from (with --query, --start, --end, --step).
    #[arg(long)]
    prometheus: Option<String>,
    /// PromQL of the history to read from --prometheus, e.g. sum(queue_depth).
    #[arg(long)]
    query: Option<String>,
    /// Start of the history: unix seconds or RFC 3339 (with --prometheus).
    #[arg(long)]
    start: Option<String>,
    /// End of the history: unix seconds or RFC 3339 (with --prometheus).
    #[arg(long)]
    end: Option<String>,
    /// Step of the range query, e.g. 15s.
    #[arg(long, default_value = "15s")]
    step: String,
    /// Name of the metric read from Prometheus.
    #[arg(long, default_value = "queue_depth")]
    metric_name: String,
    /// Demand one started Machine serves; judges time under capacity.
    #[arg(long)]
    capacity_per_machine: Option<f64>,
    /// The metric that is the demand (default: the first column).
    #[arg(long)]
    demand_metric: Option<String>,
    /// Seconds from create to running.
    #[arg(long, default_value_t = 10.0)]
    create_secs: f64,
    /// Seconds from start to running.
    #[arg(long, default_value_t = 1.0)]
    start_secs: f64,
    /// Seconds from a suspended Machine's start (resume) to running.
    #[arg(long, default_value_t = 0.5)]
    resume_secs: f64,
    /// Decide on a clock: a full round every INTERVAL (the history holds each value
    /// until its next row), instead of once per history row.
    #[arg(long)]
    interval: Option<String>,
    /// Watch steps between full rounds every DURATION, as `fas serve` makes them
    /// (acting only on an increase); `off` for full rounds only. Repeat to compare:
    /// `--watch-interval off --watch-interval 1s`. Implies --interval 15s.
    #[arg(long = "watch-interval")]
    watch_intervals: Vec<String>,
    /// Machines created at the beginning (the pool start/stop policies use).
    #[arg(long, default_value_t = 20)]
    machines: usize,
    /// Of those, how many are started at the beginning.
    #[arg(long, default_value_t = 1)]
    started: usize,
    /// A change of direction within this window counts as a flap.
    #[arg(long, default_value = "5m")]
    flap_window: String,
    /// Judge only after this much of the history (e.g. 7d): the policies still see it
    /// all, so a forecast warms up on its first week unjudged.
    #[arg(long = "warm-up", value_name = "DURATION")]
    warm_up: Option<String>,
    /// Write the timeline here (.csv or .json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write an SVG chart here.
    #[arg(long)]
    chart: Option<PathBuf>,
    /// A worker workload: the demand column is jobs arriving per round; count the jobs
    /// scale-down interrupts with upstream's order and with each --policy's own
    /// (app.machines.list with jobs_running, stop_order/protect, e.g. fas.drain).
    #[arg(long)]
    jobs: bool,
    /// Job lengths for --jobs: MIN..MAX seconds (most short, a few long).
    #[arg(long, default_value = "10..600")]
    job_secs: String,
    /// Seed of the job lengths for --jobs.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Where simulate's metrics come from, for an expression that names another.
const COLUMNS: &str = "the metrics are the columns of the --metrics CSV";

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let cfg = Config::load(args.config.as_deref(), &process_env)?;
    let history = load_history(&args)?;
    // Builders, not policies: each replay starts from a fresh policy state.
    type Build<'a> = Box<dyn Fn() -> anyhow::Result<Policy> + 'a>;
    let mut policies: Vec<(String, Build)> = Vec::new();
    for p in &args.policies {
        let label = p
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string());
        let params = &cfg.policy_params;
        Policy::from_file(p, params, Limits::default())?;
        policies.push((
            label,
            Box::new(move || Ok(Policy::from_file(p, params, Limits::default())?)),
        ));
    }
    for e in &args.exprs {
        let exprs = CountExprs {
            min_started: Some(e.clone()),
            max_started: Some(e.clone()),
            ..Default::default()
        };
        let names = &history.names;
        Policy::from_exprs(&exprs, names, Limits::default())
            .map_err(|e| super::unknown_name_hint(e, names, COLUMNS))?;
        policies.push((
            e.clone(),
            Box::new(move || Ok(Policy::from_exprs(&exprs, names, Limits::default())?)),
        ));
    }
    if policies.is_empty() {
        if cfg.policy.is_none() && !cfg.has_created_count() && !cfg.has_started_count() {
            bail!("nothing to simulate: give --policy FILE or --expr EXPR (or a --config with a policy or counts)");
        }
        let (cfg, names) = (&cfg, &history.names);
        Policy::from_config(cfg, names, Limits::default())
            .map_err(|e| super::unknown_name_hint(e, names, COLUMNS))?;
        policies.push((
            "config".into(),
            Box::new(move || Ok(Policy::from_config(cfg, names, Limits::default())?)),
        ));
    }
    let opts = Options {
        create_secs: args.create_secs,
        start_secs: args.start_secs,
        resume_secs: args.resume_secs,
        stop_secs: 2.0,
        capacity_per_machine: args.capacity_per_machine,
        demand_metric: args.demand_metric.clone(),
        flap_window_secs: text::parse_duration(&args.flap_window)
            .map_err(anyhow::Error::msg)?
            .as_secs_f64(),
        plan: crate::reconcile::PlanOptions {
            process_group: "app".into(),
            regions: vec![],
            create_stopped: cfg.initial_machine_state == "stopped",
            suspend: cfg.stop_mode == "suspend",
        },
        initial_machines: args.machines,
        initial_started: args.started,
        judge_from: judge_from(args.warm_up.as_deref(), &history)?,
    };
    if args.jobs {
        return jobs(&args, &cfg, &history, &opts);
    }
    let cadences = cadences(&args)?;
    let tty = std::io::stderr().is_terminal();
    let total = history.rows.len();
    let mut runs = Vec::new();
    for (label, build) in policies {
        let Some(cadences) = &cadences else {
            let mut policy = build()?;
            let (timeline, summary) = simulate::run(&mut policy, &history, &opts, |i| {
                if tty && (i % 5000 == 0 || i + 1 == total) {
                    eprint!("\rsimulating {label}: {:>3}%", (i + 1) * 100 / total);
                    let _ = std::io::stderr().flush();
                }
            });
            if tty {
                eprintln!();
            }
            runs.push(Run {
                label,
                timeline,
                summary,
            });
            continue;
        };
        for (name, c) in cadences {
            let mut policy = build()?;
            let (timeline, summary) = simulate::timed::run(&mut policy, &history, &opts, *c);
            runs.push(Run {
                label: format!("{label} @ {name}"),
                timeline,
                summary,
            });
        }
    }
    print!(
        "{}",
        output::summary_table(&runs, args.capacity_per_machine)
    );
    if let Some(path) = &args.out {
        let json = path.extension().is_some_and(|e| e == "json");
        let text = if json {
            output::timeline_json(&runs)
        } else {
            output::timeline_csv(&runs)
        };
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.chart {
        std::fs::write(
            path,
            crate::simulate::chart::chart_svg(&runs, args.capacity_per_machine),
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// `--warm-up`: when judging starts (unix seconds), said on stderr.
fn judge_from(warm_up: Option<&str>, history: &History) -> anyhow::Result<f64> {
    let (Some(text), Some(first)) = (warm_up, history.rows.first()) else {
        return Ok(f64::NEG_INFINITY);
    };
    let d = text::parse_duration(text).map_err(|e| anyhow::anyhow!("--warm-up: {e}"))?;
    let from = first.0 + d.as_secs_f64();
    if history.rows.last().is_none_or(|last| last.0 < from) {
        bail!("--warm-up {text}: the history is shorter than that; nothing would be judged");
    }
    eprintln!(
        "judged from {} on (the first {text} of the history warm the policies up)",
        crate::clock::timestamp(from as u64)
    );
    Ok(from)
}

/// `--interval` / `--watch-interval`: the cadences to replay at, named; None: by row.
fn cadences(
    args: &SimulateArgs,
) -> anyhow::Result<Option<Vec<(String, simulate::timed::Cadences)>>> {
    if args.interval.is_none() && args.watch_intervals.is_empty() {
        return Ok(None);
    }
    let secs = |flag: &str, v: &str| -> anyhow::Result<f64> {
        let d = text::parse_duration(v).map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
        if d.is_zero() {
            bail!("{flag} {v:?} must be longer than zero");
        }
        Ok(d.as_secs_f64())
    };
    let interval = secs("--interval", args.interval.as_deref().unwrap_or("15s"))?;
    let every = if args.interval.is_some() {
        format!("rounds {}", args.interval.as_deref().unwrap_or_default())
    } else {
        "rounds 15s".to_string()
    };
    let mut out = Vec::new();
    for w in &args.watch_intervals {
        match w.trim() {
            "off" | "0" => out.push((
                every.clone(),
                simulate::timed::Cadences {
                    interval,
                    watch: None,
                },
            )),
            v => out.push((
                format!("{every} + watch {v}"),
                simulate::timed::Cadences {
                    interval,
                    watch: Some(secs("--watch-interval", v)?),
                },
            )),
        }
    }
    if out.is_empty() {
        out.push((
            every,
            simulate::timed::Cadences {
                interval,
                watch: None,
            },
        ));
    }
    Ok(Some(out))
}

fn load_history(args: &SimulateArgs) -> anyhow::Result<History> {
    match (&args.metrics, &args.prometheus) {
        (Some(path), None) => History::from_csv(path).map_err(anyhow::Error::msg),
        (None, Some(url)) => {
            let (Some(query), Some(start), Some(end)) = (&args.query, &args.start, &args.end)
            else {
                bail!("--prometheus needs --query, --start and --end (RFC 3339 or unix seconds)");
            };
            let time = |s: &str| {
                simulate::history::parse_time(s)
                    .with_context(|| format!("bad time {s:?}: use RFC 3339 or unix seconds"))
            };
            let step = text::parse_duration(&args.step)
                .map_err(anyhow::Error::msg)?
                .as_secs_f64();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(History::from_prometheus(
                url,
                query,
                &args.metric_name,
                time(start)?,
                time(end)?,
                step,
            ))
            .map_err(anyhow::Error::msg)
        }
        _ => bail!("give the history with --metrics FILE.csv or --prometheus URL (not both)"),
    }
}

/// `--jobs`: each --policy twice over the same arrivals, upstream's order then its own.
fn jobs(
    args: &SimulateArgs,
    cfg: &Config,
    history: &History,
    opts: &Options,
) -> anyhow::Result<()> {
    let (min, max) = args
        .job_secs
        .split_once("..")
        .and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)))
        .filter(|(a, b)| *a > 0.0 && b >= a)
        .with_context(|| {
            format!(
                "--job-secs {:?}: use MIN..MAX seconds, e.g. 10..600",
                args.job_secs
            )
        })?;
    if args.policies.is_empty() {
        bail!("--jobs compares a --policy's own scale-down order with upstream's: give --policy FILE (e.g. scripts/worker_drain.lua)");
    }
    let model = simulate::jobs::JobModel {
        min_secs: min,
        max_secs: max,
        seed: args.seed,
    };
    println!("jobs arriving as the demand column says, {min:.0}–{max:.0} s long; interrupted = stopped or destroyed mid-job (requeued)");
    println!(
        "{:<24} {:<22} {:>8} {:>10} {:>12} {:>14}",
        "policy", "scale-down order", "arrived", "completed", "interrupted", "machine-hours"
    );
    for p in &args.policies {
        let label = p.file_stem().map_or_else(
            || p.display().to_string(),
            |s| s.to_string_lossy().into_owned(),
        );
        for (own, order) in [(false, "upstream (by id)"), (true, "the policy's own")] {
            // A fresh policy each run: its state (cooldowns) must not carry over.
            let mut policy = Policy::from_file(p, &cfg.policy_params, Limits::default())?;
            let s = simulate::jobs::run(&mut policy, history, opts, model, own);
            println!(
                "{label:<24} {order:<22} {:>8} {:>10} {:>12} {:>14.1}",
                s.arrived,
                s.completed,
                s.interrupted,
                s.machine_seconds / 3600.0
            );
        }
    }
    Ok(())
}
