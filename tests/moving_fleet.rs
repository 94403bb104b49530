//! Right while Machines move: the reconciler against the simulator with Fly's slow,
//! jittered latencies and a 1 s interval, shorter than most transitions. Every
//! round checks the app keeps a Machine; each scenario counts the calls that reached
//! the simulator, so one call too many fails the test.

mod support;

use std::time::Duration;

use fas::policy::expr::CountExprs;
use fas::sim::{FaultRule, Latencies};
use support::rig::{created, machine, rig, rig_with, started, Rig};

const INTERVAL: Duration = Duration::from_secs(1);

fn slow(f: impl FnOnce(&mut Latencies)) -> Latencies {
    let mut l = Latencies {
        jitter: 0.0,
        ..Latencies::default()
    };
    f(&mut l);
    l
}

fn calls(rig: &Rig, action: &str) -> u64 {
    ["200", "500", "502", "412", "409"]
        .iter()
        .map(|s| rig.requests(&format!("{action} {s}")))
        .sum()
}

fn n_started(rig: &Rig) -> usize {
    let moving_up = ["started", "starting"];
    rig.now_states()
        .iter()
        .filter(|(_, s, _)| moving_up.contains(&s.as_str()))
        .count()
}

#[tokio::test]
async fn a_start_stop_pool_of_never_launched_machines_is_used() {
    let exprs = CountExprs {
        min_created: Some("4".into()),
        max_created: Some("4".into()),
        ..started("q")
    };
    let rig = rig(vec![machine("started", "app")], exprs, |p| {
        p.create_stopped = true
    })
    .await;
    rig.set(1.0);
    rig.rounds(2, INTERVAL).await;
    assert_eq!(
        rig.count("created").await,
        3,
        "skip_launch Machines stay created"
    );
    rig.set(3.0);
    for _ in 0..8 {
        rig.rounds(1, INTERVAL).await;
        assert!(n_started(&rig) <= 3, "over-started: {:?}", rig.now_states());
    }
    assert_eq!(rig.count("started").await, 3, "{:?}", rig.now_states());
    assert_eq!(rig.count("created").await, 1);
    assert_eq!(
        calls(&rig, "stop"),
        0,
        "nothing started too many, so nothing stopped"
    );
}

#[tokio::test]
async fn slow_destroys_never_go_below_the_target_or_one() {
    let l = slow(|l| l.destroy_ms = 2500);
    let four = vec![machine("started", "app"); 4];
    let rig = rig_with(l, four, created("q"), |_| {}).await;
    rig.set(2.0);
    rig.rounds(6, INTERVAL).await;
    assert_eq!(calls(&rig, "destroy"), 2);
    assert_eq!(rig.states().await.len(), 2);
    rig.set(0.0); // clamps to 1
    rig.rounds(6, INTERVAL).await;
    assert_eq!(calls(&rig, "destroy"), 3);
    assert_eq!(rig.states().await.len(), 1, "the last Machine stays");
}

#[tokio::test]
async fn slow_starts_are_not_started_twice() {
    let l = slow(|l| l.start_ms = 2500);
    let mut fleet = vec![machine("started", "app")];
    fleet.extend(vec![machine("stopped", "app"); 4]);
    let rig = rig_with(l, fleet, started("q"), |_| {}).await;
    rig.set(3.0);
    rig.rounds(6, INTERVAL).await;
    assert_eq!(calls(&rig, "start"), 2);
    assert_eq!(calls(&rig, "stop"), 0);
    assert_eq!(rig.count("started").await, 3);
}

#[tokio::test]
async fn stop_mode_suspend_round_trip() {
    let rig = rig(vec![machine("started", "app"); 3], started("q"), |p| {
        p.suspend = true
    })
    .await;
    rig.set(1.0);
    rig.rounds(5, INTERVAL).await;
    assert_eq!(rig.count("suspended").await, 2);
    assert_eq!((calls(&rig, "suspend"), calls(&rig, "stop")), (2, 0));
    rig.set(3.0);
    rig.rounds(4, INTERVAL).await;
    assert_eq!(rig.count("started").await, 3, "resumed");
    assert_eq!(calls(&rig, "start"), 2);
    assert_eq!(
        rig.r
            .metrics
            .counter("fas_reconcile_count", &[("status", "suspend")]),
        1
    );
}

