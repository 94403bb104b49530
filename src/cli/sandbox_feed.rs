//! What `fas sandbox` feeds its policy: a synthetic queue depth (a wave with a
//! 10-minute "day" plus bursts, deterministic by seed) and a per-Machine load derived
//! from it, on the sandbox's simulated clock.

use std::sync::Arc;

use super::sandbox::{ScaledClock, APP, PER_MACHINE};
use crate::clock::Clock;
use crate::collect::{CollectFuture, Collector};
use crate::policy::{Limits, Policy};
use crate::sim;

/// Queue depth over simulated time: a wave with a 10-minute "day" plus bursts.
pub(super) struct Workload {
    clock: Arc<ScaledClock>,
    bursts: Vec<(f64, f64)>,
}

impl Workload {
    pub fn new(clock: Arc<ScaledClock>, seed: u64) -> Workload {
        let mut rng = sim::world::Rng::new(seed);
        let mut bursts = Vec::new();
        let mut at = 0.0;
        while at < 86_400.0 {
            at += 60.0 + rng.unit() * 180.0;
            if rng.unit() < 0.6 {
                bursts.push((at, 40.0 + rng.unit() * 110.0));
            }
        }
        Workload { clock, bursts }
    }

    fn demand_at(&self, t: f64) -> f64 {
        let wave = 55.0 + 50.0 * (t / 600.0 * std::f64::consts::TAU - 1.6).sin();
        let burst: f64 = self
            .bursts
            .iter()
            .filter(|(at, _)| t >= *at && t - at < 300.0)
            .map(|(at, size)| size * (-(t - at) / 40.0).exp())
            .sum();
        (wave + burst).max(0.0).round()
    }

    pub fn demand(&self) -> f64 {
        self.demand_at(self.clock.now() - self.clock.sim_start)
    }
}

pub(super) struct WorkloadCollector(pub Arc<Workload>);

impl Collector for WorkloadCollector {
    fn name(&self) -> &str {
        "queue_depth"
    }
    fn collect<'a>(&'a self, _app: &'a str) -> CollectFuture<'a> {
        let v = self.0.demand();
        Box::pin(async move { Ok(v) })
    }
}

/// A per-Machine load metric for target-tracking policies (hpa_target.lua): the
/// percent of the started Machines' capacity the demand uses, capped at 100.
pub(super) struct CpuCollector {
    pub workload: Arc<Workload>,
    pub sim: Arc<sim::Sim>,
}

impl Collector for CpuCollector {
    fn name(&self) -> &str {
        "cpu"
    }
    fn collect<'a>(&'a self, _app: &'a str) -> CollectFuture<'a> {
        let started = started_machines(&self.sim).max(1) as f64;
        let v = (self.workload.demand() / (started * PER_MACHINE) * 100.0).min(100.0);
        Box::pin(async move { Ok(v.round()) })
    }
}

/// What the sandbox feeds every policy, and what each means.
pub(super) const FED: &[(&str, &str)] = &[
    ("queue_depth", "items waiting; one Machine handles 10"),
    ("cpu", "percent busy of the started Machines, capped at 100"),
];

pub(super) fn started_machines(sim: &sim::Sim) -> u64 {
    let mut w = sim.world.lock().unwrap_or_else(|e| e.into_inner());
    w.settle(tokio::time::Instant::now());
    w.apps.get(APP).map_or(0, |a| {
        a.machines.iter().filter(|m| m.state == "started").count() as u64
    })
}

/// Runs a Lua policy once on the metrics the sandbox feeds and names those it reads
/// that the sandbox does not feed: a policy waiting on them never acts here.
pub(super) fn unfed_metrics(path: &std::path::Path, params: &serde_json::Value) -> Vec<String> {
    let Ok(mut p) = Policy::from_file(path, params, Limits::default()) else {
        return Vec::new();
    };
    let metrics: Vec<(String, f64)> = FED.iter().map(|(n, _)| (n.to_string(), 50.0)).collect();
    let machines = crate::policy::MachineCounts {
        created: 20,
        started: 1,
        stopped: 19,
        ..Default::default()
    };
    let input = crate::policy::AppInput {
        name: APP,
        now: 1_700_000_000.0,
        interval_secs: 15.0,
        machines: &machines,
        metrics: &metrics,
    };
    let _ = p.decide(&input);
    p.unknown_metrics()
}
