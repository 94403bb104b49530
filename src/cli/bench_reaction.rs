//! `fas bench reaction`: how fast a job reaches a worker. The real scheduler and
//! reconciler (watch steps at their defaults) read a real redis-server (`LLEN
//! queue:$APP_NAME`, policy `started = 1 + queue`) and scale a `fas sim` child process
//! at its default, realistic latencies; each app has one started, one suspended and
//! one stopped Machine (a few apps: ten of each, one job after another, for more
//! samples). After a steady minute, one job per app arrives (spread over 5 s): a
//! suspended Machine resumes; then, once the suspended are used, a stopped one starts.
//! Reaction = from the job being in Redis to the simulator's Machine being `started`
//! (its own transition time). Prints median and p95 per pool, Machines API calls per
//! app per minute while steady, and fas's CPU. Goals (2 cores): 1 app median <= 1 s
//! from a suspended pool and <= 2 s from a stopped one; 1,000 apps median <= 2 s at
//! <= 10% of a core and <= 5 API calls per app per minute while steady.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::bench_reconcile::{usage, SimChild};
use crate::clock::SystemClock;
use crate::config::{CollectorConfig, Secret, Watch};
use crate::fly::{ClientOptions, FlyClient};
use crate::policy::expr::CountExprs;
use crate::policy::{Limits, Policy, PolicyHandle};
use crate::reconcile::{Apps, PlanOptions, Reconciler, Scheduler, Settings};
use crate::telemetry::Metrics;

#[derive(clap::Args)]
pub struct ReactionBenchArgs {
    /// Fleet sizes to measure, in apps (`fas bench reaction`).
    #[arg(long, value_delimiter = ',', default_value = "1,1000")]
    fleets: Vec<usize>,
}

/// A child process killed when dropped.
struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run(a: ReactionBenchArgs) -> anyhow::Result<()> {
    for apps in a.fleets {
        fleet(apps)?;
    }
    Ok(())
}

