//! `fas bench`: figures for the performance goals, printed, never asserted.
//! `fas bench policy` times policy decisions (goal: <= 300 ns for a translated Expr,
//! <= 2 us for a 20-line Lua policy, on a 2-core machine, release build);
//! `fas bench sim` the simulator's throughput (see bench_sim.rs); `fas bench state`
//! the policy state kept per app (bench_state.rs).

use std::time::Instant;

use crate::policy::expr::CountExprs;
use crate::policy::{AppInput, Limits, MachineCounts, MachineInfo, Policy};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// What to measure.
    #[arg(value_parser = ["policy", "expr", "lua", "sim", "reconcile", "simulate", "faults", "collectors", "status", "answers", "reaction", "cluster", "state"], default_value = "policy")]
    what: String,
    /// Decisions to time per policy.
    #[arg(long, default_value_t = 1_000_000)]
    iterations: u64,
    /// Seconds to drive the simulator (`fas bench sim`).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[command(flatten)]
    reconcile: super::bench_reconcile::ReconcileBenchArgs,
    #[command(flatten)]
    collectors: super::bench_collectors::CollectorBenchArgs,
    #[command(flatten)]
    reaction: super::bench_reaction::ReactionBenchArgs,
    #[command(flatten)]
    cluster: super::bench_cluster::ClusterBenchArgs,
}

/// A 20-line policy of the kind users write: per-machine target, smoothing in
/// `app.state`, a scale-down cooldown and clamps.
const LUA_POLICY: &str = r#"
function scale(metrics, app)
  local s = app.state
  local per = app.params.per_machine or 10
  local q = metrics.queue_depth
  s.avg = s.avg and (s.avg * 0.8 + q * 0.2) or q
  local want = math.ceil(s.avg / per)
  if want < 1 then want = 1 end
  if want > 50 then want = 50 end
  local last = s.last or want
  if want < last then
    if (app.now - (s.changed_at or 0)) < 300 then
      want = last
    end
  end
  if want ~= last then s.changed_at = app.now end
  s.last = want
  local started = app.machines.started
  return { started = want, created = { min = 1, max = math.max(want, started) } }
end
"#;

/// ns per decision; each decision is handed a copy of `list` (`app.machines.list`),
/// as a reconcile hands it the app's Machines.
fn time_decisions(
    policy: &mut Policy,
    iterations: u64,
    metric: &str,
    list: &[MachineInfo],
) -> anyhow::Result<f64> {
    let machines = MachineCounts {
        created: 3,
        started: 2,
        stopped: 1,
        by_region: vec![("iad".into(), 2, 1)],
    };
    let mut metrics = vec![(metric.to_string(), 0.0)];
    let input_at = |i: u64, metrics: &mut Vec<(String, f64)>| {
        metrics[0].1 = (i % 1000) as f64;
        i as f64
    };
    let decide = |policy: &mut Policy, now: f64, metrics: &[(String, f64)]| {
        let input = AppInput {
            name: "bench-app",
            now,
            interval_secs: 15.0,
            round: crate::policy::Round::Full,
            machines: &machines,
            metrics,
        };
        policy.decide_full(&input, &[], list.to_vec())
    };
    // Warm up, then measure.
    for i in 0..iterations / 10 {
        let now = input_at(i, &mut metrics);
        decide(policy, now, &metrics)?;
    }
    let start = Instant::now();
    for i in 0..iterations {
        let now = input_at(i, &mut metrics);
        std::hint::black_box(decide(policy, now, &metrics)?);
    }
    Ok(start.elapsed().as_nanos() as f64 / iterations as f64)
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    let n = args.iterations.max(1);
    if cfg!(debug_assertions) {
        println!(
            "note: debug build; run `cargo run --release -- bench` for the figures that count"
        );
    }
    if args.what == "faults" {
        return bench_faults();
    }
    if args.what == "simulate" {
        return bench_simulate();
    }
    if args.what == "collectors" {
        let apps = if args.reconcile.apps == 10_000 {
            1_000
        } else {
            args.reconcile.apps
        };
        return super::bench_collectors::run(args.collectors, apps);
    }
    if args.what == "answers" {
        return super::bench_answers::run();
    }
    if args.what == "status" {
        return super::bench_status::run(args.reconcile.apps);
    }
    if args.what == "reaction" {
        return super::bench_reaction::run(args.reaction);
    }
    if args.what == "state" {
        return super::bench_state::run();
    }
    if args.what == "cluster" {
        return super::bench_cluster::run(args.cluster, &args.reconcile);
    }
    if args.what == "reconcile" {
        return super::bench_reconcile::run(args.reconcile);
    }
    if args.what == "sim" {
        return super::bench_sim::run(args.seconds);
    }
    if args.what != "lua" {
        bench_expr(n)?;
    }
    if args.what != "expr" {
        bench_lua(n)?;
    }
    Ok(())
}

