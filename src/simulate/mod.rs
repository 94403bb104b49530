//! `fas simulate`: replay a metric history through a policy, round by round on a fake
//! clock, against a fleet model with creation and start latencies, as fast as the CPU
//! allows; the same planner as `fas serve` decides the actions. Deterministic: the
//! same inputs give the same outputs.

pub mod chart;
pub mod history;
pub mod jobs;
pub mod output;
pub mod timed;

use serde_json::json;

use crate::fly::Machine;
use crate::policy::{AppInput, Policy, Targets};
use crate::reconcile::{counts, plan, Plan, PlanOptions};
pub use history::History;

/// How the fleet behaves, and how to judge it.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds from create to started (or stopped with initial state stopped).
    pub create_secs: f64,
    /// Seconds from start to started.
    pub start_secs: f64,
    /// Seconds from a suspended Machine's start (resume) to started.
    pub resume_secs: f64,
    /// Seconds from stop to stopped.
    pub stop_secs: f64,
    /// Demand one started Machine serves (judges under-provisioning).
    pub capacity_per_machine: Option<f64>,
    /// Which metric is the demand (default: the first).
    pub demand_metric: Option<String>,
    /// A change of direction within this many seconds is a flap.
    pub flap_window_secs: f64,
    pub plan: PlanOptions,
    /// Machines created at the start (a pool for start/stop policies) …
    pub initial_machines: usize,
    /// … of which this many are started; the rest are stopped.
    pub initial_started: usize,
    /// The summary counts from this time on (unix seconds): before it the policies
    /// warm up (a forecast's first season), unjudged.
    pub judge_from: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_secs: 10.0,
            start_secs: 1.0,
            resume_secs: 0.5,
            stop_secs: 2.0,
            capacity_per_machine: None,
            demand_metric: None,
            flap_window_secs: 300.0,
            plan: PlanOptions {
                process_group: "app".into(),
                regions: vec![],
                create_stopped: false,
                suspend: false,
            },
            initial_machines: 20,
            initial_started: 1,
            judge_from: f64::NEG_INFINITY,
        }
    }
}

impl Options {
    /// The history column that is the demand (`demand_metric`, else the first).
    pub(super) fn demand_column(&self, history: &History) -> usize {
        self.demand_metric
            .as_ref()
            .and_then(|n| history.names.iter().position(|x| x == n))
            .unwrap_or(0)
    }
}

/// One round of the timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Round {
    pub t: f64,
    pub demand: f64,
    pub created: u64,
    pub started: u64,
    pub target_min: Option<i64>,
    pub target_max: Option<i64>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    pub rounds: usize,
    /// Seconds of started Machines (what Fly bills for CPU and memory).
    pub machine_seconds: f64,
    pub peak_started: u64,
    pub peak_created: u64,
    pub creates: u64,
    pub destroys: u64,
    pub starts: u64,
    pub stops: u64,
    /// Reversals of direction within the flap window.
    pub flaps: u64,
    /// Seconds when demand exceeded started Machines x capacity.
    pub seconds_under_capacity: f64,
    pub policy_errors: u64,
    /// Under-capacity episodes' lengths (`--interval`, with a capacity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reaction: Option<timed::Reaction>,
}

impl Summary {
    /// At the end of the warm-up: what was counted so far is dropped, except policy
    /// errors (a policy that failed while warming up still failed).
    pub(super) fn start_judging(&mut self) {
        *self = Summary {
            policy_errors: self.policy_errors,
            ..Summary::default()
        };
    }
}

pub(super) struct FleetMachine {
    pub(super) id: String,
    pub(super) state: &'static str,
    /// A transition in progress: (time, state reached).
    pending: Option<(f64, &'static str)>,
}

/// The fleet: Machines and their transitions, on simulated time.
pub(super) struct Fleet {
    pub(super) machines: Vec<FleetMachine>,
    next_id: u64,
}

impl Fleet {
    pub(super) fn new(n: usize, started: usize) -> Fleet {
        let mut f = Fleet {
            machines: Vec::new(),
            next_id: 0,
        };
        for i in 0..n.max(1) {
            f.add(if i < started { "started" } else { "stopped" }, None);
        }
        f
    }

    fn add(&mut self, state: &'static str, pending: Option<(f64, &'static str)>) {
        self.next_id += 1;
        self.machines.push(FleetMachine {
            id: format!("{:014x}", self.next_id),
            state,
            pending,
        });
    }

    pub(super) fn settle(&mut self, now: f64) {
        for m in &mut self.machines {
            if let Some((at, s)) = m.pending {
                if at <= now {
                    m.state = s;
                    m.pending = None;
                }
            }
        }
        self.machines.retain(|m| m.state != "destroyed");
    }

    pub(super) fn listed(&self) -> Vec<Machine> {
        self.machines
            .iter()
            .map(|m| Machine {
                id: m.id.clone(),
                state: m.state.to_string(),
                region: "sim".into(),
                host_status: "ok".into(),
                config: Some(json!({"image": "sim", "metadata": {"fly_process_group": "app"}})),
                ..Machine::default()
            })
            .collect()
    }

    fn set(&mut self, id: &str, via: &'static str, target: &'static str, at: f64) {
        if let Some(m) = self.machines.iter_mut().find(|m| m.id == id) {
            m.state = via;
            m.pending = Some((at, target));
        }
    }
}

