//! `plan`: from targets and the listed Machines to the one kind of action this round
//! needs, with fly-autoscaler's rules. Pure: no I/O, no clock, so every rule is a unit
//! test.

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
}

#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    NoScale,
    /// Create `regions.len()` Machines from `config`, one per listed region.
    Create {
        config: Value,
        regions: Vec<String>,
        skip_launch: bool,
    },
    /// Destroy these Machines (stopped first, then created, then started).
    Destroy {
        ids: Vec<String>,
    },
    /// Start `count` of `candidates` (stopped, by id), trying the next on a failure.
    Start {
        candidates: Vec<String>,
        count: usize,
    },
    /// Stop `count` of `candidates` (started, by id), trying the next on a failure.
    Stop {
        candidates: Vec<String>,
        count: usize,
    },
    /// Below the created minimum with no Machine to clone.
    NothingToClone,
}

impl Plan {
    /// The name fly-autoscaler's `fas_reconcile_count{status}` uses.
    pub fn kind(&self) -> &'static str {
        match self {
            Plan::NoScale => "no_scale",
            Plan::Create { .. } | Plan::NothingToClone => "create",
            Plan::Destroy { .. } => "destroy",
            Plan::Start { .. } => "start",
            Plan::Stop { .. } => "stop",
        }
    }
}

/// The Machines fas may count and touch: reachable ones in the process group.
/// As upstream, a Machine without process-group metadata is in no group.
pub fn eligible<'a>(machines: &'a [Machine], group: &str) -> Vec<&'a Machine> {
    machines
        .iter()
        .filter(|m| m.is_reachable() && m.process_group() == group)
        .collect()
}

/// Counts for the policy's `app.machines`.
pub fn counts(eligible: &[&Machine]) -> MachineCounts {
    let mut c = MachineCounts {
        created: eligible.len() as u64,
        ..MachineCounts::default()
    };
    for m in eligible {
        let started = m.state == "started";
        let stopped = m.state == "stopped";
        c.started += u64::from(started);
        c.stopped += u64::from(stopped);
        match c.by_region.iter_mut().find(|(r, _, _)| *r == m.region) {
            Some(r) => {
                r.1 += u64::from(started);
                r.2 += u64::from(stopped);
            }
            None => c
                .by_region
                .push((m.region.clone(), u64::from(started), u64::from(stopped))),
        }
    }
    c.by_region.sort();
    c
}