fn fleet(apps: usize) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("fas-bench-reaction-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let names: Vec<String> = (1..=apps).map(|i| format!("react-{i}")).collect();
    // Jobs per app and pool: a few apps take several in turn, so their figures have
    // more than one sample.
    let trials = (20 / apps).clamp(1, 10);
    let mut pool = vec![json!({"state": "started"})];
    pool.extend((0..trials).map(|_| json!({"state": "suspended"})));
    pool.extend((0..trials).map(|_| json!({"state": "stopped"})));
    let seed = json!({"apps": names.iter().map(|n| json!({"org": "bench", "name": n,
        "machines": pool})).collect::<Vec<_>>()});
    std::fs::write(dir.join("seed.json"), seed.to_string())?;
    let redis_port = free_port()?;
    let _redis = Kid(Command::new(which("redis-server")?)
        .args([
            "--port",
            &redis_port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .context("cannot start redis-server")?);
    let seed_path = dir.join("seed.json");
    let sim = SimChild::start(&["--apps", &seed_path.to_string_lossy()])?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(measure(&names, &sim.url, redis_port, trials));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(
    names: &[String],
    url: &str,
    redis_port: u16,
    trials: usize,
) -> anyhow::Result<()> {
    let apps = names.len();
    let interval = Duration::from_secs(15);
    let mut redis = connect(redis_port).await?;
    let fly = Arc::new(FlyClient::new(ClientOptions::for_base(
        url,
        Secret::new("bench"),
    ))?);
    let queue = CollectorConfig {
        kind: "redis".into(),
        metric_name: "queue".into(),
        address: format!("redis://127.0.0.1:{redis_port}"),
        command: "LLEN queue:$APP_NAME".into(),
        origin: "bench".into(),
        ..CollectorConfig::default()
    };
    let settings = Settings {
        collectors: crate::collect::build(&[queue], Duration::from_secs(5))?,
        full_rounds_only: vec![false],
        plan: PlanOptions {
            process_group: "app".into(),
            regions: vec![],
            create_stopped: false,
            suspend: false,
        },
        dry_run: false,
        drain: Default::default(),
        pause: "none".into(),
        fallback: None,
        policy_sees_errors: false,
        warm_pool: false,
    };
    let exprs = CountExprs {
        min_started: Some("1 + queue".into()),
        max_started: Some("1 + queue".into()),
        ..Default::default()
    };
    let policy = PolicyHandle::spawn(move || {
        Policy::from_exprs(&exprs, &["queue".into()], Limits::default())
    })?;
    let metrics = Arc::new(Metrics::default());
    let reconciler = Arc::new(Reconciler::with_settings(
        fly.clone(),
        settings,
        policy,
        Duration::from_secs(30),
        interval,
        Arc::new(SystemClock),
        metrics.clone(),
    ));
    let watch = Watch::default();
    let period = watch.period(apps, 1, interval);
    let scheduler = Scheduler {
        reconciler,
        fly,
        apps: if apps == 1 {
            Apps::One(names[0].clone())
        } else {
            Apps::Matching {
                org: "bench".into(),
                pattern: glob::Pattern::new("react-*").expect("a constant, valid pattern"),
            }
        },
        interval,
        refresh_interval: Duration::from_secs(3600),
        concurrency: 64,
        grace: crate::reconcile::scheduler::STATE_GRACE,
        watch,
        pokes: None,
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(scheduler.run(rx));
    let http = reqwest::Client::new();
    let start = Instant::now();
    while (metrics.counter("fas_reconcile_count", &[("status", "no_scale")]) as usize) < apps {
        if start.elapsed() > interval * 3 {
            bail!("not every app finished a first round within 45 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Steady: nothing changes for a minute.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let steady = Duration::from_secs(60);
    let (cpu0, _) = usage();
    let calls0 = calls(&http, url).await?;
    tokio::time::sleep(steady).await;
    let (cpu1, _) = usage();
    let calls1 = calls(&http, url).await?;
    let per_minute = (calls1 - calls0) as f64 / apps as f64 / (steady.as_secs_f64() / 60.0);
    let steady_cpu = (cpu1 - cpu0) / steady.as_secs_f64() * 100.0;

    let mut lines = Vec::new();
    let mut running = 1;
    for pool in ["suspended", "stopped"] {
        let (cpu0, _) = usage();
        let t0 = Instant::now();
        let mut reactions = Vec::new();
        for _ in 0..trials {
            running += 1;
            let pushed = push_jobs(&mut redis, names).await?;
            reactions.extend(wait_started(&http, url, names, &pushed, running).await?);
        }
        reactions.sort_by(f64::total_cmp);
        let (cpu1, _) = usage();
        let cpu = (cpu1 - cpu0) / t0.elapsed().as_secs_f64() * 100.0;
        lines.push(format!(
            "  from a {pool} pool: reaction median {:.2} s, p95 {:.2} s, max {:.2} s over {} jobs ({} per app); fas CPU meanwhile {cpu:.1}% of a core",
            pct(&reactions, 0.5), pct(&reactions, 0.95), pct(&reactions, 1.0), reactions.len(), trials
        ));
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.send(true)?;
    let _ = task.await;
    println!(
        "reaction, {apps} app(s), Redis LLEN, sim at default latencies, interval 15 s, watch period {}:",
        period.map_or("none (full rounds only)".into(), |p| format!("{:.1} s", p.as_secs_f64()))
    );
    for l in lines {
        println!("{l}");
    }
    println!("  steady: {per_minute:.2} Machines API calls per app per minute (goal <= 5); fas CPU {steady_cpu:.1}% of a core (goal <= 10%)");
    let (_, rss) = usage();
    println!("  peak RSS of fas: {rss:.0} MB");
    Ok(())
}

async fn calls(http: &reqwest::Client, url: &str) -> anyhow::Result<u64> {
    let v: Value = http
        .get(format!("{url}/__sim/stats"))
        .send()
        .await?
        .json()
        .await?;
    Ok(v["total_requests"].as_u64().unwrap_or(0))
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One job per app, in a shuffled order spread over 5 s; when each was in Redis.
async fn push_jobs(redis: &mut TcpStream, names: &[String]) -> anyhow::Result<Vec<u64>> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..order.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    // Many apps: spread over 5 s. A few: after a pause of 0-1.5 s, so each job lands
    // at another point of the watch period.
    let spread = Duration::from_secs(5);
    if names.len() < 20 {
        x ^= unix_ms();
        tokio::time::sleep(Duration::from_millis(x % 1500)).await;
    }
    let t0 = Instant::now();
    let mut pushed = vec![0; names.len()];
    for (k, &i) in order.iter().enumerate() {
        let at = spread.mul_f64(k as f64 / names.len() as f64);
        tokio::time::sleep(at.saturating_sub(t0.elapsed())).await;
        let key = format!("queue:{}", names[i]);
        let cmd = format!(
            "*3\r\n$5\r\nRPUSH\r\n${}\r\n{key}\r\n$3\r\njob\r\n",
            key.len()
        );
        redis.write_all(cmd.as_bytes()).await?;
        let mut reply = [0u8; 64];
        let n = redis.read(&mut reply).await?;
        if !reply[..n].starts_with(b":") {
            bail!("redis answered {:?}", String::from_utf8_lossy(&reply[..n]));
        }
        pushed[i] = unix_ms();
    }
    Ok(pushed)
}

/// Seconds from each push to the app having `want` started Machines (by the time the
/// newest one reached `started`), for the apps that got there within 30 s (the apps
/// that did not are left out: the count says how many got there).
async fn wait_started(
    http: &reqwest::Client,
    url: &str,
    names: &[String],
    pushed: &[u64],
    want: usize,
) -> anyhow::Result<Vec<f64>> {
    let t0 = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let v: Value = http
            .get(format!("{url}/__sim/machines"))
            .send()
            .await?
            .json()
            .await?;
        let mut reactions = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let started: Vec<u64> = v[name]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|m| m["state"] == "started")
                .filter_map(|m| m["since_ms"].as_u64())
                .collect();
            if started.len() >= want {
                let last = started.iter().max().copied().unwrap_or(0);
                reactions.push(last.saturating_sub(pushed[i]) as f64 / 1e3);
            }
        }
        if reactions.len() == names.len() || t0.elapsed() > Duration::from_secs(30) {
            reactions.sort_by(f64::total_cmp);
            return Ok(reactions);
        }
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn connect(port: u16) -> anyhow::Result<TcpStream> {
    let t0 = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)).await {
            Ok(s) => return Ok(s),
            Err(_) if t0.elapsed() < Duration::from_secs(10) => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => return Err(e).context("redis-server did not listen"),
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn which(name: &str) -> anyhow::Result<std::path::PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("{name} not found on PATH (apt-get install -y redis-server)"))
}
