//! The planner's rules, one test each (the counting table row by row).

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
        suspend: false,
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
        launch,
    } = p
    else {
        panic!("{p:?}")
    };
    assert_eq!(config["image"], "r/img:1@sha256:d");
    assert_eq!(regions, ["iad", "iad"]);
    assert_eq!(launch, 2);
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
        regions, launch, ..
    } = plan(&t(Some((4, 4)), None), &[app("a", "started")], &o, &mut seq)
    else {
        panic!()
    };
    assert_eq!(regions, ["ams", "ord", "ams"]);
    assert_eq!(launch, 0);
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
            candidates: vec![
                "x1".into(),
                "x2".into(),
                "c1".into(),
                "s1".into(),
                "s2".into()
            ],
            count: 4
        }
    );
    assert_eq!(
        run(t(Some((4, 4)), None), &ms),
        Plan::Destroy {
            candidates: vec![
                "x1".into(),
                "x2".into(),
                "c1".into(),
                "s1".into(),
                "s2".into()
            ],
            count: 1
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
            count: 2,
            suspend: false
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
            count: 1,
            suspend: false
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

/// Each row of the counting table in the module doc: (state, started, in the
/// startable pool, in `created`).
#[test]
fn the_counting_table_row_by_row() {
    let rows = [
        ("started", 1, 0, 1),
        ("starting", 1, 0, 1),
        ("restarting", 1, 0, 1),
        ("updating", 1, 0, 1),
        ("replacing", 1, 0, 1),
        ("stopped", 0, 1, 1),
        ("stopping", 0, 1, 1),
        ("suspended", 0, 1, 1),
        ("suspending", 0, 1, 1),
        ("created", 0, 1, 1),
        ("failed", 0, 0, 1),
        ("creating", 0, 0, 1),
        ("some_future_state", 0, 0, 1),
        ("destroying", 0, 0, 0),
        ("destroyed", 0, 0, 0),
        ("launch_failed", 0, 0, 0),
    ];
    for (state, started, pool, created) in rows {
        let ms = [app("m", state)];
        let c = counts(&eligible(&ms, "app"));
        assert_eq!(
            (c.started, c.stopped, c.created),
            (started, pool, created),
            "{state}"
        );
        let (_, settled) = phase(state);
        let persistent = ["started", "stopped", "suspended", "created", "failed"];
        assert_eq!(settled, persistent.contains(&state), "{state}");
    }
}

#[test]
fn start_prefers_suspended_then_stopped_then_created_and_skips_moving_ones() {
    let ms = [
        app("a", "created"),
        app("b", "stopped"),
        app("c", "suspended"),
        app("d", "stopping"),
        app("e", "suspending"),
        app("f", "started"),
        app("g", "failed"),
    ];
    assert_eq!(
        run(t(None, Some((5, 5))), &ms),
        Plan::Start {
            candidates: vec!["c".into(), "b".into(), "a".into()],
            count: 4
        }
    );
}

#[test]
fn stop_and_destroy_never_pick_a_moving_machine() {
    let ms = [
        app("a", "starting"),
        app("b", "started"),
        app("c", "stopping"),
        app("d", "destroying"),
    ];
    assert_eq!(
        run(t(None, Some((0, 0))), &ms),
        Plan::Stop {
            candidates: vec!["b".into()],
            count: 2,
            suspend: false
        }
    );
    let moving = [app("a", "starting"), app("b", "starting")];
    assert_eq!(run(t(None, Some((0, 0))), &moving), Plan::NoScale);
    // Three count as created (d is going away); one must stay, none of the moving.
    assert_eq!(
        run(t(Some((1, 1)), None), &ms),
        Plan::Destroy {
            candidates: vec!["b".into()],
            count: 2
        }
    );
}

#[test]
fn destroy_never_leaves_fewer_than_one_machine_that_stays() {
    let ms = [
        app("a", "stopped"),
        app("b", "started"),
        app("c", "destroying"),
        app("d", "destroying"),
    ];
    // A max of 0 (a policy that forgot the clamp) still keeps one.
    let Plan::Destroy { count, .. } = run(t(Some((0, 0)), None), &ms) else {
        panic!()
    };
    assert_eq!(count, 1);
    // The Machines going away count for nothing: 2 stay, target 2, nothing to do.
    assert_eq!(run(t(Some((2, 2)), None), &ms), Plan::NoScale);
    // Only going-away Machines left: nothing is destroyed, and a create clones one.
    let gone = [app("c", "destroying")];
    assert_eq!(run(t(Some((0, 0)), None), &gone), Plan::NoScale);
    assert!(matches!(
        run(t(Some((1, 1)), None), &gone),
        Plan::Create { .. }
    ));
}

#[test]
fn destroy_takes_failed_first_and_stop_mode_suspend_suspends() {
    let ms = [
        app("a", "started"),
        app("b", "failed"),
        app("c", "suspended"),
    ];
    let Plan::Destroy { candidates, .. } = run(t(Some((1, 1)), None), &ms) else {
        panic!()
    };
    assert_eq!(candidates, ["b", "c", "a"]);
    let o = PlanOptions {
        suspend: true,
        ..opts()
    };
    let p = plan(&t(None, Some((0, 0))), &ms, &o, &mut 0);
    assert_eq!(p.kind(), "suspend");
}

#[test]
fn a_machine_that_protects_itself_is_never_stopped_or_destroyed() {
    let mut busy = app("a", "started");
    busy.config.as_mut().unwrap()["metadata"]["fas-protect"] = json!("true");
    let machines = [busy.clone(), app("b", "started"), app("c", "stopped")];
    // Stop two of the two started: only the unprotected one is a candidate.
    assert_eq!(
        run(t(None, Some((0, 0))), &machines),
        Plan::Stop {
            candidates: vec!["b".into()],
            count: 2,
            suspend: false
        }
    );
    // Destroy down to one: the protected Machine is never picked, and still counts.
    assert_eq!(
        run(t(Some((1, 1)), None), &machines),
        Plan::Destroy {
            candidates: vec!["c".into(), "b".into()],
            count: 2
        }
    );
    // Only protected Machines started: nothing to stop.
    assert_eq!(run(t(None, Some((0, 0))), &[busy.clone()]), Plan::NoScale);
    // Protection never blocks a start.
    let mut stopped = app("d", "stopped");
    stopped.config.as_mut().unwrap()["metadata"]["fas-protect"] = json!("true");
    assert_eq!(
        run(t(None, Some((1, 1))), &[stopped]),
        Plan::Start {
            candidates: vec!["d".into()],
            count: 1
        }
    );
}

#[test]
fn a_per_machine_metric_orders_scale_down_idlest_first() {
    let machines = [
        app("a", "started"),
        app("b", "started"),
        app("c", "started"),
        app("d", "stopped"),
    ];
    let busy = [
        ("a".to_string(), 5.0),
        ("b".to_string(), 0.0),
        ("c".to_string(), 2.0),
    ];
    let mut p = run(t(None, Some((1, 1))), &machines);
    order_by_value(&mut p, &machines, &busy);
    assert_eq!(
        p,
        Plan::Stop {
            candidates: vec!["b".into(), "c".into(), "a".into()],
            count: 2,
            suspend: false
        }
    );
    // Destroy: stopped ones first as always, then the started by value; no value = last.
    let mut p = run(t(Some((1, 1)), None), &machines);
    order_by_value(&mut p, &machines, &busy[1..]);
    assert_eq!(
        p,
        Plan::Destroy {
            candidates: vec!["d".into(), "b".into(), "c".into(), "a".into()],
            count: 3
        }
    );
    // Without values: upstream's id order.
    let mut p = run(t(None, Some((1, 1))), &machines);
    order_by_value(&mut p, &machines, &[]);
    assert!(matches!(p, Plan::Stop { ref candidates, .. } if candidates == &["a", "b", "c"]));
}

/// A created minimum above the started maximum: only the started target's room boots;
/// the rest are created stopped, so no round starts more than the policy asked.
#[test]
fn creates_boot_only_up_to_the_started_maximum() {
    let launch =
        |started: Option<(i64, i64)>| match run(t(Some((4, 5)), started), &[app("a", "started")]) {
            Plan::Create {
                regions, launch, ..
            } => (regions.len(), launch),
            p => panic!("{p:?}"),
        };
    assert_eq!(launch(Some((3, 3))), (3, 2));
    assert_eq!(launch(Some((1, 1))), (3, 0));
    assert_eq!(launch(Some((0, 9))), (3, 3));
    assert_eq!(
        launch(None),
        (3, 3),
        "no started target: all boot, as upstream"
    );
}