/// `region_seq` is the round-robin position, which lives in the caller so that it
/// continues across rounds (and apps), as upstream's does.
pub fn plan(
    targets: &Targets,
    machines: &[Machine],
    opts: &PlanOptions,
    region_seq: &mut usize,
) -> Plan {
    let eligible = eligible(machines, &opts.process_group);
    let created = eligible.len() as i64;
    let in_state =
        |s: &str| -> Vec<&Machine> { eligible.iter().copied().filter(|m| m.state == s).collect() };
    if let Some(b) = targets.created {
        if let Some(min) = b.min.filter(|min| created < *min) {
            let Some(source) = eligible.first() else {
                return Plan::NothingToClone;
            };
            let Some(config) = source.clone_config() else {
                return Plan::NothingToClone;
            };
            let regions = (0..(min - created))
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
            return Plan::Create {
                config,
                regions,
                skip_launch: opts.create_stopped,
            };
        }
        if let Some(max) = b.max.filter(|max| created > *max) {
            let n = (created - max) as usize;
            let ids = ["stopped", "created", "started"]
                .iter()
                .flat_map(|s| in_state(s))
                .take(n)
                .map(|m| m.id.clone())
                .collect();
            return Plan::Destroy { ids };
        }
    }
    if let Some(b) = targets.started {
        let started = in_state("started");
        let n_started = started.len() as i64;
        if let Some(min) = b.min.filter(|min| n_started < *min) {
            let mut candidates: Vec<String> =
                in_state("stopped").iter().map(|m| m.id.clone()).collect();
            candidates.sort();
            return Plan::Start {
                count: (min - n_started) as usize,
                candidates,
            };
        }
        if let Some(max) = b.max.filter(|max| n_started > *max) {
            let mut candidates: Vec<String> = started.iter().map(|m| m.id.clone()).collect();
            candidates.sort();
            return Plan::Stop {
                count: (n_started - max) as usize,
                candidates,
            };
        }
    }
    Plan::NoScale
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Bounds;
    use serde_json::json;

    fn m(id: &str, state: &str, group: Option<&str>, host: &str, region: &str) -> Machine {
        let meta = group
            .map(|g| json!({"fly_process_group": g}))
            .unwrap_or(json!({}));
        serde_json::from_value(
            json!({"id": id, "state": state, "host_status": host, "region": region,
            "config": {"image": "img:1", "metadata": meta},
            "image_ref": {"registry": "r", "repository": "img", "tag": "1", "digest": "sha256:d"}}),
        )
        .unwrap()
    }
    fn app(id: &str, state: &str) -> Machine {
        m(id, state, Some("app"), "ok", "iad")
    }
    fn opts() -> PlanOptions {
        PlanOptions {
            process_group: "app".into(),
            regions: vec![],
            create_stopped: false,
        }
    }
    fn t(created: Option<(i64, i64)>, started: Option<(i64, i64)>) -> Targets {
        let b = |(min, max): (i64, i64)| Bounds {
            min: Some(min),
            max: Some(max),
        };
        Targets {
            created: created.map(b),
            started: started.map(b),
        }
    }
    fn run(targets: Targets, machines: &[Machine]) -> Plan {
        plan(&targets, machines, &opts(), &mut 0)
    }

    #[test]
    fn no_scale_when_within_bounds() {
        assert_eq!(
            run(
                t(Some((2, 2)), Some((1, 1))),
                &[app("a", "started"), app("b", "stopped")]
            ),
            Plan::NoScale
        );
        assert_eq!(
            run(Targets::default(), &[app("a", "started")]),
            Plan::NoScale
        );
    }

    #[test]
    fn create_clones_the_first_machine_with_its_full_image() {
        let p = run(t(Some((3, 3)), None), &[app("a", "started")]);
        let Plan::Create {
            config,
            regions,
            skip_launch,
        } = p
        else {
            panic!("{p:?}")
        };
        assert_eq!(config["image"], "r/img:1@sha256:d");
        assert_eq!(regions, ["iad", "iad"]);
        assert!(!skip_launch);
    }

    #[test]
    fn regions_round_robin_across_rounds_and_initial_state_stopped() {
        let o = PlanOptions {
            regions: vec!["ams".into(), "ord".into()],
            create_stopped: true,
            ..opts()
        };
        let mut seq = 0;
        let Plan::Create {
            regions,
            skip_launch,
            ..
        } = plan(&t(Some((4, 4)), None), &[app("a", "started")], &o, &mut seq)
        else {
            panic!()
        };
        assert_eq!(regions, ["ams", "ord", "ams"]);
        assert!(skip_launch);
        let Plan::Create { regions, .. } =
            plan(&t(Some((2, 2)), None), &[app("a", "started")], &o, &mut seq)
        else {
            panic!()
        };
        assert_eq!(regions, ["ord"], "the sequence continues");
    }

    #[test]
    fn nothing_to_clone_is_its_own_outcome() {
        assert_eq!(run(t(Some((1, 1)), None), &[]), Plan::NothingToClone);
    }

    #[test]
    fn destroy_order_is_stopped_then_created_then_started() {
        let ms = [
            app("s1", "started"),
            app("c1", "created"),
            app("x1", "stopped"),
            app("s2", "started"),
            app("x2", "stopped"),
        ];
        assert_eq!(
            run(t(Some((1, 1)), None), &ms),
            Plan::Destroy {
                ids: vec!["x1".into(), "x2".into(), "c1".into(), "s1".into()]
            }
        );
        assert_eq!(
            run(t(Some((4, 4)), None), &ms),
            Plan::Destroy {
                ids: vec!["x1".into()]
            }
        );
    }

    #[test]
    fn create_wins_over_start_one_kind_per_round() {
        let p = run(t(Some((2, 5)), Some((3, 3))), &[app("a", "stopped")]);
        assert!(matches!(p, Plan::Create { .. }), "{p:?}");
    }

    #[test]
    fn start_and_stop_sorted_by_id() {
        let ms = [
            app("c", "stopped"),
            app("a", "stopped"),
            app("b", "started"),
            app("d", "started"),
        ];
        assert_eq!(
            run(t(None, Some((3, 3))), &ms),
            Plan::Start {
                candidates: vec!["a".into(), "c".into()],
                count: 1
            }
        );
        assert_eq!(
            run(t(None, Some((0, 0))), &ms),
            Plan::Stop {
                candidates: vec!["b".into(), "d".into()],
                count: 2
            }
        );
        // Never more than exist: asking for 10 leaves the executor 2 candidates.
        assert_eq!(
            run(t(None, Some((10, 10))), &ms),
            Plan::Start {
                candidates: vec!["a".into(), "c".into()],
                count: 8
            }
        );
    }

    #[test]
    fn min_max_pairs_leave_the_band_alone() {
        let ms = [
            app("a", "started"),
            app("b", "started"),
            app("c", "stopped"),
        ];
        assert_eq!(run(t(Some((1, 5)), Some((1, 3))), &ms), Plan::NoScale);
        assert_eq!(
            run(t(None, Some((3, 5))), &ms),
            Plan::Start {
                candidates: vec!["c".into()],
                count: 1
            }
        );
        assert_eq!(
            run(t(None, Some((0, 1))), &ms),
            Plan::Stop {
                candidates: vec!["a".into(), "b".into()],
                count: 1
            }
        );
    }

    #[test]
    fn only_reachable_machines_of_the_group_count() {
        let ms = [
            app("a", "started"),
            m("u", "stopped", Some("app"), "unreachable", "iad"),
            m("w", "stopped", Some("worker"), "ok", "iad"),
            m("n", "stopped", None, "ok", "iad"),
        ];
        assert_eq!(
            run(t(None, Some((2, 2))), &ms),
            Plan::Start {
                candidates: vec![],
                count: 1
            }
        );
        let c = counts(&eligible(&ms, "app"));
        assert_eq!((c.created, c.started, c.stopped), (1, 1, 0));
        let worker = PlanOptions {
            process_group: "worker".into(),
            ..opts()
        };
        assert_eq!(
            plan(&t(None, Some((1, 1))), &ms, &worker, &mut 0),
            Plan::Start {
                candidates: vec!["w".into()],
                count: 1
            }
        );
    }

    #[test]
    fn counts_by_region() {
        let ms = [
            app("a", "started"),
            m("b", "stopped", Some("app"), "ok", "ams"),
            app("c", "stopped"),
        ];
        let c = counts(&eligible(&ms, "app"));
        assert_eq!(
            c.by_region,
            vec![("ams".into(), 0, 1), ("iad".into(), 1, 1)]
        );
    }
}
