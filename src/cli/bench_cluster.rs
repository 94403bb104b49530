//! `fas bench cluster`: N `fas serve` processes (default 4) sharing 100,000 wildcard
//! apps of 3 Machines through a PostgreSQL you give (`--cluster-url`; a schema of its
//! own is made and dropped), against one `fas sim` child with 50 ms added to every
//! API call. Prints: seconds until every app was reconciled, list calls per app in a
//! steady round, and per instance CPU, RSS and database statements per second; and
//! the simulator's CPU, so a saturated harness shows. Goals (issue 24): <= 1.05 list
//! calls per app per round, <= 60 MB per 10,000 apps per instance, <= 50 statements
//! per second per instance in steady state.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use super::bench_reconcile::SimChild;

#[derive(clap::Args)]
pub struct ClusterBenchArgs {
    /// `fas bench cluster`: a PostgreSQL to share (a throwaway one: the bench makes and
    /// drops a schema `fas_bench_PID` in it).
    #[arg(long, env = "FAS_BENCH_CLUSTER_URL", hide_env_values = true)]
    cluster_url: Option<String>,
    /// `fas bench cluster`: instances sharing the apps.
    #[arg(long, default_value_t = 4)]
    instances: usize,
}

/// (CPU seconds, RSS MB) of a process, from /proc.
fn proc_usage(pid: u32) -> (f64, f64) {
    let pid = pid.to_string();
    let rss = super::bench_reconcile::status_kb_of(&pid, "VmRSS:");
    (super::bench_reconcile::cpu_secs(&pid), rss as f64 / 1024.0)
}

