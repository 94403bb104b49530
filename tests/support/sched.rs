//! The real scheduler over every app of org `acme` in a simulator, for tests that
//! attack one app and check the others go on.

use std::sync::Arc;
use std::time::Duration;

use fas::collect::Collector;
use fas::config::Secret;
use fas::fly::{ClientOptions, FlyClient};
use fas::policy::{Decision, MachineCounts, PolicyHandle};
use fas::reconcile::{scheduler::STATE_GRACE, Apps, PlanOptions, Reconciler, Scheduler};

/// A decision for `app` with no metrics and no Machines.
pub fn decision(app: &str) -> Decision {
    Decision {
        app: app.into(),
        now: 0.0,
        interval_secs: 15.0,
        round: fas::policy::Round::Full,
        machines: MachineCounts::default(),
        metrics: vec![],
        errors: vec![],
        list: vec![],
    }
}

/// Runs the scheduler over `acme/*` at `base` for `run`, then stops it (which must
/// take less than 5 s) and returns the reconciler, for its metrics.
pub async fn run_wildcard(
    base: &str,
    collectors: Vec<Arc<dyn Collector>>,
    policy: PolicyHandle,
    (interval, concurrency, run): (Duration, usize, Duration),
) -> Arc<Reconciler> {
    let fly = Arc::new(
        FlyClient::new(ClientOptions {
            rate_limit: false,
            ..ClientOptions::for_base(base, Secret::new("FlyV1 fm2_t"))
        })
        .unwrap(),
    );
    let plan = PlanOptions {
        process_group: "app".into(),
        regions: vec![],
        create_stopped: false,
        suspend: false,
    };
    let reconciler = Arc::new(Reconciler::new(
        fly.clone(),
        collectors,
        policy,
        plan,
        Duration::from_secs(5),
        interval,
        Arc::new(fas::clock::SystemClock),
        Arc::new(fas::telemetry::Metrics::default()),
    ));
    let scheduler = Scheduler {
        reconciler: reconciler.clone(),
        fly,
        apps: Apps::Matching {
            org: "acme".into(),
            pattern: glob::Pattern::new("*").expect("a constant, valid pattern"),
        },
        interval,
        refresh_interval: Duration::from_secs(60),
        concurrency,
        grace: STATE_GRACE,
        watch: fas::config::Watch::off(),
        pokes: None,
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(scheduler.run(rx));
    tokio::time::sleep(run).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the scheduler stops within 5 s")
        .unwrap();
    reconciler
}

/// A simulator with fast exact transitions and no rate limits, seeded from `spec`
/// (`acme/web=1,…`; see `Seed::parse_spec`).
pub async fn fleet(spec: &str) -> fas::sim::SimServer {
    let opts = fas::sim::SimOptions {
        latencies: fas::sim::Latencies::instant(20),
        rate_limits: false,
        ..fas::sim::SimOptions::default()
    };
    let server = fas::sim::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    let seed = fas::sim::Seed::parse_spec(spec).unwrap();
    server.sim.seed(&seed).unwrap();
    server
}

/// Machines of `app` in `state` now (transitions settled up to this instant).
pub fn count(s: &fas::sim::SimServer, app: &str, state: &str) -> usize {
    let in_state =
        |a: &fas::sim::world::SimApp| a.machines.iter().filter(|m| m.state == state).count();
    s.sim.world.read_app(app, in_state).unwrap()
}

/// Polls `ok` every 100 ms for up to 30 s; panics naming `what`.
pub async fn wait_until(what: &str, ok: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waited 30 s for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