fn bench_expr(n: u64) -> anyhow::Result<()> {
    let expr = "min(50, qdepth / 2)";
    let exprs = CountExprs {
        min_started: Some(expr.into()),
        max_started: Some(expr.into()),
        ..Default::default()
    };
    let mut p = Policy::from_exprs(&exprs, &["qdepth".to_string()], Limits::default())?;
    let ns = time_decisions(&mut p, n, "qdepth", &[])?;
    println!("policy decision, translated Expr `{expr}`: {ns:.0} ns/decision ({n} decisions; goal <= 300 ns)");
    Ok(())
}

fn bench_lua(n: u64) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let path = dir.join("bench_policy.lua");
    std::fs::write(&path, LUA_POLICY)?;
    let mut p = Policy::from_file(
        &path,
        &serde_json::json!({"per_machine": 10}),
        Limits::default(),
    )?;
    let ns = time_decisions(&mut p, n, "queue_depth", &[])?;
    println!(
        "policy decision, 20-line Lua policy: {ns:.0} ns/decision ({n} decisions; goal <= 2000 ns)"
    );
    // The same policy handed 3 Machines it never reads: `app.machines.list` is built
    // only when read, so the list costs only its copy on the Rust side.
    let machine = |id: &str| MachineInfo {
        id: id.into(),
        state: "started".into(),
        region: "iad".into(),
        created_at: "2026-12-01T10:00:00Z".into(),
        metadata: vec![("fly_process_group".into(), "app".into())],
        metrics: vec![],
    };
    let list = [machine("m1"), machine("m2"), machine("m3")];
    let ns = time_decisions(&mut p, n, "queue_depth", &list)?;
    println!("policy decision, the same with 3 Machines listed and not read: {ns:.0} ns/decision");
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("fas-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// 30 days at 15 s steps (172,800 rounds) through a translated Expr (goal: < 10 s).
fn bench_simulate() -> anyhow::Result<()> {
    use crate::simulate::{self, History, Options};
    let rounds = 30 * 24 * 3600 / 15;
    let rows = (0..rounds)
        .map(|i| {
            let t = 1_704_067_200.0 + i as f64 * 15.0;
            let wave = 60.0 + 55.0 * (i as f64 * 15.0 / 86_400.0 * std::f64::consts::TAU).sin();
            (t, vec![wave.max(0.0)])
        })
        .collect();
    let history = History {
        names: vec!["queue_depth".into()],
        rows,
    };
    let expr = "ceil(queue_depth / 10)";
    let exprs = CountExprs {
        min_started: Some(expr.into()),
        max_started: Some(expr.into()),
        ..Default::default()
    };
    let mut p = Policy::from_exprs(&exprs, &history.names, Limits::default())?;
    let start = Instant::now();
    let (_, summary) = simulate::run(&mut p, &history, &Options::default(), |_| {});
    let secs = start.elapsed().as_secs_f64();
    println!(
        "simulate: {} rounds (30 days at 15 s) of `{expr}` in {secs:.2} s ({:.1} µs/round; goal < 10 s); {} actions",
        summary.rounds,
        secs * 1e6 / summary.rounds as f64,
        summary.starts + summary.stops
    );
    Ok(())
}

/// The fault matrix: a line per row (faults injected, rounds, actions, violations).
fn bench_faults() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (mut faults, mut rounds, mut actions, mut violations) = (0, 0, 0, 0);
    println!(
        "{:<36} {:>7} {:>7} {:>8} {:>11}",
        "fault", "faults", "rounds", "actions", "violations"
    );
    for row in crate::faults::rows() {
        let r = rt.block_on(crate::faults::run_row(
            &row,
            6,
            std::time::Duration::from_millis(100),
        ));
        println!(
            "{:<36} {:>7} {:>7} {:>8} {:>11}",
            r.name,
            r.faults_injected,
            r.rounds,
            r.actions,
            r.violations.len()
        );
        for v in &r.violations {
            println!("    violation: {v}");
        }
        faults += r.faults_injected;
        rounds += r.rounds;
        actions += r.actions;
        violations += r.violations.len();
    }
    println!(
        "{:<36} {faults:>7} {rounds:>7} {actions:>8} {violations:>11}",
        "total"
    );
    anyhow::ensure!(violations == 0, "{violations} invariant violation(s)");
    Ok(())
}