struct Instance {
    child: Child,
    metrics: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of an unlabelled or fully spelled series on an instance's /metrics.
async fn series(http: &reqwest::Client, i: &Instance, name: &str) -> f64 {
    let Ok(r) = http.get(&i.metrics).send().await else {
        return 0.0;
    };
    let text = r.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

pub fn run(
    a: ClusterBenchArgs,
    r: &super::bench_reconcile::ReconcileBenchArgs,
) -> anyhow::Result<()> {
    let Some(url) = a.cluster_url.clone() else {
        bail!("fas bench cluster needs a throwaway PostgreSQL: --cluster-url postgres://USER:PASSWORD@HOST:5432/DB?sslmode=disable (or FAS_BENCH_CLUSTER_URL); it makes and drops a schema of its own");
    };
    let apps = if r.apps == 10_000 { 100_000 } else { r.apps };
    let sim = SimChild::wildcard_apps(apps, r.latency_ms)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let schema = format!("fas_bench_{}", std::process::id());
    let result = rt.block_on(async {
        let admin = crate::cluster::admin_connect(&url).await?;
        admin
            .batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await?;
        let sep = if url.contains('?') { '&' } else { '?' };
        let scoped = format!("{url}{sep}options=-csearch_path%3D{schema}");
        let out = bench(&a, r, apps, &scoped, &sim).await;
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await?;
        out
    });
    drop(sim);
    result
}

async fn bench(
    a: &ClusterBenchArgs,
    r: &super::bench_reconcile::ReconcileBenchArgs,
    apps: usize,
    url: &str,
    sim: &SimChild,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut instances = Vec::new();
    for i in 0..a.instances.max(1) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = Command::new(&exe)
            .arg("serve")
            .env_clear()
            .env("FAS_APP_NAME", "app-*")
            .env("FAS_ORG", "bench")
            .env("FAS_STARTED_MACHINE_COUNT", "3")
            .env("FAS_INTERVAL", format!("{}s", r.interval_secs))
            .env("FAS_CONCURRENCY", r.concurrency.to_string())
            .env("FAS_WATCH_INTERVAL", "0")
            .env("FAS_APP_LIST_REFRESH_INTERVAL", "1h")
            .env("FAS_CLUSTER_URL", url)
            .env("FLY_MACHINE_ID", format!("bench-{i}"))
            .env("FAS_API_TOKEN", format!("bench-{i}"))
            .env("FAS_MACHINES_API_URL", &sim.url)
            .env("FAS_GRAPHQL_URL", format!("{}/graphql", sim.url))
            .env("FAS_METRICS_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start fas serve")?;
        instances.push(Instance {
            child,
            metrics: format!("http://127.0.0.1:{port}/metrics"),
        });
    }
    let http = reqwest::Client::new();
    let interval = Duration::from_secs(r.interval_secs);
    let visited = || async {
        let mut n = 0.0;
        for i in &instances {
            n += series(&http, i, "fas_reconcile_count{status=\"no_scale\"}").await;
        }
        n as usize
    };
    let start = Instant::now();
    while visited().await < apps && start.elapsed() < interval * 6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let first_round = start.elapsed().as_secs_f64();
    let all = visited().await >= apps;
    let lists = || async {
        let v: serde_json::Value = http
            .get(format!("{}/__sim/stats", sim.url))
            .send()
            .await?
            .json()
            .await?;
        anyhow::Ok(v["requests"]["list 200"].as_u64().unwrap_or(0))
    };
    // Steady rounds: from three intervals after every app was reached (the backlog of
    // the start, when four instances and the simulator share two cores, clears first).
    tokio::time::sleep(interval * 3).await;
    let usage = |q: Vec<f64>| {
        instances
            .iter()
            .zip(q)
            .map(|(i, q)| (proc_usage(i.child.id()), q))
            .collect::<Vec<_>>()
    };
    let queries = || async {
        let mut q = Vec::new();
        for i in &instances {
            q.push(series(&http, i, "fas_cluster_queries_total").await);
        }
        q
    };
    // Each figure is divided by the time between the starts of its own two readings
    // (the simulator copies its counters as a request arrives): reading the
    // instances' /metrics (25,000 apps each) takes seconds on a busy machine, and a
    // fixed window read 9% too many rounds.
    let (l1, s1, u1, v1) = (
        (Instant::now(), lists().await?),
        proc_usage(sim.pid()),
        (Instant::now(), usage(queries().await)),
        (Instant::now(), visited().await),
    );
    // Two rounds, so rounds that a busy machine moved across the window's edges
    // weigh half as much. The second reading of the list calls starts exactly two
    // intervals after the first: both fall at the same place in every app's
    // interval (a 500 ms slot's rounds start together, and a slot more at one edge
    // moved the figure by 1.6%).
    const ROUNDS: u32 = 2;
    tokio::time::sleep_until(tokio::time::Instant::from_std(l1.0 + interval * ROUNDS)).await;
    let (l2, s2, u2, v2) = (
        (Instant::now(), lists().await?),
        proc_usage(sim.pid()),
        (Instant::now(), usage(queries().await)),
        (Instant::now(), visited().await),
    );
    let rounds =
        |t1: Instant, t2: Instant| t2.duration_since(t1).as_secs_f64() / interval.as_secs_f64();
    let (rounds_l, rounds_v) = (rounds(l1.0, l2.0), rounds(v1.0, v2.0));
    let secs = u2.0.duration_since(u1.0).as_secs_f64();
    let (l1, l2, u1, u2, v1, v2) = (l1.1, l2.1, u1.1, u2.1, v1.1, v2.1);
    println!(
        "cluster, {apps} wildcard apps x 3 Machines over {} instances, {} ms per API call, concurrency {}, interval {} s:",
        instances.len(), r.latency_ms, r.concurrency, r.interval_secs
    );
    println!(
        "  every app reconciled after {first_round:.1} s ({})",
        if all { "all" } else { "NOT all" }
    );
    println!(
        "  list calls per app per steady round (over {rounds_l:.2} intervals): {:.3} (goal <= 1.05)",
        (l2 - l1) as f64 / apps as f64 / rounds_l
    );
    println!(
        "  full rounds per app per round: {:.3}",
        (v2 - v1) as f64 / apps as f64 / rounds_v
    );
    let per10k = 10_000.0 / (apps as f64 / instances.len() as f64);
    for (n, (((c1, _), q1), ((c2, rss), q2))) in u1.iter().zip(&u2).enumerate() {
        println!(
            "  instance {n}: CPU {:.0}% of a core, RSS {rss:.0} MB ({:.0} MB per 10,000 apps owned; goal <= 60), database {:.1} statements/s (goal <= 50)",
            (c2 - c1) / secs * 100.0, rss * per10k, (q2 - q1) / secs
        );
    }
    let (mut moved, mut overruns) = (Vec::new(), 0.0);
    for i in &instances {
        let of = |d| format!("fas_cluster_handoffs_total{{direction=\"{d}\"}}");
        let (g, l) = (
            series(&http, i, &of("gained")).await,
            series(&http, i, &of("lost")).await,
        );
        moved.push(format!("{g:.0}/{l:.0}"));
        overruns += series(&http, i, "fas_reconcile_skipped_total{reason=\"overrun\"}").await;
    }
    println!(
        "  shards gained/lost by each instance since start: {}",
        moved.join(", ")
    );
    // Every app every round: a round skipped because the one before overran counts here.
    println!("  rounds skipped as overrun since start, all instances: {overruns:.0} (goal 0)");
    println!(
        "  simulator: CPU {:.0}% of a core, RSS {:.0} MB (a harness near 100% measures itself)",
        (s2.0 - s1.0) / secs * 100.0,
        s2.1
    );
    for i in &instances {
        let _ = Command::new("kill")
            .args(["-TERM", &i.child.id().to_string()])
            .status();
    }
    Ok(())
}
