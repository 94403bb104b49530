//! What `fas sandbox` feeds its policy: a synthetic queue depth (a wave with a
//! 10-minute "day" plus bursts, deterministic by seed) and a per-Machine load derived
//! from it, on the sandbox's simulated clock.

use std::sync::Arc;

use super::sandbox::{ScaledClock, APP, PER_MACHINE};
use crate::clock::Clock;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::collect::{CollectFuture, Collector, Reading, ReadingFuture};
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

/// Workers running jobs: each started Machine takes a job (30–300 simulated seconds)
/// as often as the demand keeps the fleet busy; per Machine 1 while it runs one (the
/// `machine-label` view, so scale-down takes idle Machines first and fas.drain sees
/// who is busy). A Machine stopped or destroyed in the middle of its job counts as an
/// interrupted job.
pub(super) struct JobsCollector {
    pub workload: Arc<Workload>,
    pub sim: Arc<sim::Sim>,
    pub clock: Arc<ScaledClock>,
    jobs: Mutex<Jobs>,
}

struct Jobs {
    busy_until: HashMap<String, f64>,
    rng: sim::world::Rng,
    interrupted: u64,
}

impl JobsCollector {
    pub fn new(
        workload: Arc<Workload>,
        sim: Arc<sim::Sim>,
        clock: Arc<ScaledClock>,
        seed: u64,
    ) -> Self {
        JobsCollector {
            workload,
            sim,
            clock,
            jobs: Mutex::new(Jobs {
                busy_until: HashMap::new(),
                rng: sim::world::Rng::new(seed ^ 0x6a6f6273),
                interrupted: 0,
            }),
        }
    }

    /// Jobs cut short by a scale-down so far.
    pub fn interrupted(&self) -> u64 {
        self.jobs.lock().map_or(0, |j| j.interrupted)
    }

    fn reading(&self) -> Reading {
        let now = self.clock.now();
        let states: Vec<(String, String)> = {
            let states = |a: &sim::world::SimApp| {
                a.machines
                    .iter()
                    .map(|m| (m.id.clone(), m.state.clone()))
                    .collect()
            };
            self.sim.world.read_app(APP, states).unwrap_or_default()
        };
        let started: Vec<&String> = states
            .iter()
            .filter(|(_, s)| s == "started")
            .map(|(id, _)| id)
            .collect();
        let busy_share =
            (self.workload.demand() / (started.len().max(1) as f64 * PER_MACHINE)).min(1.0);
        let mut j = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let Jobs {
            busy_until,
            rng,
            interrupted,
        } = &mut *j;
        // A job whose Machine left `started` before it ended was interrupted.
        busy_until.retain(|id, until| {
            if *until <= now {
                return false;
            }
            let still = started.contains(&id);
            *interrupted += u64::from(!still);
            still
        });
        for id in &started {
            if !busy_until.contains_key(*id) && rng.unit() < busy_share {
                busy_until.insert((*id).clone(), now + 30.0 + rng.unit() * 270.0);
            }
        }
        let machines: Vec<(String, f64)> = started
            .iter()
            .map(|id| {
                (
                    (*id).clone(),
                    f64::from(u8::from(busy_until.contains_key(*id))),
                )
            })
            .collect();
        Reading {
            value: machines.iter().map(|(_, v)| v).sum(),
            machines,
        }
    }
}

impl Collector for JobsCollector {
    fn name(&self) -> &str {
        "jobs_running"
    }
    fn collect<'a>(&'a self, _app: &'a str) -> CollectFuture<'a> {
        let v = self.reading().value;
        Box::pin(async move { Ok(v) })
    }
    fn read<'a>(&'a self, _app: &'a str) -> ReadingFuture<'a> {
        let r = self.reading();
        Box::pin(async move { Ok(r) })
    }
}

/// What the sandbox feeds every policy, and what each means.
pub(super) const FED: &[(&str, &str)] = &[
    ("queue_depth", "items waiting; one Machine handles 10"),
    ("cpu", "percent busy of the started Machines, capped at 100"),
    (
        "jobs_running",
        "per Machine 1 while it runs a job, 30–300 s long; scale-down takes idle ones first",
    ),
];

pub(super) fn started_machines(sim: &sim::Sim) -> u64 {
    let started =
        |a: &sim::world::SimApp| a.machines.iter().filter(|m| m.state == "started").count() as u64;
    sim.world.read_app(APP, started).unwrap_or(0)
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
        round: crate::policy::Round::Full,
        machines: &machines,
        metrics: &metrics,
    };
    let _ = p.decide(&input);
    p.unknown_metrics()
}
