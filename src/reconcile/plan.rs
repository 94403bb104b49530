//! `plan`: from targets and the listed Machines to the one kind of action this round
//! needs, with fly-autoscaler's rules, made right while Machines move. Pure: no I/O,
//! no clock, so every rule is a unit test.
//!
//! Fly's transitions take seconds, often longer than an interval, so a Machine is
//! counted as where it is going, never twice, and never picked while it moves:
//!
//! | state                                      | counts as       | in `created` | may be picked |
//! |--------------------------------------------|-----------------|--------------|---------------|
//! | `started`                                  | started         | yes          | stop, destroy |
//! | `starting`, `restarting`, `updating`, `replacing` | started  | yes          | no            |
//! | `stopped`                                  | startable pool  | yes          | start, destroy|
//! | `stopping`                                 | startable pool  | yes          | no            |
//! | `suspended`                                | startable pool  | yes          | start, destroy|
//! | `suspending`                               | startable pool  | yes          | no            |
//! | `created` (never launched: `skip_launch`)  | startable pool  | yes          | start, destroy|
//! | `failed`                                   | neither         | yes          | destroy       |
//! | `creating`, any unknown state              | neither         | yes          | no            |
//! | `destroying`, `destroyed`, `launch_failed` | nothing         | no           | no            |
//!
//! Start prefers `suspended` (resumes in well under a second), then `stopped`, then
//! `created`; destroy takes `failed`, then `stopped`, `suspended`, `created`, then
//! `started` (upstream: stopped, created, started) and never leaves fewer than one
//! Machine that is not going away. A Machine with metadata `fas-protect=true` is never
//! picked to stop, suspend or destroy (it still counts), so a scale-down may fall short.

use serde_json::Value;

use crate::fly::Machine;
use crate::policy::{MachineCounts, Targets};

/// What the planner needs besides targets and Machines.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanOptions {
    pub process_group: String,
    /// Regions for new Machines, round-robin; empty = the source Machine's region.
    pub regions: Vec<String>,
    /// `initial-machine-state: stopped` creates with `skip_launch`.
    pub create_stopped: bool,
    /// `stop-mode: suspend` suspends instead of stopping on scale-down.
    pub suspend: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    NoScale,
    /// Create `regions.len()` Machines from `config`, one per listed region; the
    /// first `launch` boot at once, the others are created with `skip_launch`.
    Create {
        config: Value,
        regions: Vec<String>,
        launch: usize,
    },
    /// Destroy `count` of `candidates` (in the destroy order; `count` never reaches
    /// the last Machine standing), trying the next when one is leased or refuses.
    Destroy {
        candidates: Vec<String>,
        count: usize,
    },
    /// Start `count` of `candidates` (suspended, stopped, created; by id), trying the
    /// next on a failure that proves nothing happened.
    Start {
        candidates: Vec<String>,
        count: usize,
    },
    /// Stop (or suspend) `count` of `candidates` (settled started ones, by id).
    Stop {
        candidates: Vec<String>,
        count: usize,
        suspend: bool,
    },
    /// Below the created minimum with no Machine to clone.
    NothingToClone,
}

impl Plan {
    /// The name fly-autoscaler's `fas_reconcile_count{status}` uses (plus `suspend`).
    /// The Machines this plan acts on, first choices first: IDs, or `new in REGION`.
    /// (Acting may move on to later candidates when one is leased or refuses.)
    pub fn picked(&self) -> Vec<String> {
        match self {
            Plan::NoScale | Plan::NothingToClone => Vec::new(),
            Plan::Create { regions, .. } => regions
                .iter()
                .map(|r| match r.as_str() {
                    "" => "new".to_string(),
                    r => format!("new in {r}"),
                })
                .collect(),
            Plan::Destroy { candidates, count }
            | Plan::Start { candidates, count }
            | Plan::Stop {
                candidates, count, ..
            } => candidates.iter().take(*count).cloned().collect(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Plan::NoScale => "no_scale",
            Plan::Create { .. } | Plan::NothingToClone => "create",
            Plan::Destroy { .. } => "destroy",
            Plan::Start { .. } => "start",
            Plan::Stop { suspend: true, .. } => "suspend",
            Plan::Stop { .. } => "stop",
        }
    }
}

/// Where a Machine in some state counts (the table above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Gone,
    Started,
    Stopped,
    Suspended,
    /// Created and never launched.
    Created,
    Failed,
    Other,
}