/// Replays `history` through `policy`. `on_round` sees each round (for progress).
pub fn run(
    policy: &mut Policy,
    history: &History,
    opts: &Options,
    mut on_round: impl FnMut(usize),
) -> (Vec<Round>, Summary) {
    let demand_col = opts.demand_column(history);
    let mut fleet = Fleet::new(opts.initial_machines, opts.initial_started);
    let mut timeline = Vec::with_capacity(history.rows.len());
    let mut sum = Summary::default();
    let mut region_seq = 0;
    let mut flaps = Flaps::default();
    let mut metrics: Vec<(String, f64)> = history.names.iter().map(|n| (n.clone(), 0.0)).collect();
    let mut judging = false;
    for (i, (t, values)) in history.rows.iter().enumerate() {
        let t = *t;
        if !judging && t >= opts.judge_from {
            judging = true;
            sum.start_judging();
        }
        let dt = history
            .rows
            .get(i + 1)
            .map(|(n, _)| n - t)
            .unwrap_or_else(|| t - history.rows[i - 1].0);
        fleet.settle(t);
        let listed = fleet.listed();
        let eligible: Vec<&Machine> = listed.iter().collect();
        let c = counts(&eligible);
        for (slot, v) in metrics.iter_mut().zip(values) {
            slot.1 = *v;
        }
        let input = AppInput {
            name: "sim",
            now: t,
            interval_secs: dt,
            round: crate::policy::Round::Full,
            machines: &c,
            metrics: &metrics,
        };
        let (targets, error) = decide(policy, &input, &mut sum);
        let p = plan(&targets, &listed, &opts.plan, &mut region_seq);
        let before = c.started as i64;
        apply(&mut fleet, &p, t, opts, &mut sum);
        let demand = values.get(demand_col).copied().unwrap_or(0.0);
        flaps.see(&targets, before, t, opts, &mut sum);
        sum.machine_seconds += c.started as f64 * dt;
        if let Some(cap) = opts.capacity_per_machine {
            if demand > c.started as f64 * cap {
                sum.seconds_under_capacity += dt;
            }
        }
        sum.peak_started = sum.peak_started.max(c.started);
        sum.peak_created = sum.peak_created.max(c.created);
        timeline.push(Round::of(t, demand, &c, &targets, p.kind(), error));
        on_round(i);
    }
    sum.rounds = timeline.iter().filter(|r| r.t >= opts.judge_from).count();
    (timeline, sum)
}

/// Flaps: the started target changing direction within the flap window.
#[derive(Default)]
pub(super) struct Flaps {
    /// (time, direction) of the last change.
    last_change: Option<(f64, i64)>,
}

impl Flaps {
    /// A decision at `t` with `targets`, when `before` Machines were started.
    pub(super) fn see(
        &mut self,
        targets: &Targets,
        before: i64,
        t: f64,
        opts: &Options,
        sum: &mut Summary,
    ) {
        let Some(want) = targets.started.and_then(|b| {
            if before < b.min.unwrap_or(before) {
                b.min
            } else {
                b.max
            }
        }) else {
            return;
        };
        let dir = (want - before).signum();
        if dir == 0 {
            return;
        }
        if let Some((at, prev)) = self.last_change {
            if prev == -dir && t - at <= opts.flap_window_secs {
                sum.flaps += 1;
            }
        }
        self.last_change = Some((t, dir));
    }
}

/// The policy's targets for `input`; a failure is counted and changes nothing.
pub(super) fn decide(
    policy: &mut Policy,
    input: &AppInput,
    sum: &mut Summary,
) -> (Targets, Option<String>) {
    match policy.decide(input) {
        Ok(targets) => (targets, None),
        Err(e) => {
            sum.policy_errors += 1;
            (Targets::default(), Some(e.to_string()))
        }
    }
}

impl Round {
    fn of(
        t: f64,
        demand: f64,
        c: &crate::policy::MachineCounts,
        targets: &Targets,
        action: &str,
        error: Option<String>,
    ) -> Round {
        let bounds = targets.started.or(targets.created);
        Round {
            t,
            demand,
            created: c.created,
            started: c.started,
            target_min: bounds.and_then(|b| b.min),
            target_max: bounds.and_then(|b| b.max),
            action: action.to_string(),
            error,
        }
    }
}

pub(super) fn apply(fleet: &mut Fleet, p: &Plan, t: f64, opts: &Options, sum: &mut Summary) {
    match p {
        Plan::Create {
            regions, launch, ..
        } => {
            // As fas's reconciler sees it (its memory of its own creates): a launching
            // Machine is booting; a skip_launch one stays `created`, ready to start.
            for i in 0..regions.len() {
                if i >= *launch {
                    fleet.add("created", None);
                } else {
                    fleet.add("starting", Some((t + opts.create_secs, "started")));
                }
                sum.creates += 1;
            }
        }
        Plan::Destroy { candidates, count } => {
            for id in candidates.iter().take(*count) {
                fleet.set(id, "destroying", "destroyed", t);
                sum.destroys += 1;
            }
        }
        Plan::Start { candidates, count } => {
            for id in candidates.iter().take(*count) {
                let resumes = fleet
                    .machines
                    .iter()
                    .any(|m| m.id == *id && m.state == "suspended");
                let secs = if resumes {
                    opts.resume_secs
                } else {
                    opts.start_secs
                };
                fleet.set(id, "starting", "started", t + secs);
                sum.starts += 1;
            }
        }
        Plan::Stop {
            candidates,
            count,
            suspend,
        } => {
            let (via, to) = if *suspend {
                ("suspending", "suspended")
            } else {
                ("stopping", "stopped")
            };
            for id in candidates.iter().take(*count) {
                fleet.set(id, via, to, t + opts.stop_secs);
                sum.stops += 1;
            }
        }
        Plan::NoScale | Plan::NothingToClone => {}
    }
}
