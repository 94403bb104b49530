//! Which Machine a scale-down takes, beyond the planner's rules: what a Lua policy sees
//! of each Machine (`app.machines.list`), and what it may answer — `protect` (never
//! stop or destroy these this round, as if they set `fas-protect` themselves) and
//! `stop_order` (the started Machines to take first). Pure functions.

use serde_json::Value;

use crate::fly::{Machine, PAUSE_KEY, PROTECT_KEY};
use crate::policy::{MachineInfo, Order};

use super::plan::{phase, Phase, Plan};

/// Per-Machine metrics: (metric, [(Machine ID, value)]).
pub type PerMachine = [(String, Vec<(String, f64)>)];

/// `app.machines.list`: the group's Machines that are not going away.
pub fn machine_list(group: &[&Machine], per_machine: &PerMachine) -> Vec<MachineInfo> {
    group
        .iter()
        .filter(|m| phase(&m.state).0 != Phase::Gone)
        .map(|m| MachineInfo {
            id: m.id.clone(),
            state: m.state.clone(),
            region: m.region.clone(),
            created_at: m.created_at.clone(),
            metadata: m
                .config
                .as_ref()
                .and_then(|c| c.get("metadata"))
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            metrics: per_machine
                .iter()
                .filter_map(|(name, values)| {
                    let v = values.iter().find(|(id, _)| *id == m.id)?.1;
                    Some((name.clone(), v))
                })
                .collect(),
        })
        .collect()
}

/// The policy's `protect`: those Machines count as protecting themselves this round.
pub fn protect(machines: &mut [Machine], order: &Order) {
    for m in machines.iter_mut() {
        if order.protect.contains(&m.id) {
            if let Some(config) = m.config.as_mut() {
                if !config["metadata"].is_object() {
                    config["metadata"] = serde_json::json!({});
                }
                config["metadata"][PROTECT_KEY] = Value::from("true");
            }
        }
    }
}

/// The policy's `stop_order`: those started Machines first, in its order; the others
/// after them as they were.
pub fn stop_order(plan: &mut Plan, order: &Order) {
    if order.stop_order.is_empty() {
        return;
    }
    let rank = |id: &String| {
        order
            .stop_order
            .iter()
            .position(|o| o == id)
            .unwrap_or(usize::MAX)
    };
    match plan {
        Plan::Stop { candidates, .. } => candidates.sort_by_key(rank),
        Plan::Destroy { candidates, .. } => {
            // Only among the started tail: stopped Machines still go first.
            let first_ranked = candidates.iter().position(|id| rank(id) != usize::MAX);
            if let Some(from) = first_ranked {
                candidates[from..].sort_by_key(rank);
            }
        }
        _ => {}
    }
}

/// Whether this plan's direction is paused, and by what: the config's `pause`, or
/// `fas-pause` metadata on any of the app's Machines (set without a restart).
pub fn paused(config: &str, machines: &[Machine], plan: &Plan) -> Option<&'static str> {
    let out = match plan {
        Plan::Create { .. } | Plan::Start { .. } => true,
        Plan::Destroy { .. } | Plan::Stop { .. } => false,
        Plan::NoScale | Plan::NothingToClone => return None,
    };
    let holds = |p: &str| {
        let (scale_out, scale_in, _) = crate::fly::pause_meaning(p);
        if out {
            scale_out
        } else {
            scale_in
        }
    };
    if holds(config) {
        return Some("config");
    }
    machines
        .iter()
        .any(|m| holds(m.metadata(PAUSE_KEY)))
        .then_some("metadata")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(id: &str, state: &str) -> Machine {
        serde_json::from_value(json!({"id": id, "state": state, "host_status": "ok",
            "created_at": "2026-11-23T10:00:00Z",
            "config": {"metadata": {"fly_process_group": "app", "role": "worker"}}}))
        .unwrap()
    }

    #[test]
    fn the_list_the_policy_sees() {
        let (a, b) = (m("a", "started"), m("b", "destroying"));
        let per = vec![("jobs".to_string(), vec![("a".to_string(), 2.0)])];
        let list = machine_list(&[&a, &b], &per);
        assert_eq!(list.len(), 1, "a Machine going away is not listed");
        assert_eq!(list[0].created_at, "2026-11-23T10:00:00Z");
        assert!(list[0].metadata.contains(&("role".into(), "worker".into())));
        assert_eq!(list[0].metrics, [("jobs".to_string(), 2.0)]);
    }

    #[test]
    fn stop_order_and_protect() {
        let order = Order {
            stop_order: vec!["c".into(), "a".into()],
            protect: vec!["b".into()],
            ..Order::default()
        };
        let mut p = Plan::Stop {
            candidates: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            count: 2,
            suspend: false,
        };
        stop_order(&mut p, &order);
        assert!(matches!(&p, Plan::Stop { candidates, .. } if candidates == &["c", "a", "b", "d"]));
        let mut ms = vec![m("a", "started"), m("b", "started")];
        protect(&mut ms, &order);
        assert!(!ms[0].protected() && ms[1].protected());
        let mut d = Plan::Destroy {
            candidates: vec!["s1".into(), "a".into(), "c".into()],
            count: 2,
        };
        stop_order(&mut d, &order);
        assert!(matches!(&d, Plan::Destroy { candidates, .. } if candidates == &["s1", "c", "a"]));
    }
}
