//! Command-line interface: parses arguments and dispatches to one command each.
//! Errors print as one `ERROR: …` line on stderr with exit status 1, as upstream.

mod bench;
mod bench_answers;
mod bench_cluster;
mod bench_collectors;
mod bench_reaction;
mod bench_reconcile;
mod bench_sim;
mod bench_state;
mod bench_status;
mod eval;
mod sandbox;
mod sandbox_feed;
mod script_test;
mod serve;
mod serve_reload;
mod sim;
mod simulate;

use std::ffi::OsString;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "fas",
    version,
    about = "A metrics-based autoscaler for Fly.io Machines with Lua policies"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `fas serve --help` ends with where the configuration comes from.
const SERVE_CONFIG_HELP: &str = "\
Configuration comes from FAS_* environment variables (or the same keys in --config YAML),
as fly-autoscaler's: FAS_APP_NAME (an app or a wildcard such as my-app-*), FAS_ORG,
FAS_API_TOKEN, FAS_STARTED_MACHINE_COUNT / FAS_CREATED_MACHINE_COUNT (Expr) or
FAS_POLICY (Lua), collectors (FAS_PROMETHEUS_*, FAS_TEMPORAL_*, FAS_REDIS_*,
FAS_POSTGRES_*, FAS_NATS_*, FAS_HTTP_*), FAS_INTERVAL, ...
Every variable, its YAML key and default: README.md, section \"Configuration\".
Check a configuration without scaling anything: fas eval.";

#[derive(Subcommand)]
enum Command {
    /// Watch fas scale a simulated app: simulator, workload and the real loop, no Fly account.
    Sandbox(sandbox::SandboxArgs),
    /// Run the autoscaler: reconcile the configured apps every interval.
    #[command(after_help = SERVE_CONFIG_HELP)]
    Serve(serve::ServeArgs),
    /// Evaluate the configured counts or policy once and print the targets as JSON.
    Eval(eval::EvalArgs),
    /// Print figures for the performance goals: policy decision time, simulator
    /// throughput, a 10,000-app reconcile, simulate speed, the fault matrix, collectors.
    Bench(bench::BenchArgs),
    /// Run the Lua policy tests (*_test.lua).
    ScriptTest(script_test::ScriptTestArgs),
    /// Backtest policies on a metric history.
    Simulate(Box<simulate::SimulateArgs>),
    /// Serve the Fly Machines API simulator.
    Sim(sim::SimArgs),
    /// Print the version.
    Version,
}

pub fn run() -> i32 {
    // A panic's message passes the same redaction as errors and logs.
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string();
        eprintln!("panic: {}", crate::redact::quote(&text));
    }));
    let cli = Cli::parse_from(go_style_flags(std::env::args_os().collect()));
    let result = match cli.command {
        Command::Sandbox(args) => sandbox::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Simulate(args) => simulate::run(*args),
        Command::ScriptTest(args) => script_test::run(args),
        Command::Version => {
            println!("fas {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            // One line, whatever the error chain holds.
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("ERROR: {}", crate::redact::quote(&msg));
            1
        }
    }
}

/// An expression naming a metric that is not there: the error says which metrics are
/// there and `how` to give one.
fn unknown_name_hint(e: crate::policy::PolicyError, names: &[String], how: &str) -> anyhow::Error {
    let text = e.to_string();
    if !text.contains("unknown name ") {
        return e.into();
    }
    let known = if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    };
    anyhow::anyhow!("{text} (metrics: {known}; {how})")
}

/// fly-autoscaler parses its flags as Go does and prints `-config` in its usage, so
/// deployments carry `fly-autoscaler serve -config up.yml`. Go reads `-name`,
/// `-name=value`, `--name` and `--name=value` alike: a single-dash word naming one of
/// the subcommand's long options (or `help`) is read as that option. Other words,
/// values and everything after `--` are left alone.
pub fn go_style_flags(args: Vec<OsString>) -> Vec<OsString> {
    let cli = Cli::command();
    let Some(sub) = args
        .get(1)
        .and_then(|a| a.to_str())
        .and_then(|name| cli.find_subcommand(name))
    else {
        return args;
    };
    let longs: Vec<&str> = sub
        .get_arguments()
        .filter_map(|a| a.get_long())
        .chain(["help"])
        .collect();
    let mut after_dashes = false;
    let mut out = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        after_dashes |= arg == "--";
        let go_flag = arg
            .to_str()
            .filter(|_| i >= 2 && !after_dashes)
            .and_then(|a| a.strip_prefix('-'))
            .filter(|word| !word.starts_with('-'))
            .filter(|word| longs.contains(&word.split('=').next().unwrap_or(word)));
        match go_flag {
            Some(word) => out.push(OsString::from(format!("--{word}"))),
            None => out.push(arg.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        let args = args.iter().map(OsString::from).collect();
        go_style_flags(args)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn go_style_flags_read_as_long_options() {
        assert_eq!(
            rewrite(&["fas", "eval", "-config", "up.yml"]),
            ["fas", "eval", "--config", "up.yml"]
        );
        assert_eq!(
            rewrite(&["fas", "serve", "-config=up.yml", "-log-format", "json"]),
            ["fas", "serve", "--config=up.yml", "--log-format", "json"]
        );
        assert_eq!(
            rewrite(&["fas", "serve", "-help"]),
            ["fas", "serve", "--help"]
        );
        // Not an option of the command, a value, or after `--`: untouched.
        assert_eq!(
            rewrite(&["fas", "eval", "-x", "--set", "q=-1", "--", "-config"]),
            ["fas", "eval", "-x", "--set", "q=-1", "--", "-config"]
        );
        assert_eq!(rewrite(&["fas", "-config"]), ["fas", "-config"]);
    }
}
