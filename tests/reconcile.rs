//! fly-autoscaler's reconciler scenarios, run for real: fas's reconciler over HTTP
//! against the simulator with Fly's realistic (slow, jittered) latencies, with a
//! collector that reports values the test sets.

mod support;

use fas::policy::expr::CountExprs;
use fas::reconcile::ReconcileError;
use fas::sim::FaultRule;
use support::rig::{created, machine, rig, started};

#[tokio::test]
async fn no_scale_costs_one_list_call() {
    let rig = rig(
        vec![machine("started", "app"), machine("started", "app")],
        started("q"),
        |_| {},
    )
    .await;
    rig.set(2.0);
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!(o.action, "no_scale");
    assert_eq!(rig.requests("list 200"), 1);
    assert_eq!(
        rig.requests("graphql 200"),
        0,
        "no release check without an action"
    );
}

#[tokio::test]
async fn creates_clones_in_the_source_region() {
    let rig = rig(
        vec![machine("started", "app"), machine("started", "app")],
        created("q"),
        |_| {},
    )
    .await;
    rig.set(4.0);
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!((o.action, o.succeeded, o.failed), ("create", 2, 0));
    let states = rig.states().await;
    assert_eq!(states.len(), 4);
    assert!(states.iter().all(|(_, _, r)| r == "iad"));
    assert_eq!(
        rig.r
            .metrics
            .counter("fas_machine_create_count", &[("status", "ok")]),
        2
    );
    assert_eq!(
        rig.r
            .metrics
            .counter("fas_reconcile_count", &[("status", "create")]),
        1
    );
}

#[tokio::test]
async fn creates_round_robin_regions_in_the_initial_state() {
    // skip_launch Machines stay `created` (Fly's machine-states page) until started.
    let rig = rig(vec![machine("started", "app")], created("q"), |p| {
        p.regions = vec!["ams".into(), "ord".into()];
        p.create_stopped = true;
    })
    .await;
    rig.set(4.0);
    rig.r.reconcile("web").await.unwrap();
    let states = rig.states().await;
    let mut new: Vec<(String, String)> = states
        .iter()
        .filter(|(_, _, r)| r != "iad")
        .map(|(_, s, r)| (r.clone(), s.clone()))
        .collect();
    new.sort();
    assert_eq!(
        new,
        [
            ("ams".into(), "created".into()),
            ("ams".into(), "created".into()),
            ("ord".into(), "created".into())
        ]
    );
}

#[tokio::test]
async fn destroys_stopped_first_and_never_the_last_machine() {
    let rig = rig(
        vec![
            machine("started", "app"),
            machine("stopped", "app"),
            machine("started", "app"),
        ],
        created("q"),
        |_| {},
    )
    .await;
    rig.set(2.0);
    rig.r.reconcile("web").await.unwrap();
    assert_eq!(
        (rig.count("started").await, rig.count("stopped").await),
        (2, 0)
    );
    rig.set(0.0); // clamps to 1
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!(o.targets.created.unwrap().min, Some(1));
    // A started Machine is never destroyed directly: stopped (drained) first…
    assert_eq!(
        (rig.count("started").await, rig.count("stopped").await),
        (1, 1)
    );
    // …then destroyed once the list shows it stopped, and nothing else goes.
    rig.r.reconcile("web").await.unwrap();
    let left = rig.states().await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].1, "started");
}

#[tokio::test]
async fn starts_and_stops_toward_the_target() {
    let rig = rig(
        vec![
            machine("started", "app"),
            machine("stopped", "app"),
            machine("stopped", "app"),
        ],
        started("q"),
        |_| {},
    )
    .await;
    rig.set(3.0);
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!((o.action, o.succeeded), ("start", 2));
    assert_eq!(rig.count("started").await, 3);
    rig.set(1.0);
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!((o.action, o.succeeded), ("stop", 2));
    assert_eq!(rig.count("started").await, 1);
    rig.set(10.0);
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!(o.succeeded, 2, "never more than exist");
}

#[tokio::test]
async fn min_max_pairs_and_process_groups_and_unreachable_hosts() {
    let exprs = CountExprs {
        min_started: Some("q".into()),
        max_started: Some("q + 2".into()),
        ..Default::default()
    };
    let rig = rig(
        vec![
            machine("started", "app"),
            machine("started", "app"),
            machine("stopped", "worker"),
        ],
        exprs,
        |_| {},
    )
    .await;
    rig.set(1.0);
    assert_eq!(rig.r.reconcile("web").await.unwrap().action, "no_scale");
    rig.set(3.0);
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!(
        (o.action, o.succeeded),
        ("start", 0),
        "the worker Machine is not in group app"
    );
    let id = rig
        .states()
        .await
        .into_iter()
        .find(|(_, s, _)| s == "started")
        .unwrap()
        .0;
    rig.server
        .sim
        .world
        .of("web")
        .machine_mut("web", &id)
        .unwrap()
        .host_status = "unreachable".into();
    rig.set(-2.0); // min 0, max 0
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!(
        (o.action, o.succeeded),
        ("stop", 1),
        "only the reachable Machine is stopped"
    );
}

#[tokio::test]
async fn a_running_release_skips_the_app() {
    let rig = rig(vec![machine("stopped", "app")], started("q"), |_| {}).await;
    rig.server
        .sim
        .world
        .of("web")
        .apps
        .get_mut("web")
        .unwrap()
        .release_status = Some("running".into());
    rig.set(1.0);
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!(o.skipped, Some("release"));
    assert_eq!(rig.count("started").await, 0);
    rig.server
        .sim
        .world
        .of("web")
        .apps
        .get_mut("web")
        .unwrap()
        .release_status = Some("complete".into());
    assert_eq!(rig.r.reconcile("web").await.unwrap().succeeded, 1);
}

#[tokio::test]
async fn a_failing_create_counts_as_an_attempt() {
    let rig = rig(vec![machine("started", "app")], created("q"), |_| {}).await;
    rig.server.sim.faults.lock().unwrap().rules = vec![FaultRule {
        action: "create".into(),
        status: Some(500),
        ..FaultRule::default()
    }];
    rig.set(4.0);
    let o = rig.r.reconcile("web").await.unwrap();
    assert_eq!((o.succeeded, o.failed), (0, 3));
    assert_eq!(
        rig.requests("create 500"),
        3,
        "one attempt per missing Machine, no retry loop"
    );
}

#[tokio::test]
async fn errors_before_acting_change_nothing() {
    let rig = rig(vec![machine("stopped", "app")], started("q"), |_| {}).await;
    *rig.value.lock().unwrap() = None;
    assert!(matches!(
        rig.r.reconcile("web").await,
        Err(ReconcileError::Collect(_))
    ));
    rig.set(f64::NAN);
    assert!(matches!(
        rig.r.reconcile("web").await,
        Err(ReconcileError::Policy(_))
    ));
    rig.server.sim.faults.lock().unwrap().rules = vec![FaultRule {
        action: "list".into(),
        hang: true,
        ..FaultRule::default()
    }];
    rig.set(1.0);
    let e = rig.r.reconcile("web").await.unwrap_err();
    assert!(
        matches!(e, ReconcileError::Timeout(_) | ReconcileError::Fly(_)),
        "{e:?}"
    );
    assert_eq!(rig.count("started").await, 0);
    assert_eq!(
        rig.r
            .metrics
            .counter("fas_collector_errors_total", &[("collector", "q")]),
        1
    );
}
