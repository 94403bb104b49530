//! The warm pool through the real binary against the simulator at its default
//! latencies: with `initial-machine-state: suspended` the Machines fas creates boot
//! and are then suspended (never counted as workers, the started one never touched);
//! after a deploy discards their snapshots — whether Fly then lists them `suspended`
//! or `stopped` — fas starts and suspends them again, a few at a time, and a resume
//! is a resume again.

mod support;

use std::time::{Duration, Instant};

use fas::sim::{Seed, SeedApp, SeedMachine, SimOptions, SimServer};
use serde_json::{json, Value};
use support::served::Served;

async fn sim() -> SimServer {
    let server = fas::sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default())
        .await
        .unwrap();
    let machine = SeedMachine {
        region: "iad".into(),
        state: "started".into(),
        process_group: "app".into(),
    };
    let seed = Seed {
        apps: vec![SeedApp {
            org: "acme".into(),
            name: "web".into(),
            machines: vec![machine],
        }],
    };
    server.sim.seed(&seed).unwrap();
    server
}

/// (state, cold) of each Machine of `web`, by id.
fn fleet(s: &SimServer) -> Vec<(String, String, bool)> {
    let of = |a: &fas::sim::world::SimApp| -> Vec<_> {
        a.machines
            .iter()
            .map(|m| (m.id.clone(), m.state.clone(), m.cold))
            .collect()
    };
    let mut v = s.sim.world.read_app("web", of).unwrap();
    v.sort();
    v
}

fn count(s: &SimServer, state: &str) -> usize {
    fleet(s).iter().filter(|m| m.1 == state).count()
}

async fn until(what: &str, ok: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "waited 60 s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn calls(s: &SimServer, action: &str) -> usize {
    let log: Value = reqwest::get(format!("{}/__sim/log", s.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == action && e["status"].as_u64().is_some_and(|s| s < 300))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_machines_wait_suspended_and_are_rewarmed_after_a_deploy() {
    for reading in ["suspended", "stopped"] {
        let sim = sim().await;
        let first = fleet(&sim)[0].0.clone();
        let dir = tempfile::tempdir().unwrap();
        let fas = Served::start(
            &sim.url(),
            &[
                ("FAS_APP_NAME", "web"),
                ("FAS_INTERVAL", "2s"),
                ("FAS_INITIAL_MACHINE_STATE", "suspended"),
                ("FAS_CREATED_MACHINE_COUNT", "4"),
                ("FAS_STARTED_MACHINE_COUNT", "1"),
            ],
            &[],
            dir.path(),
        );
        // Three Machines are created, boot, and are suspended: a pool of three.
        until("a warm pool of three", || count(&sim, "suspended") == 3).await;
        assert_eq!(count(&sim, "started"), 1);
        assert_eq!(calls(&sim, "create").await, 3);
        assert_eq!(calls(&sim, "suspend").await, 3);
        assert_eq!(calls(&sim, "stop").await, 0, "the worker was never touched");
        let worker = fleet(&sim).into_iter().find(|m| m.0 == first).unwrap();
        assert_eq!(worker.1, "started");

        // A deploy discards the snapshots: fas starts and suspends each again.
        let r = reqwest::Client::new()
            .post(format!("{}/__sim/apps/web/deploy", sim.url()))
            .json(&json!({"suspended_become": reading}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204);
        assert!(
            fleet(&sim).iter().filter(|m| m.0 != first).all(|m| m.2),
            "cold after the deploy"
        );
        let rewarmed = || {
            let f = fleet(&sim);
            f.iter().filter(|m| m.1 == "suspended" && !m.2).count() == 3
        };
        let t0 = Instant::now();
        while !rewarmed() && t0.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            rewarmed(),
            "{reading}: not re-warmed: {:?}\n{}",
            fleet(&sim),
            fas.log()
        );
        assert_eq!(
            calls(&sim, "start").await,
            3,
            "{reading}: each pool Machine once"
        );
        assert_eq!(calls(&sim, "suspend").await, 6);
        assert_eq!(calls(&sim, "create").await, 3, "nothing created meanwhile");
        assert_eq!(calls(&sim, "stop").await, 0);
        // Settled: nothing more is done.
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(calls(&sim, "start").await, 3);
        assert_eq!(count(&sim, "started"), 1);
        let log = fas.stop();
        assert!(log.contains("warm pool"), "{log}");
    }
}
