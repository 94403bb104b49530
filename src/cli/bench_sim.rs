//! `fas bench sim`: requests per second the simulator serves on loopback for
//! `GET /v1/apps/{app}/machines` of a 10-Machine app (rate limits off), so the
//! reconcile benchmark that drives 10,000 apps through it knows its ceiling.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sim::{self, Seed, SimOptions};

pub fn run(seconds: u64) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let opts = SimOptions { rate_limits: false, ..SimOptions::default() };
        let server = sim::start("127.0.0.1:0".parse()?, opts).await?;
        server.sim.seed(&Seed::parse_spec("bench/app=10").map_err(anyhow::Error::msg)?).map_err(anyhow::Error::msg)?;
        let url = format!("{}/v1/apps/app/machines", server.url());
        let http = reqwest::Client::new();
        let done = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let until = Instant::now() + Duration::from_secs(seconds.max(1));
        let workers = 32;
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let (http, url, done, failed) = (http.clone(), url.clone(), done.clone(), failed.clone());
            tasks.push(tokio::spawn(async move {
                while Instant::now() < until {
                    let ok = match http.get(&url).header("Authorization", "Bearer bench").send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok { &done } else { &failed }.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let start = Instant::now();
        for t in tasks {
            t.await?;
        }
        let secs = start.elapsed().as_secs_f64();
        let n = done.load(Ordering::Relaxed);
        println!(
            "simulator: {:.0} requests/s for list of a 10-Machine app ({n} in {secs:.1} s, {workers} concurrent clients on loopback, {} failed)",
            n as f64 / secs,
            failed.load(Ordering::Relaxed)
        );
        Ok(())
    })
}
