//! fly-autoscaler's reconciler scenarios, run for real: fas's reconciler over HTTP
//! against the simulator, with a collector that reports values the test sets.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fas::clock::FakeClock;
use fas::collect::{CollectError, CollectFuture, Collector};
use fas::config::Secret;
use fas::fly::{ClientOptions, FlyClient};
use fas::policy::expr::CountExprs;
use fas::policy::{Limits, Policy, PolicyHandle};
use fas::reconcile::{PlanOptions, ReconcileError, Reconciler};
use fas::sim::{self, FaultRule, Latencies, Seed, SeedApp, SeedMachine, SimOptions, SimServer};
use fas::telemetry::Metrics;

/// Reports `value` for every app, or fails when it is None.
struct Fixed {
    value: Arc<Mutex<Option<f64>>>,
}

impl Collector for Fixed {
    fn name(&self) -> &str {
        "q"
    }
    fn collect<'a>(&'a self, _app: &'a str) -> CollectFuture<'a> {
        let v = *self.value.lock().unwrap();
        Box::pin(async move {
            v.ok_or(CollectError {
                collector: "q".into(),
                msg: "prometheus is down".into(),
            })
        })
    }
}

struct Rig {
    server: SimServer,
    r: Reconciler,
    value: Arc<Mutex<Option<f64>>>,
}

fn machine(state: &str, group: &str) -> SeedMachine {
    SeedMachine {
        region: "iad".into(),
        state: state.into(),
        process_group: group.into(),
    }
}

async fn rig(
    machines: Vec<SeedMachine>,
    exprs: CountExprs,
    tweak: impl FnOnce(&mut PlanOptions),
) -> Rig {
    let opts = SimOptions {
        latencies: Latencies {
            create_ms: 30,
            start_ms: 20,
            stop_ms: 20,
            destroy_ms: 20,
        },
        rate_limits: false,
        ..SimOptions::default()
    };
    let server = sim::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), opts)
        .await
        .unwrap();
    server
        .sim
        .seed(&Seed {
            apps: vec![SeedApp {
                org: "acme".into(),
                name: "web".into(),
                machines,
            }],
        })
        .unwrap();
    let fly = FlyClient::new(ClientOptions {
        request_timeout: Duration::from_secs(2),
        max_retries: 1,
        rate_limit: false,
        ..ClientOptions::for_base(&server.url(), Secret::new("FlyV1 fm2_t"))
    })
    .unwrap();
    let policy = PolicyHandle::spawn(move || {
        Policy::from_exprs(&exprs, &["q".to_string()], Limits::default())
    })
    .unwrap();
    let value = Arc::new(Mutex::new(Some(0.0)));
    let mut plan = PlanOptions {
        process_group: "app".into(),
        regions: vec![],
        create_stopped: false,
    };
    tweak(&mut plan);
    let r = Reconciler::new(
        Arc::new(fly),
        vec![Arc::new(Fixed {
            value: value.clone(),
        })],
        policy,
        plan,
        Duration::from_secs(3),
        Duration::from_secs(15),
        Arc::new(FakeClock::new(1_000.0)),
        Arc::new(Metrics::default()),
    );
    Rig { server, r, value }
}

fn started(e: &str) -> CountExprs {
    CountExprs {
        min_started: Some(e.into()),
        max_started: Some(e.into()),
        ..Default::default()
    }
}
fn created(e: &str) -> CountExprs {
    CountExprs {
        min_created: Some(e.into()),
        max_created: Some(e.into()),
        ..Default::default()
    }
}

impl Rig {
    fn set(&self, v: f64) {
        *self.value.lock().unwrap() = Some(v);
    }
    /// Machines of the app by state, after transitions settle.
    async fn states(&self) -> Vec<(String, String, String)> {
        tokio::time::sleep(Duration::from_millis(80)).await;
        let mut w = self.server.sim.world.lock().unwrap();
        w.settle(tokio::time::Instant::now());
        let mut v: Vec<_> = w.apps["web"]
            .machines
            .iter()
            .filter(|m| m.state != "destroyed")
            .map(|m| (m.id.clone(), m.state.clone(), m.region.clone()))
            .collect();
        v.sort();
        v
    }
    async fn count(&self, state: &str) -> usize {
        self.states()
            .await
            .iter()
            .filter(|(_, s, _)| s == state)
            .count()
    }
    fn requests(&self, key: &str) -> u64 {
        self.server.sim.request_count(key)
    }
}

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
            ("ams".into(), "stopped".into()),
            ("ams".into(), "stopped".into()),
            ("ord".into(), "stopped".into())
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
    assert_eq!(rig.states().await.len(), 1);
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
        .lock()
        .unwrap()
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
        .lock()
        .unwrap()
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
        .lock()
        .unwrap()
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
