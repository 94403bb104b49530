//! Operating `fas serve`, through the real binary against the simulator: shadow mode
//! (`FAS_DRY_RUN`) sends nothing that changes a Machine and plans exactly what a live
//! run does on the same fleet; SIGHUP reloads the configuration and the policy,
//! keeping every app's state, and rejects a broken one while the running one goes on.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::sched::count;
use support::served::Served;

const POLICY: &str = r#"
function scale(metrics, app)
  app.state.rounds = (app.state.rounds or 0) + 1
  return { started = 1 }
end
"#;

/// The newest round of `app` in /api/apps, when there is one.
fn last<'a>(v: &'a Value, app: &str) -> Option<&'a Value> {
    v["apps"]
        .as_array()?
        .iter()
        .find(|a| a["name"] == app)
        .map(|a| &a["last"])
}

/// The simulator's request log (method, path, action, status).
async fn sim_log(s: &fas::sim::SimServer) -> Vec<Value> {
    let v: Value = reqwest::get(format!("{}/__sim/log", s.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.as_array().unwrap().clone()
}

const MUTATING: &[&str] = &["create", "start", "stop", "suspend", "destroy", "lease"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_sends_nothing_and_plans_what_a_live_run_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.lua"), POLICY).unwrap();
    let env = [
        ("FAS_APP_NAME", "*"),
        ("FAS_ORG", "acme"),
        ("FAS_POLICY", "policy.lua"),
        ("FAS_INTERVAL", "300ms"),
        ("FAS_STATE_PATH", "state.json"),
    ];
    // The same seed, the same fleet: web has 3 started Machines, api 1.
    let shadow_sim = support::sched::fleet("acme/web=3,acme/api=1").await;
    let live_sim = support::sched::fleet("acme/web=3,acme/api=1").await;

    let mut dry_env = env.to_vec();
    dry_env.push(("FAS_DRY_RUN", "true"));
    let shadow = Served::start(&shadow_sim.url(), &dry_env, &[], dir.path());
    let seen = shadow
        .wait_for("/api/apps", "three shadow rounds of web", |v| {
            last(v, "web").is_some_and(|r| r["action"] == "stop")
                && last(v, "api").is_some()
                && v["mode"]["dry_run"] == true
        })
        .await;
    let planned = last(&seen, "web").unwrap()["planned"].clone();
    assert_eq!(planned.as_array().unwrap().len(), 2, "{seen}");
    assert_eq!(last(&seen, "web").unwrap()["dry_run"], true);
    assert_eq!(last(&seen, "api").unwrap()["action"], "no_scale");
    // Rounds go on, planning the same stop each time (nothing changed).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let history = shadow.json("/api/apps/web").await;
    let rounds = history["rounds"]
        .as_array()
        .unwrap_or_else(|| panic!("{history} {}", shadow.log()));
    assert!(rounds.len() >= 3, "{history}");
    assert!(rounds
        .iter()
        .all(|r| r["planned"] == planned && r["succeeded"] == 0));
    assert_eq!(shadow.metric("fas_dry_run ").await, Some(1.0));
    assert!(
        shadow
            .metric("fas_dry_run_actions_total{action=\"stop\"}")
            .await
            >= Some(3.0)
    );
    let log = shadow.stop();
    assert!(log.contains("dry run: planned, nothing sent"), "{log}");

    // Nothing that changes a Machine reached the simulator; the fleet is as seeded.
    let entries = sim_log(&shadow_sim).await;
    assert!(entries.iter().any(|e| e["action"] == "list"), "{entries:?}");
    let mutating: Vec<_> = entries
        .iter()
        .filter(|e| {
            MUTATING.contains(&e["action"].as_str().unwrap_or("")) || e["method"] == "DELETE"
        })
        .collect();
    assert!(mutating.is_empty(), "{mutating:?}");
    assert_eq!(count(&shadow_sim, "web", "started"), 3);
    // Policy state advanced as in a live run.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    assert!(
        state["apps"]["web"]["rounds"].as_f64().unwrap() >= 3.0,
        "{state}"
    );

    // The live run on the same fleet stops exactly the Machines the shadow planned.
    let live = Served::start(&live_sim.url(), &env, &[], dir.path());
    let seen = live
        .wait_for("/api/apps", "a live stop of web", |v| {
            last(v, "web").is_some_and(|r| r["action"] == "stop" && r["succeeded"] == 2)
        })
        .await;
    assert_eq!(last(&seen, "web").unwrap()["planned"], planned);
    assert_eq!(last(&seen, "web").unwrap()["dry_run"], false);
    live.stop();
    let stopped: Vec<String> = sim_log(&live_sim)
        .await
        .iter()
        .filter(|e| e["action"] == "stop" && e["status"] == 200)
        .map(|e| {
            e["path"]
                .as_str()
                .unwrap()
                .split('/')
                .nth(5)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(count(&live_sim, "web", "started"), 1);
    let mut want: Vec<String> = serde_json::from_value(planned).unwrap();
    let mut got = stopped.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "{stopped:?}");
}

/// The started target of web's newest round, when that round had no error.
fn target(v: &Value) -> Option<i64> {
    let r = last(v, "web")?;
    if !r["error"].is_null() {
        return None;
    }
    r["started_target"]["min"].as_i64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_keeping_state_and_rejects_what_is_broken() {
    let sim = support::sched::fleet("acme/web=4").await;
    let dir = tempfile::tempdir().unwrap();
    let (config, policy) = (dir.path().join("fas.yml"), dir.path().join("policy.lua"));
    let good_yaml = "app-name: web\npolicy: policy.lua\ninterval: 300ms\n";
    std::fs::write(&config, good_yaml).unwrap();
    std::fs::write(
        &policy,
        "function scale(m, app)\n  app.state.rounds = (app.state.rounds or 0) + 1\n  return { started = 3 }\nend\n",
    )
    .unwrap();
    let fas = Served::start(&sim.url(), &[], &["--config", "fas.yml"], dir.path());
    fas.wait_for("/api/apps", "target 3", |v| target(v) == Some(3))
        .await;

    // A new policy that needs the old one's state: it fails if the state was lost.
    std::fs::write(
        &policy,
        "function scale(m, app)\n  assert(app.state.rounds, 'state lost')\n  app.state.rounds = app.state.rounds + 1\n  return { started = 2 }\nend\n",
    )
    .unwrap();
    fas.signal("HUP");
    let v = fas
        .wait_for("/api/apps", "target 2 after the reload", |v| {
            target(v) == Some(2)
        })
        .await;
    assert_eq!(v["mode"]["reloads"], 1, "{v}");
    assert_eq!(
        fas.metric("fas_config_reloads_total{result=\"applied\"}")
            .await,
        Some(1.0)
    );

    // A broken config, then a broken policy: rejected, the running ones go on.
    std::fs::write(&config, format!("{good_yaml}interval: soon\n")).unwrap();
    fas.signal("HUP");
    let v = fas
        .wait_for("/api/apps", "the bad config rejected", |v| {
            !v["mode"]["last_reload_error"].is_null()
        })
        .await;
    let why = v["mode"]["last_reload_error"].as_str().unwrap().to_string();
    assert!(why.contains("fas.yml") || why.contains("interval"), "{why}");
    std::fs::write(&config, good_yaml).unwrap();
    std::fs::write(&policy, "function scale(m, app)\n  return {\nend\n").unwrap();
    fas.signal("HUP");
    let v = fas
        .wait_for("/api/apps", "the bad policy rejected", |v| {
            v["mode"]["last_reload_error"]
                .as_str()
                .is_some_and(|e| e.contains("policy.lua"))
        })
        .await;
    assert_eq!(
        v["mode"]["reloads"], 1,
        "rejected reloads are not counted as done"
    );
    assert_eq!(
        fas.metric("fas_config_reloads_total{result=\"rejected\"}")
            .await,
        Some(2.0)
    );
    assert_eq!(
        fas.metric("fas_config_last_reload_successful ").await,
        Some(0.0)
    );
    // Rounds after the rejections still run the second policy, without errors.
    let after = v["now"].as_f64().unwrap();
    fas.wait_for("/api/apps", "a round on the kept policy", |v| {
        last(v, "web").is_some_and(|r| r["at"].as_f64() > Some(after)) && target(v) == Some(2)
    })
    .await;
    // Fixed: applied, and the state still carries (rounds keeps counting).
    std::fs::write(
        &policy,
        "function scale(m, app)\n  assert(app.state.rounds > 2, 'state lost')\n  return { started = 1 }\nend\n",
    )
    .unwrap();
    fas.signal("HUP");
    fas.wait_for("/api/apps", "target 1", |v| target(v) == Some(1))
        .await;
    assert_eq!(
        fas.metric("fas_config_last_reload_successful ").await,
        Some(1.0)
    );
    let log = fas.stop();
    assert!(log.contains("reload rejected"), "{log}");
    assert!(log.contains("configuration reloaded"), "{log}");
    assert!(!log.contains("state lost"), "{log}");
    assert_eq!(count(&sim, "web", "started"), 1);
}

/// `FAS_RELOAD_ON_CHANGE=true`: editing the policy file is a reload, no signal needed; a
/// broken save is rejected once (not retried every check) and a fixed one applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_policy_file_reloads_when_asked() {
    let sim = support::sched::fleet("acme/web=3").await;
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.lua");
    let returning = |n: u32| format!("function scale(m, app)\n  return {{ started = {n} }}\nend\n");
    std::fs::write(&policy, returning(2)).unwrap();
    let env = [
        ("FAS_APP_NAME", "web"),
        ("FAS_POLICY", "policy.lua"),
        ("FAS_INTERVAL", "300ms"),
        ("FAS_RELOAD_ON_CHANGE", "true"),
    ];
    let fas = Served::start(&sim.url(), &env, &[], dir.path());
    fas.wait_for("/api/apps", "target 2", |v| target(v) == Some(2))
        .await;
    std::fs::write(&policy, "function scale(m, app)\n  return {{\nend\n").unwrap();
    fas.wait_for("/api/apps", "the broken save rejected", |v| {
        !v["mode"]["last_reload_error"].is_null()
    })
    .await;
    // Several checks later, it was not retried.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    assert_eq!(
        fas.metric("fas_config_reloads_total{result=\"rejected\"}")
            .await,
        Some(1.0)
    );
    std::fs::write(&policy, returning(1)).unwrap();
    let v = fas
        .wait_for("/api/apps", "target 1 from the saved file", |v| {
            target(v) == Some(1)
        })
        .await;
    assert_eq!(v["mode"]["reloads"], 1);
    let log = fas.stop();
    assert!(log.contains("a file changed"), "{log}");
    assert_eq!(count(&sim, "web", "started"), 1);
}