#[tokio::test]
async fn a_machine_leased_by_a_deploy_is_left_alone_while_the_others_scale() {
    let mut fleet = vec![machine("started", "app")];
    fleet.extend(vec![machine("stopped", "app"); 3]);
    let rig = rig(fleet, started("q"), |_| {}).await;
    let leased = rig
        .now_states()
        .into_iter()
        .find(|(_, s, _)| s == "stopped")
        .unwrap()
        .0;
    rig.server
        .sim
        .hold_lease("web", &leased, "deploy@acme.test", Duration::from_secs(60))
        .unwrap();
    rig.set(4.0);
    rig.rounds(4, INTERVAL).await;
    let states = rig.states().await;
    assert_eq!(states.iter().filter(|(_, s, _)| s == "started").count(), 3);
    assert!(states
        .iter()
        .any(|(id, s, _)| *id == leased && s == "stopped"));
    let m = &rig.r.metrics;
    assert!(m.counter("fas_machine_leased_skips_total", &[("app", "web")]) >= 1);
    assert_eq!(
        m.counter("fas_machine_start_count", &[("status", "failed")]),
        0
    );
    assert_eq!(
        rig.requests("start 409"),
        0,
        "fas asks for the lease, not the Machine"
    );
    rig.server
        .sim
        .world
        .of("web")
        .machine_mut("web", &leased)
        .unwrap()
        .lease = None;
    rig.rounds(3, INTERVAL).await;
    assert_eq!(rig.count("started").await, 4, "the deploy is over");
}

async fn applied_but_5xx(
    action: &str,
    fleet: Vec<fas::sim::SeedMachine>,
    exprs: CountExprs,
    target: f64,
) -> Rig {
    let rig = rig(fleet, exprs, |_| {}).await;
    rig.server.sim.faults.lock().unwrap().rules = vec![FaultRule {
        action: action.into(),
        status: Some(500),
        apply_first: true,
        count: Some(1),
        ..FaultRule::default()
    }];
    rig.set(target);
    rig.rounds(5, INTERVAL).await;
    assert_eq!(
        calls(&rig, action),
        1,
        "{action}: one call, never one Machine too many"
    );
    assert_eq!(
        rig.r.metrics.counter(
            "fas_machine_readbacks_total",
            &[("call", action), ("result", "applied")]
        ),
        1
    );
    rig
}

#[tokio::test]
async fn applied_but_5xx_start_is_read_back_not_repeated() {
    let mut fleet = vec![machine("started", "app")];
    fleet.extend(vec![machine("stopped", "app"); 3]);
    let rig = applied_but_5xx("start", fleet, started("q"), 2.0).await;
    assert_eq!(rig.count("started").await, 2);
}

#[tokio::test]
async fn applied_but_5xx_stop_is_read_back_not_repeated() {
    let rig = applied_but_5xx(
        "stop",
        vec![machine("started", "app"); 3],
        started("q"),
        2.0,
    )
    .await;
    assert_eq!(rig.count("started").await, 2);
}

#[tokio::test]
async fn applied_but_5xx_destroy_is_read_back_not_repeated() {
    let rig = applied_but_5xx(
        "destroy",
        vec![machine("started", "app"); 3],
        created("q"),
        2.0,
    )
    .await;
    assert_eq!(rig.states().await.len(), 2);
}

#[tokio::test]
async fn a_lagging_list_never_over_creates_or_over_destroys() {
    let l = Latencies {
        list_lag_ms: 3000,
        ..Latencies::default()
    };
    let rig = rig_with(l, vec![machine("started", "app")], created("q"), |_| {}).await;
    rig.set(3.0);
    rig.rounds(6, INTERVAL).await;
    assert_eq!(calls(&rig, "create"), 2);
    assert_eq!(rig.states().await.len(), 3);
    rig.set(1.0);
    rig.rounds(6, INTERVAL).await;
    assert_eq!(calls(&rig, "destroy"), 2);
    assert_eq!(rig.states().await.len(), 1);
}

#[tokio::test]
async fn a_machine_fly_cannot_suspend_is_stopped_instead() {
    let rig = rig(vec![machine("started", "app"); 2], started("q"), |p| {
        p.suspend = true
    })
    .await;
    {
        let mut w = rig.server.sim.world.of("web");
        for m in &mut w.apps.get_mut("web").unwrap().machines {
            m.config["guest"]["memory_mb"] = serde_json::json!(4096);
        }
    }
    rig.set(1.0);
    rig.rounds(4, INTERVAL).await;
    assert_eq!(rig.requests("suspend 400"), 1);
    assert_eq!(calls(&rig, "stop"), 1);
    assert_eq!(
        (rig.count("stopped").await, rig.count("started").await),
        (1, 1)
    );
}
