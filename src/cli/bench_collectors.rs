//! `fas bench collectors`: N apps, each read by a Redis and a PostgreSQL collector, for
//! a few rounds against real local servers (their addresses given): the time and CPU
//! of a round, and the connections opened, which must not grow with rounds (one per
//! collector, kept).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::collect::{postgres::Postgres, redis::Redis, Collector};
use crate::config::CollectorConfig;

#[derive(clap::Args)]
pub struct CollectorBenchArgs {
    /// Redis to read (`fas bench collectors`), e.g. redis://:pw@127.0.0.1:6379.
    #[arg(long)]
    redis: Option<String>,
    /// PostgreSQL to read (`fas bench collectors`), e.g. postgres://u:pw@127.0.0.1/db.
    #[arg(long)]
    postgres: Option<String>,
    /// Rounds to run (`fas bench collectors`).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Reads in flight at once (`fas bench collectors`).
    #[arg(long, default_value_t = 64)]
    collect_concurrency: usize,
}

pub fn run(a: CollectorBenchArgs, apps: usize) -> anyhow::Result<()> {
    let (Some(redis), Some(postgres)) = (a.redis, a.postgres) else {
        anyhow::bail!("fas bench collectors needs --redis URL and --postgres URL of local servers");
    };
    let base = |kind: &str, address: String| CollectorConfig {
        kind: kind.into(),
        metric_name: kind.into(),
        address,
        origin: "bench".into(),
        ..CollectorConfig::default()
    };
    let timeout = Duration::from_secs(10);
    let r = Arc::new(Redis::new(
        &CollectorConfig {
            command: "LLEN queue:$APP_NAME".into(),
            ..base("redis", redis)
        },
        timeout,
    )?);
    let p = Arc::new(Postgres::new(
        &CollectorConfig {
            query: "SELECT count(*) FROM pg_class WHERE relname = '$APP_NAME'".into(),
            ..base("postgres", postgres)
        },
        timeout,
    )?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    println!(
        "collectors: {apps} apps x (Redis LLEN + PostgreSQL count) per round, {} in flight",
        a.collect_concurrency
    );
    for round in 1..=a.rounds {
        let (cpu0, _) = super::bench_reconcile::usage();
        let started = Instant::now();
        let failed = rt.block_on(one_round(&r, &p, apps, a.collect_concurrency));
        let (cpu1, rss) = super::bench_reconcile::usage();
        println!(
            "  round {round}: {:.2} s, CPU {:.2} s, {failed} failed reads, connections opened so far: redis {}, postgres {}, peak RSS {rss:.0} MB",
            started.elapsed().as_secs_f64(),
            cpu1 - cpu0,
            r.connections_opened(),
            p.connections_opened(),
        );
    }
    Ok(())
}

async fn one_round(r: &Arc<Redis>, p: &Arc<Postgres>, apps: usize, concurrency: usize) -> usize {
    let gate = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::with_capacity(apps);
    for i in 0..apps {
        let (r, p, gate) = (r.clone(), p.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            let app = format!("app-{i}");
            let a = r.collect(&app).await.is_err() as usize;
            let b = p.collect(&app).await.is_err() as usize;
            a + b
        }));
    }
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap_or(2);
    }
    failed
}
