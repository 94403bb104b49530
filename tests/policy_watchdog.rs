//! The policy watchdog: a decision that overruns every bound of the sandbox (here a
//! Lua loop with the budget and deadline switched off) quarantines its app, and the
//! other apps go on deciding on a fresh Lua state restored from their last good
//! states; saving states still works.

use std::time::{Duration, Instant};

use fas::policy::{Limits, Policy, PolicyError, PolicyHandle};
use serde_json::json;

const POLICY: &str = r#"
function scale(metrics, app)
  if app.name == "stuck" then while true do end end
  app.state.n = (app.state.n or 0) + 1
  return { started = app.state.n }
end
"#;

mod support;

use support::sched::decision;

/// The policy above with the sandbox's own bounds switched off, so only the watchdog
/// (300 ms) can end a stuck decision.
fn unbounded(dir: &tempfile::TempDir) -> PolicyHandle {
    let path = dir.path().join("policy.lua");
    std::fs::write(&path, POLICY).unwrap();
    let unbounded = Limits {
        instructions: u64::MAX / 2,
        deadline: Duration::from_secs(3600),
        ..Limits::default()
    };
    let build = move || Policy::from_file(&path, &json!({}), unbounded);
    PolicyHandle::spawn_watched(build, Duration::from_millis(300)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_decision_quarantines_its_app_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let policy = unbounded(&dir);
    let started = |t: fas::policy::Targets| t.started.and_then(|b| b.min);
    assert_eq!(
        started(policy.decide(decision("good")).await.unwrap()),
        Some(1)
    );
    assert_eq!(
        started(policy.decide(decision("good")).await.unwrap()),
        Some(2)
    );

    let t = Instant::now();
    let e = policy.decide(decision("stuck")).await.unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    assert!(
        matches!(&e, PolicyError::Quarantined { app, policy, .. } if app == "stuck" && policy.ends_with("policy.lua")),
        "{e}"
    );
    assert!(e.to_string().contains("quarantined"), "{e}");

    // A fresh state, restored from the last good one: the count goes on at 3.
    assert_eq!(
        started(policy.decide(decision("good")).await.unwrap()),
        Some(3)
    );
    let t = Instant::now();
    assert!(matches!(
        policy.decide(decision("stuck")).await,
        Err(PolicyError::Quarantined { .. })
    ));
    assert!(t.elapsed() < Duration::from_millis(50), "no second try");
    let states = policy.states().await.unwrap();
    assert_eq!(states["good"], json!({"n": 3}));
    assert_eq!(policy.quarantined().len(), 1);
}

/// Through the real scheduler: the stuck app is quarantined (metric and error), the
/// healthy one is still scaled every round, and the scheduler stops promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_goes_on_around_a_stuck_app() {
    let server = support::sched::fleet("acme/good=1,acme/stuck=1").await;
    let dir = tempfile::tempdir().unwrap();
    let policy = unbounded(&dir);
    let timing = (Duration::from_millis(200), 1, Duration::from_secs(4));
    let reconciler =
        support::sched::run_wildcard(&server.url(), vec![], policy.clone(), timing).await;
    let m = &reconciler.metrics;
    assert!(m
        .render()
        .contains("fas_policy_quarantined{app=\"stuck\"} 1"));
    // With one round at a time, the stuck app held everything for one watchdog
    // period only: the good app went on deciding (its count is its rounds).
    let states = policy.states().await.unwrap();
    let rounds = states["good"]["n"].as_f64().unwrap();
    assert!(
        rounds >= 8.0,
        "the good app decided only {rounds} times in 4 s"
    );
    assert!(m.counter("fas_policy_errors_total", &[("app", "stuck")]) >= 5);
}
