//! The policy watchdog: a decision that overruns every bound of the sandbox (here a
//! Lua loop with the budget and deadline switched off) quarantines its app, and the
//! other apps go on deciding on a fresh Lua state restored from their last good
//! states; saving states still works.

use std::time::{Duration, Instant};

use fas::policy::{Decision, Limits, MachineCounts, Policy, PolicyError, PolicyHandle};
use serde_json::json;

const POLICY: &str = r#"
function scale(metrics, app)
  if app.name == "stuck" then while true do end end
  app.state.n = (app.state.n or 0) + 1
  return { started = app.state.n }
end
"#;

fn decision(app: &str) -> Decision {
    Decision {
        app: app.into(),
        now: 0.0,
        interval_secs: 15.0,
        machines: MachineCounts::default(),
        metrics: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_decision_quarantines_its_app_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.lua");
    std::fs::write(&path, POLICY).unwrap();
    let unbounded = Limits {
        instructions: u64::MAX / 2,
        deadline: Duration::from_secs(3600),
        ..Limits::default()
    };
    let build = move || Policy::from_file(&path, &json!({}), unbounded);
    let policy = PolicyHandle::spawn_watched(build, Duration::from_millis(300)).unwrap();
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
