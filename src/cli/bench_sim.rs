//! `fas bench sim`: requests per second the simulator serves on loopback, rate
//! limits off, so the benchmarks that drive fas through it know their ceiling:
//! 1. `GET /v1/apps/{app}/machines` of one 10-Machine app, the simulator in this
//!    process;
//! 2. the same for each of 100,000 apps × 3 Machines in turn (`fas bench cluster`'s
//!    fleet), against a `fas sim` child, with the CPU it used: more than one core
//!    means its world is not serialized behind one lock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::bench_reconcile::{cpu_secs, SimChild};
use crate::sim::{self, Seed, SimOptions};

const FLEET_APPS: usize = 100_000;
const CLIENTS: usize = 32;

pub fn run(seconds: u64) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let seconds = seconds.max(1);
    rt.block_on(async {
        let opts = SimOptions { rate_limits: false, ..SimOptions::default() };
        let server = sim::start("127.0.0.1:0".parse()?, opts).await?;
        let seed = Seed::parse_spec("bench/app=10").map_err(anyhow::Error::msg)?;
        server.sim.seed(&seed).map_err(anyhow::Error::msg)?;
        let base = server.url();
        let (n, failed, secs) = drive(seconds, move |_| format!("{base}/v1/apps/app/machines")).await;
        println!(
            "simulator: {:.0} requests/s for list of a 10-Machine app ({n} in {secs:.1} s, {CLIENTS} concurrent clients on loopback, {failed} failed)",
            n as f64 / secs
        );
        drop(server);

        let child = SimChild::wildcard_apps(FLEET_APPS, 0)?;
        let pid = child.pid().to_string();
        let (cpu0, own0) = (cpu_secs(&pid), cpu_secs("self"));
        let base = child.url.clone();
        let (n, failed, secs) = drive(seconds, move |i| {
            format!("{base}/v1/apps/app-{}/machines", i % FLEET_APPS as u64 + 1)
        })
        .await;
        let (sim_cores, own_cores) = ((cpu_secs(&pid) - cpu0) / secs, (cpu_secs("self") - own0) / secs);
        println!(
            "simulator: {:.0} requests/s for list of each of {FLEET_APPS} 3-Machine apps in turn ({n} in {secs:.1} s, {failed} failed); \
             the simulator used {sim_cores:.2} cores, these clients {own_cores:.2} (a 15 s round of {FLEET_APPS} apps needs {:.0}/s)",
            n as f64 / secs,
            FLEET_APPS as f64 / 15.0
        );
        Ok(())
    })
}

/// `CLIENTS` tasks list `url(i)` for i = 0, 1, 2… for `seconds`: (answered, failed, seconds).
async fn drive(
    seconds: u64,
    url: impl Fn(u64) -> String + Send + Sync + 'static,
) -> (u64, u64, f64) {
    let http = reqwest::Client::new();
    let (next, done, failed) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let url = Arc::new(url);
    let until = Instant::now() + Duration::from_secs(seconds);
    let start = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (http, url) = (http.clone(), url.clone());
            let (next, done, failed) = (next.clone(), done.clone(), failed.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let u = url(next.fetch_add(1, Ordering::Relaxed));
                    let ok = match http
                        .get(u)
                        .header("Authorization", "Bearer bench")
                        .send()
                        .await
                    {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok { &done } else { &failed }.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let secs = start.elapsed().as_secs_f64();
    (
        done.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        secs,
    )
}