/// A state's phase, and whether it is settled (a Machine that may be picked).
pub fn phase(state: &str) -> (Phase, bool) {
    match state {
        "started" => (Phase::Started, true),
        "starting" | "restarting" | "updating" | "replacing" => (Phase::Started, false),
        "stopped" => (Phase::Stopped, true),
        "stopping" => (Phase::Stopped, false),
        "suspended" => (Phase::Suspended, true),
        "suspending" => (Phase::Suspended, false),
        "created" => (Phase::Created, true),
        "failed" => (Phase::Failed, true),
        "destroying" | "destroyed" | "launch_failed" => (Phase::Gone, false),
        _ => (Phase::Other, false),
    }
}

fn startable(p: Phase) -> bool {
    matches!(p, Phase::Stopped | Phase::Suspended | Phase::Created)
}

/// The Machines fas may count and touch: reachable ones in the process group.
/// As upstream, a Machine without process-group metadata is in no group.
pub fn eligible<'a>(machines: &'a [Machine], group: &str) -> Vec<&'a Machine> {
    machines
        .iter()
        .filter(|m| m.is_reachable() && m.process_group() == group)
        .collect()
}

/// Counts for the policy's `app.machines`: `created` is every Machine not going
/// away, `started` those started or on their way, `stopped` the startable pool.
pub fn counts(eligible: &[&Machine]) -> MachineCounts {
    let mut c = MachineCounts::default();
    for m in eligible {
        let (p, _) = phase(&m.state);
        if p == Phase::Gone {
            continue;
        }
        let started = u64::from(p == Phase::Started);
        let stopped = u64::from(startable(p));
        c.created += 1;
        c.started += started;
        c.stopped += stopped;
        match c.by_region.iter_mut().find(|(r, _, _)| *r == m.region) {
            Some(r) => {
                r.1 += started;
                r.2 += stopped;
            }
            None => c.by_region.push((m.region.clone(), started, stopped)),
        }
    }
    c.by_region.sort();
    c
}

/// Settled Machines of these phases, each phase's sorted by id, in the given order;
/// for a scale-down (`down`), none that protects itself (`fas-protect=true`).
fn settled_ids(eligible: &[&Machine], order: &[Phase], down: bool) -> Vec<String> {
    order
        .iter()
        .flat_map(|want| {
            let mut ids: Vec<String> = eligible
                .iter()
                .filter(|m| phase(&m.state) == (*want, true) && !(down && m.protected()))
                .map(|m| m.id.clone())
                .collect();
            ids.sort();
            ids
        })
        .collect()
}

