//! Policy state that JSON cannot hold, or only too deep: one bad app never stops the
//! others from being saved, it keeps its last good state, and what fas writes it can
//! always read back.

use std::time::Duration;

use fas::policy::{Limits, MachineCounts, Policy, PolicyHandle};
use fas::reconcile::state;
use serde_json::json;

const POLICY: &str = r#"
function scale(metrics, app)
  app.state.n = (app.state.n or 0) + 1
  if app.name == "bad" and app.state.n > 1 then app.state.f = function() end end
  if app.name == "deep" and app.state.n > 1 then
    local t = app.state
    for i = 1, tonumber(app.name == "deep" and 5000) do t.x = {} t = t.x end
  end
  return { started = 1 }
end
"#;

mod support;

use support::sched::decision;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_state_never_keeps_the_others_from_being_saved() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.lua");
    std::fs::write(&path, POLICY).unwrap();
    let build = move || Policy::from_file(&path, &json!({}), Limits::default());
    let policy = PolicyHandle::spawn_watched(build, Duration::from_secs(3)).unwrap();
    for app in ["good", "bad", "deep", "good", "bad", "deep"] {
        policy.decide(decision(app)).await.unwrap();
    }
    let states = policy.states().await.unwrap();
    assert_eq!(states["good"], json!({"n": 2}));
    assert_eq!(states["bad"], json!({"n": 1}), "its last good state");
    assert_eq!(states["deep"], json!({"n": 1}), "its last good state");
    let file = dir.path().join("state.json");
    state::save(&file, &states).unwrap();
    assert_eq!(
        state::load(&file).unwrap(),
        states,
        "what fas writes it reads back"
    );
}

/// The deepest state mlua turns into JSON must load again from the file.
#[test]
fn the_save_and_load_nesting_limits_agree() {
    for depth in [50, 100, 120, 125, 126, 127, 128, 130, 200] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.lua");
        std::fs::write(
            &path,
            format!("function scale(m, app)\n local t = app.state\n for i = 1, {depth} do t.x = {{}} t = t.x end\n return {{ started = 1 }}\nend\n"),
        )
        .unwrap();
        let mut p = Policy::from_file(&path, &json!({}), Limits::default()).unwrap();
        let machines = MachineCounts::default();
        p.decide(&fas::policy::AppInput {
            name: "a",
            now: 0.0,
            interval_secs: 15.0,
            round: fas::policy::Round::Full,
            machines: &machines,
            metrics: &[],
        })
        .unwrap();
        let (states, bad) = p.states_json().unwrap();
        let file = dir.path().join("state.json");
        state::save(&file, &states).unwrap();
        let loaded = state::load(&file);
        assert!(
            loaded.is_ok(),
            "depth {depth}: fas wrote a file it cannot read: {loaded:?}"
        );
        // Up to the limit it is saved; past it the app is named, not the whole file lost.
        assert_eq!(states.len() + bad.len(), 1, "depth {depth}");
        if depth < fas::policy::MAX_STATE_DEPTH {
            assert_eq!(states.len(), 1, "depth {depth}");
        } else {
            assert!(bad[0].to_string().contains("app a"), "{}", bad[0]);
        }
    }
}

/// Reading and restoring states gets a budget of its own: long after the last
/// decision (past the policy's deadline), with many apps, both still work. (They ran
/// on what was left of the last decision's deadline, and failed once it was over.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_are_read_and_restored_long_after_the_last_decision() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.lua");
    std::fs::write(&path, POLICY).unwrap();
    let limits = Limits {
        deadline: Duration::from_millis(50),
        ..Limits::default()
    };
    let build = move || Policy::from_file(&path, &json!({}), limits);
    let policy = PolicyHandle::spawn_watched(build, Duration::from_secs(3)).unwrap();
    let apps: Vec<String> = (0..3000).map(|i| format!("app-{i}")).collect();
    for app in &apps {
        policy.decide(decision(app)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let states = policy.states().await.unwrap();
    assert_eq!(states.len(), apps.len());
    tokio::time::sleep(Duration::from_millis(200)).await;
    policy.restore(states.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(policy.states().await.unwrap(), states);
}
