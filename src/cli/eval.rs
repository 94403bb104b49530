//! `fas eval`: upstream's eval (evaluate the counts once, print JSON), plus offline
//! metric values with `--set` and Lua policies with `--policy`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use serde::Serialize;

use crate::config::{process_env, Config, Needs};
use crate::policy::{expr, AppInput, Bounds, Limits, MachineCounts, Policy};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// YAML config file (fly-autoscaler's format); environment variables apply first.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A Lua policy file defining scale(metrics, app), instead of count expressions.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// A metric value, NAME=VALUE (repeatable); no collector is queried when given.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    sets: Vec<String>,
    /// Print the Lua that the count expressions translate to, and exit.
    #[arg(long)]
    show_lua: bool,
    /// Evaluate as at this time (RFC 3339, e.g. 2026-03-29T08:00:00+02:00) instead of
    /// now: what app.now, Expr's now() and fas.schedule see.
    #[arg(long, value_name = "RFC3339")]
    now: Option<String>,
}

/// `--now`'s time as unix seconds.
fn parse_now(text: &str) -> anyhow::Result<f64> {
    let ts: jiff::Timestamp = text.parse().map_err(|e| {
        anyhow::anyhow!(
            "--now {text:?}: not an RFC 3339 time ({e}); write e.g. 2026-03-29T08:00:00+02:00 or 2026-03-29T06:00:00Z"
        )
    })?;
    Ok(ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) / 1e9)
}

#[derive(Serialize)]
struct EvalOutput {
    created: Bounds,
    started: Bounds,
    /// The values collected (only when the collectors were queried).
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics: Option<std::collections::BTreeMap<String, f64>>,
}

fn parse_sets(sets: &[String]) -> anyhow::Result<Vec<(String, f64)>> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for s in sets {
        let Some((name, value)) = s.split_once('=') else {
            bail!("--set {s:?}: expected NAME=VALUE, e.g. --set queue_depth=42");
        };
        let v = crate::collect::parse_value(value)
            .with_context(|| format!("--set {s:?}: {value:?} is not a number"))?;
        out.retain(|(n, _)| n != name);
        out.push((name.to_string(), v));
    }
    Ok(out)
}

/// Queries every collector once for `app`, within the timeout.
fn collect_once(
    rt: &tokio::runtime::Runtime,
    collectors: &[std::sync::Arc<dyn crate::collect::Collector>],
    timeout: std::time::Duration,
    app: &str,
) -> anyhow::Result<Vec<(String, f64)>> {
    rt.block_on(async {
        match tokio::time::timeout(timeout, crate::collect::collect_all(collectors, app)).await {
            Ok(r) => Ok(r.context("metrics collection failed")?),
            Err(_) => {
                bail!("metrics collection failed: no answer within the timeout ({timeout:?})")
            }
        }
    })
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    crate::telemetry::log::init_policy_prints();
    let mut cfg = Config::load(args.config.as_deref(), &process_env)?;
    if args.policy.is_some() {
        cfg.policy = args.policy.clone();
    }
    let sets = parse_sets(&args.sets)?;
    let fixed_now = args.now.as_deref().map(parse_now).transpose()?;
    cfg.validate(Needs {
        app: sets.is_empty(),
    })?;
    // What `serve` builds when it loads a configuration, `eval` builds too, with
    // `--set` as well, so it refuses what `serve` refuses (only the API token is not
    // required: `eval` never calls Fly). One runtime for the command: collectors are
    // built inside it (a gRPC channel needs its reactor) and queried in it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _inside = rt.enter();
    let settings = super::serve_reload::settings(&cfg)?;
    if args.show_lua {
        if cfg.policy.is_some() {
            bail!("--show-lua shows translated count expressions; this config uses a Lua policy");
        }
        let names = if sets.is_empty() {
            cfg.metric_names()
        } else {
            sets.iter().map(|(n, _)| n.clone()).collect()
        };
        print!("{}", expr::translate_policy(&cfg.count_exprs(), &names)?);
        return Ok(());
    }
    let app = if cfg.app_name.is_empty() {
        "eval".to_string()
    } else {
        cfg.app_name.clone()
    };
    // With --set no collector is queried; without, each is queried once.
    let (metrics, collected) = if sets.is_empty() && !cfg.metric_collectors.is_empty() {
        let values = collect_once(&rt, &settings.collectors, cfg.timeout, &app)?;
        (values.clone(), Some(values.into_iter().collect()))
    } else {
        (sets, None)
    };
    let names: Vec<String> = metrics.iter().map(|(n, _)| n.clone()).collect();
    let mut policy = Policy::from_config(&cfg, &names, Limits::default()).map_err(|e| {
        super::unknown_name_hint(
            e,
            &names,
            "give one with --set NAME=VALUE, or a collector's metric-name",
        )
    })?;
    let now = match fixed_now {
        Some(t) => t,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0),
    };
    let machines = MachineCounts::default();
    let input = AppInput {
        name: &app,
        now,
        interval_secs: cfg.interval.as_secs_f64(),
        round: crate::policy::Round::Full,
        machines: &machines,
        metrics: &metrics,
    };
    let targets = policy.decide(&input)?;
    let unknown = policy.unknown_metrics();
    if !unknown.is_empty() {
        eprintln!(
            "warning: the policy read {}, which no collector (or --set) provides; it sees nil there: check the name{}",
            unknown.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
            if names.is_empty() { String::new() } else { format!(" (provided: {})", names.join(", ")) }
        );
    }
    let out = EvalOutput {
        created: targets.created.unwrap_or_default(),
        started: targets.started.unwrap_or_default(),
        metrics: collected,
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