/// `region_seq` is the round-robin position, which lives in the caller so that it
/// continues across rounds (and apps), as upstream's does.
pub fn plan(
    targets: &Targets,
    machines: &[Machine],
    opts: &PlanOptions,
    region_seq: &mut usize,
) -> Plan {
    // Counting and picking skip Machines going away (they are never settled).
    let all = eligible(machines, &opts.process_group);
    let c = counts(&all);
    let (created, n_started) = (c.created as i64, c.started as i64);
    if let Some(b) = targets.created {
        if let Some(min) = b.min.filter(|min| created < *min) {
            // Clone a Machine that stays; one going away only when nothing else is left.
            let stays = all.iter().find(|m| phase(&m.state).0 != Phase::Gone);
            let Some(source) = stays.or(all.first()) else {
                return Plan::NothingToClone;
            };
            let Some(config) = source.clone_config() else {
                return Plan::NothingToClone;
            };
            let regions: Vec<String> = (0..(min - created))
                .map(|_| {
                    if opts.regions.is_empty() {
                        source.region.clone()
                    } else {
                        let r = opts.regions[*region_seq % opts.regions.len()].clone();
                        *region_seq += 1;
                        r
                    }
                })
                .collect();
            // Boot only as many as the started target has room for; the rest are
            // created stopped, so a created minimum above the started maximum never
            // starts more than the policy asked (upstream boots them all, then stops
            // the surplus a round later).
            let room = targets
                .started
                .and_then(|b| b.max)
                .map_or(i64::MAX, |max| (max - n_started).max(0));
            let launch = if opts.create_stopped {
                0
            } else {
                room.min(regions.len() as i64) as usize
            };
            return Plan::Create {
                config,
                regions,
                launch,
            };
        }
        if let Some(max) = b.max.filter(|max| created > *max) {
            // Never below one Machine that is not going away, whatever the target.
            let n = (created - max.max(1)).max(0) as usize;
            let order = [
                Phase::Failed,
                Phase::Stopped,
                Phase::Suspended,
                Phase::Created,
                Phase::Started,
            ];
            let candidates = settled_ids(&all, &order, true);
            if candidates.is_empty() || n == 0 {
                return Plan::NoScale;
            }
            return Plan::Destroy {
                candidates,
                count: n,
            };
        }
    }
    if let Some(b) = targets.started {
        if let Some(min) = b.min.filter(|min| n_started < *min) {
            let order = [Phase::Suspended, Phase::Stopped, Phase::Created];
            return Plan::Start {
                count: (min - n_started) as usize,
                candidates: settled_ids(&all, &order, false),
            };
        }
        if let Some(max) = b.max.filter(|max| n_started > *max) {
            let candidates = settled_ids(&all, &[Phase::Started], true);
            if candidates.is_empty() {
                // Every started Machine is still moving (or protects itself): wait.
                return Plan::NoScale;
            }
            return Plan::Stop {
                count: (n_started - max) as usize,
                candidates,
                suspend: opts.suspend,
            };
        }
    }
    Plan::NoScale
}

/// With a per-Machine metric (`machine-label`), scale-down takes the idlest first: stop
/// candidates, and the started ones among destroy candidates, by lowest value; a
/// Machine without a value goes last (it may be busy); ties keep the id order.
pub fn order_by_value(plan: &mut Plan, machines: &[Machine], values: &[(String, f64)]) {
    if values.is_empty() {
        return;
    }
    let value = |id: &str| {
        values
            .iter()
            .find(|(m, _)| m == id)
            .map_or(
                f64::INFINITY,
                |(_, v)| if v.is_nan() { f64::INFINITY } else { *v },
            )
    };
    let started = |id: &str| machines.iter().any(|m| m.id == id && m.state == "started");
    match plan {
        Plan::Stop { candidates, .. } => {
            candidates.sort_by(|a, b| value(a).total_cmp(&value(b)));
        }
        Plan::Destroy { candidates, .. } => {
            let key = |id: &str| {
                if started(id) {
                    value(id)
                } else {
                    f64::NEG_INFINITY
                }
            };
            candidates.sort_by(|a, b| key(a).total_cmp(&key(b)));
        }
        _ => {}
    }
}

/// How many Machines this plan leaves that the targets would take away, because they
/// protect themselves (`fas-protect=true`): 0 when protection held nothing back.
pub fn held_by_protection(
    plan: &Plan,
    targets: &Targets,
    machines: &[Machine],
    group: &str,
) -> usize {
    let all = eligible(machines, group);
    let c = counts(&all);
    let protected = |want: Phase| {
        all.iter()
            .filter(|m| m.protected() && phase(&m.state).0 == want)
            .count()
    };
    let over = |have: u64, target: Option<crate::policy::Bounds>| {
        target
            .and_then(|b| b.max)
            .map_or(0, |max| (have as i64 - max.max(0)).max(0) as usize)
    };
    let (want, can, guarded) = match plan {
        Plan::Destroy { candidates, count } => (
            *count,
            candidates.len(),
            all.iter().filter(|m| m.protected()).count(),
        ),
        Plan::Stop {
            candidates, count, ..
        } => (*count, candidates.len(), protected(Phase::Started)),
        // Nothing planned while the targets want fewer: every candidate protects itself.
        Plan::NoScale => {
            let started_over = over(c.started, targets.started);
            (started_over, 0, protected(Phase::Started).min(started_over))
        }
        _ => return 0,
    };
    want.saturating_sub(can).min(guarded)
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
