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
}

#[derive(Serialize)]
struct EvalOutput {
    created: Bounds,
    started: Bounds,
}

/// Parses a metric value as fas accepts it: any float, including NaN and ±inf.
pub fn parse_value(s: &str) -> Option<f64> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

fn parse_sets(sets: &[String]) -> anyhow::Result<Vec<(String, f64)>> {
    let mut out: Vec<(String, f64)> = Vec::new();
    for s in sets {
        let Some((name, value)) = s.split_once('=') else {
            bail!("--set {s:?}: expected NAME=VALUE, e.g. --set queue_depth=42");
        };
        let v = parse_value(value)
            .with_context(|| format!("--set {s:?}: {value:?} is not a number"))?;
        out.retain(|(n, _)| n != name);
        out.push((name.to_string(), v));
    }
    Ok(out)
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let mut cfg = Config::load(args.config.as_deref(), &process_env)?;
    if args.policy.is_some() {
        cfg.policy = args.policy.clone();
    }
    let metrics = parse_sets(&args.sets)?;
    cfg.validate(Needs {
        app: metrics.is_empty(),
    })?;
    let names: Vec<String> = metrics.iter().map(|(n, _)| n.clone()).collect();
    if args.show_lua {
        if cfg.policy.is_some() {
            bail!("--show-lua shows translated count expressions; this config uses a Lua policy");
        }
        print!("{}", expr::translate_policy(&cfg.count_exprs(), &names)?);
        return Ok(());
    }
    if metrics.is_empty() && !cfg.metric_collectors.is_empty() {
        bail!("querying metric collectors is not available in this build yet: pass the metric values with --set NAME=VALUE");
    }
    let mut policy = Policy::from_config(&cfg, &names, Limits::default())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let app = if cfg.app_name.is_empty() {
        "eval"
    } else {
        cfg.app_name.as_str()
    };
    let machines = MachineCounts::default();
    let input = AppInput {
        name: app,
        now,
        interval_secs: cfg.interval.as_secs_f64(),
        machines: &machines,
        metrics: &metrics,
    };
    let targets = policy.decide(&input)?;
    let out = EvalOutput {
        created: targets.created.unwrap_or_default(),
        started: targets.started.unwrap_or_default(),
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
