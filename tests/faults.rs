//! The fault matrix (src/faults): every row, run against the simulator next to a
//! healthy app, must end with zero invariant violations. `fas bench faults` prints the
//! same rows as figures.

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fault_breaks_an_invariant() {
    let mut tasks = Vec::new();
    for row in fas::faults::rows() {
        tasks.push(tokio::spawn(async move {
            fas::faults::run_row(&row, 6, Duration::from_millis(100)).await
        }));
    }
    let mut report = Vec::new();
    let mut total = 0;
    for t in tasks {
        let r = t.await.unwrap();
        total += r.violations.len();
        assert!(r.rounds == 6, "{}: {} rounds", r.name, r.rounds);
        report.push(format!(
            "{}: {} faults, {} actions, violations {:?}",
            r.name, r.faults_injected, r.actions, r.violations
        ));
    }
    assert_eq!(total, 0, "\n{}", report.join("\n"));
    assert!(report.len() >= 30);
}

/// A create still in flight when the round's deadline cuts it counts as failed (its
/// outcome is unknown, as a timed-out create's is): before, it was counted nowhere,
/// and the matrix row "create times out but succeeded" failed on a loaded machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_cut_by_the_round_deadline_counts_as_failed() {
    use fas::config::Secret;
    use fas::fly::{ClientOptions, FlyClient};
    use fas::policy::{Limits, Policy, PolicyHandle};
    use fas::reconcile::{PlanOptions, Reconciler};
    use fas::sim::{FaultRule, Latencies, Seed, SeedApp, SeedMachine, SimOptions};
    use std::sync::Arc;

    let opts = SimOptions {
        latencies: Latencies::instant(5),
        rate_limits: false,
        faults: vec![FaultRule {
            action: "create".into(),
            hang: true,
            apply_first: true,
            ..FaultRule::default()
        }],
        ..SimOptions::default()
    };
    let s = fas::sim::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    let one = SeedMachine {
        region: "iad".into(),
        state: "started".into(),
        process_group: "app".into(),
    };
    s.sim
        .seed(&Seed {
            apps: vec![SeedApp {
                org: "acme".into(),
                name: "w".into(),
                machines: vec![one],
            }],
        })
        .unwrap();
    let fly = FlyClient::new(ClientOptions {
        request_timeout: Duration::from_secs(30),
        max_retries: 0,
        rate_limit: false,
        ..ClientOptions::for_base(&s.url(), Secret::new("FlyV1 fm2_x"))
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.lua");
    std::fs::write(&path, "function scale(m, app) return { created = 2 } end\n").unwrap();
    let policy = PolicyHandle::spawn(move || {
        Policy::from_file(&path, &serde_json::json!({}), Limits::default())
    })
    .unwrap();
    let plan = PlanOptions {
        process_group: "app".into(),
        regions: vec![],
        create_stopped: false,
        suspend: false,
    };
    let metrics = Arc::new(fas::telemetry::Metrics::default());
    let reconciler = Reconciler::new(
        Arc::new(fly),
        vec![],
        policy,
        plan,
        Duration::from_millis(500),
        Duration::from_secs(15),
        Arc::new(fas::clock::SystemClock),
        metrics.clone(),
    );
    let err = reconciler.reconcile("w").await.unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    let count = |status| metrics.counter("fas_machine_create_count", &[("status", status)]);
    assert_eq!((count("ok"), count("failed")), (0, 1));
}
