//! `fas bench status`: the status page's memory and speed at scale. Fills the status
//! with `apps` apps, each holding a full history of realistic rounds (two metrics,
//! targets, Machines, every tenth round acting, some failing), then prints the memory
//! it took and how long the pages and their JSON take to build.

use std::time::Instant;

use crate::clock::{Clock, FakeClock};
use crate::policy::{Bounds, MachineCounts};
use crate::reconcile::status::{Round, Status, DETAILED, HISTORY};
use crate::telemetry::status::{list, ListQuery};

fn rss_mb() -> f64 {
    super::bench_reconcile::status_kb("VmRSS:") as f64 / 1024.0
}

fn round(i: usize, at: f64) -> Round {
    let machines = MachineCounts {
        created: 6,
        started: (i % 5) as u64 + 1,
        stopped: 5 - (i % 5) as u64,
        by_region: Vec::new(),
    };
    let mut r = Round::new(at, &machines);
    r.metrics = vec![
        ("queue_depth".into(), (i * 7 % 300) as f64),
        ("cpu".into(), 0.4),
    ];
    let target = Some(Bounds {
        min: Some((i % 5) as i64 + 1),
        max: Some((i % 5) as i64 + 1),
    });
    r.started_target = target;
    r.action = "no_scale";
    if i.is_multiple_of(10) {
        r.action = "start";
        r.planned = vec!["148e1234a5b6c7".into()];
        r.succeeded = 1;
    }
    if i.is_multiple_of(97) {
        r.action = "error";
        r.error = Some("collect metric (\"queue_depth\"): cannot connect to redis at 10.0.0.1:6379: connection refused".into());
        r.error_kind = Some("collect");
    }
    r
}

pub fn run(apps: usize) -> anyhow::Result<()> {
    let clock = FakeClock::new(1.8e9);
    let status = std::sync::Arc::new(Status::default());
    let before = rss_mb();
    let start = Instant::now();
    for i in 0..HISTORY {
        let at = clock.now() + i as f64 * 15.0;
        for a in 0..apps {
            status.record(&format!("worker-{a:05}"), round(i + a, at));
        }
    }
    let filled = start.elapsed();
    let after = rss_mb();
    println!(
        "status of {apps} apps, {HISTORY} chart points and {DETAILED} full rounds each: filled in {:.2} s",
        filled.as_secs_f64()
    );
    println!(
        "  memory: {:.0} MB more RSS ({:.1} KB per app)",
        after - before,
        (after - before) * 1024.0 / apps.max(1) as f64
    );
    // Steady apps: each round the same as the one before but for its time (what most
    // apps of a fleet do most of the time; the rounds above all differ).
    let steady = Status::default();
    let before_steady = rss_mb();
    for i in 0..HISTORY {
        let at = clock.now() + i as f64 * 15.0;
        for a in 0..apps {
            steady.record(&format!("worker-{a:05}"), round(a * 10 + 1, at));
        }
    }
    let steady_mb = rss_mb() - before_steady;
    println!(
        "  steady apps (each round as the last): {steady_mb:.0} MB more RSS ({:.1} KB per app)",
        steady_mb * 1024.0 / apps.max(1) as f64
    );
    drop(steady);
    let time = |what: &str, f: &dyn Fn() -> usize| {
        let t = Instant::now();
        let n = 20;
        let mut bytes = 0;
        for _ in 0..n {
            bytes = f();
        }
        println!(
            "  {what}: {:.1} ms ({bytes} bytes)",
            t.elapsed().as_secs_f64() * 1e3 / n as f64
        );
    };
    let q = |text: &str, show: &str, sort: &str| ListQuery {
        q: text.into(),
        show: show.into(),
        sort: sort.into(),
        page: 1,
        per_page: 0,
    };
    time("list page 1 (50 apps, by name)", &|| {
        serde_json::to_vec(&list(&status, &q("", "", "")).apps).map_or(0, |v| v.len())
    });
    time("status page 1 as HTML", &|| {
        crate::telemetry::status_page::index_body(&status, clock.now(), &q("", "", "")).len()
    });
    time("list filtered to errors, sorted by update", &|| {
        serde_json::to_vec(&list(&status, &q("", "errors", "updated")).apps).map_or(0, |v| v.len())
    });
    time("one app's history as JSON", &|| {
        serde_json::to_vec(&status.history("worker-00042")).map_or(0, |v| v.len())
    });
    flood(status, std::sync::Arc::new(clock))
}

/// `/healthz` while 200 clients ask for the status page at once, for 3 s (goal: it
/// answers within 100 ms throughout).
fn flood(status: std::sync::Arc<Status>, clock: std::sync::Arc<FakeClock>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let metrics = std::sync::Arc::new(crate::telemetry::Metrics::default());
        let router = crate::telemetry::http::router(metrics, status, clock);
        tokio::spawn(async move { axum::serve(listener, router).await });
        let http = reqwest::Client::new();
        let until = Instant::now() + std::time::Duration::from_secs(3);
        let pages = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        for _ in 0..200 {
            let (http, url, pages) = (http.clone(), format!("{base}/"), pages.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    if http.get(&url).send().await.is_ok() {
                        pages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
        let mut took = Vec::new();
        while Instant::now() < until {
            let t = Instant::now();
            http.get(format!("{base}/healthz")).send().await?;
            took.push(t.elapsed().as_secs_f64() * 1e3);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        took.sort_by(f64::total_cmp);
        println!(
            "  /healthz under a 200-client flood of the status page (3 s, {} pages served): median {:.1} ms, max {:.1} ms over {} probes (goal: <= 100 ms)",
            pages.load(std::sync::atomic::Ordering::Relaxed),
            took[took.len() / 2],
            took[took.len() - 1],
            took.len()
        );
        anyhow::Ok(())
    })
}
