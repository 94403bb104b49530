//! Scale-down without killing work, through the real binary against the simulator:
//! a Machine that protects itself (`fas-protect=true`, set and cleared with the
//! metadata endpoint as a worker would) is never stopped; stops carry the drain
//! settings and come after a cordon; a started Machine is stopped before it is
//! destroyed, with stops slower than the interval; pause by config and by a
//! Machine's `fas-pause` metadata, picked up within a round.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::drain::{fleet, machines, metadata};
use support::sched::{count, wait_until};
use support::served::Served;

/// PromQL giving one sample per Machine, its ID in the `instance` label (as Fly's
/// managed Prometheus labels a Machine's series).
fn per_machine(values: &[(&str, u32)]) -> String {
    values
        .iter()
        .map(|(id, v)| format!("label_replace(vector({v}), \"instance\", \"{id}\", \"\", \"\")"))
        .collect::<Vec<_>>()
        .join(" or ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_worker_is_kept_and_the_others_drain_as_configured() {
    let sim = fleet("acme/web=4", 20).await;
    let busy = machines(&sim, "web")[1].0.clone();
    metadata(&sim, "web", &busy, "fas-protect", Some("true")).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "0"),
        ("FAS_INTERVAL", "300ms"),
        ("FAS_STOP_SIGNAL", "SIGTERM"),
        ("FAS_STOP_TIMEOUT", "90s"),
        ("FAS_CORDON_BEFORE_STOP", "true"),
    ];
    let fas = Served::start(&sim.url(), &env, &[], dir.path());
    wait_until("three stopped", || count(&sim, "web", "stopped") == 3).await;
    let v = fas
        .wait_for("/api/apps", "a round held by protection", |v| {
            v["apps"][0]["last"]["held_by_protection"] == 1 && v["apps"][0]["last"]["started"] == 1
        })
        .await;
    assert_eq!(v["apps"][0]["last"]["action"], "no_scale", "{v}");
    for (id, state, cordoned, stop) in machines(&sim, "web") {
        if id == busy {
            assert_eq!((state.as_str(), cordoned, stop), ("started", false, None));
        } else {
            assert_eq!(state, "stopped");
            assert!(cordoned, "{id} cordoned before its stop");
            assert_eq!(
                stop,
                Some(json!({"id": id, "timeout": "90s", "signal": "SIGTERM"}))
            );
        }
    }
    assert!(fas.metric("fas_protection_held_total{app=\"web\"}").await >= Some(1.0));
    // The job done, the worker clears its mark: the next rounds stop it too.
    metadata(&sim, "web", &busy, "fas-protect", None).await;
    wait_until("all stopped", || count(&sim, "web", "stopped") == 4).await;
    let log = fas.stop();
    assert!(log.contains("held a scale-down back"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_started_machine_is_stopped_before_it_is_destroyed() {
    // Stops take 1.5 s, five intervals: the drain spans rounds.
    let sim = fleet("acme/web=3", 1500).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FAS_APP_NAME", "web"),
        ("FAS_CREATED_MACHINE_COUNT", "1"),
        ("FAS_INTERVAL", "300ms"),
        ("FAS_STOP_TIMEOUT", "30s"),
    ];
    let fas = Served::start(&sim.url(), &env, &[], dir.path());
    wait_until("two destroyed", || machines(&sim, "web").len() == 1).await;
    // Some more rounds: nothing else goes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(machines(&sim, "web").len(), 1);
    assert_eq!(count(&sim, "web", "started"), 1);
    let log = fas.stop();
    let entries: Vec<Value> = reqwest::get(format!("{}/__sim/log", sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id_of = |e: &Value| {
        e["path"]
            .as_str()
            .unwrap()
            .split('/')
            .nth(5)
            .unwrap_or("")
            .to_string()
    };
    let calls: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e["status"] == 200 && matches!(e["action"].as_str(), Some("stop" | "destroy")))
        .map(|e| (e["action"].as_str().unwrap().to_string(), id_of(e)))
        .collect();
    let destroyed: Vec<&String> = calls
        .iter()
        .filter(|c| c.0 == "destroy")
        .map(|c| &c.1)
        .collect();
    assert_eq!(destroyed.len(), 2, "{calls:?}");
    for id in destroyed {
        let stop = calls.iter().position(|c| c.0 == "stop" && c.1 == *id);
        let destroy = calls.iter().position(|c| c.0 == "destroy" && c.1 == *id);
        assert!(stop < destroy && stop.is_some(), "{id}: {calls:?}");
    }
    assert_eq!(
        calls.iter().filter(|c| c.0 == "stop").count(),
        2,
        "only the two drained: {calls:?}"
    );
    assert!(log.contains("drained Machine destroyed"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_by_config_and_by_a_machines_metadata() {
    let sim = fleet("acme/web=3,acme/api=3", 20).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FAS_APP_NAME", "*"),
        ("FAS_ORG", "acme"),
        ("FAS_STARTED_MACHINE_COUNT", "1"),
        ("FAS_INTERVAL", "300ms"),
        ("FAS_PAUSE", "scale-out"),
    ];
    // A scale-in with scale-out paused goes ahead, but not for api, paused by metadata.
    let api0 = machines(&sim, "api")[0].0.clone();
    metadata(&sim, "api", &api0, "fas-pause", Some("scale-in")).await;
    let fas = Served::start(&sim.url(), &env, &[], dir.path());
    wait_until("web scaled in", || count(&sim, "web", "started") == 1).await;
    let v = fas
        .wait_for("/api/apps", "api paused", |v| {
            v["apps"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|a| a["name"] == "api" && a["last"]["skipped"] == "paused")
            })
        })
        .await;
    assert_eq!(count(&sim, "api", "started"), 3, "{v}");
    assert!(
        fas.metric("fas_reconcile_skipped_total{reason=\"paused\"}")
            .await
            >= Some(1.0)
    );
    // Cleared: the next round acts.
    metadata(&sim, "api", &api0, "fas-pause", None).await;
    wait_until("api scaled in", || count(&sim, "api", "started") == 1).await;
    let log = fas.stop();
    assert!(log.contains("paused: planned, not sent"), "{log}");
}

/// A per-Machine busy metric from a real Prometheus (`machine-label: instance`): the
/// busy worker — the one upstream's id order would stop first — keeps running.
#[cfg_attr(
    fas_no_prometheus,
    ignore = "needs prometheus here: apt-get install -y prometheus"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_busy_worker_is_not_the_one_stopped() {
    let Some(prom) = tokio::task::spawn_blocking(|| support::servers::prometheus(&[]))
        .await
        .unwrap()
    else {
        return;
    };
    let sim = fleet("acme/web=3", 20).await;
    let ids: Vec<String> = machines(&sim, "web").into_iter().map(|m| m.0).collect();
    // jobs_running per Machine: the lowest id is busy, the others idle.
    let query = per_machine(&[(&ids[0], 3), (&ids[1], 0), (&ids[2], 0)]);
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "1"),
        ("FAS_INTERVAL", "300ms"),
        ("FAS_PROMETHEUS_ADDRESS", prom.url.as_str()),
        ("FAS_PROMETHEUS_METRIC_NAME", "jobs_running"),
        ("FAS_PROMETHEUS_QUERY", query.as_str()),
        ("FAS_PROMETHEUS_MACHINE_LABEL", "instance"),
    ];
    let fas = Served::start(&sim.url(), &env, &[], dir.path());
    wait_until("one started", || count(&sim, "web", "started") == 1).await;
    let left = machines(&sim, "web");
    let running: Vec<&String> = left
        .iter()
        .filter(|m| m.1 == "started")
        .map(|m| &m.0)
        .collect();
    assert_eq!(running, [&ids[0]], "{left:?}");
    // The app's value is the sum over Machines.
    let v = fas.json("/api/apps/web").await;
    assert_eq!(v["rounds"][0]["metrics"][0][1], 3.0, "{v}");
    fas.stop();
}

/// The shipped worker policy (scripts/worker_drain.lua, fas.drain) with a per-Machine
/// `jobs_running` from a real Prometheus: it answers `stop_order` and `protect`, so
/// only the idle worker stops and the busy ones are kept, below the target if need be.
#[cfg_attr(
    fas_no_prometheus,
    ignore = "needs prometheus here: apt-get install -y prometheus"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_policy_stops_only_idle_workers() {
    let Some(prom) = tokio::task::spawn_blocking(|| support::servers::prometheus(&[]))
        .await
        .unwrap()
    else {
        return;
    };
    let sim = fleet("acme/web=3", 20).await;
    let ids: Vec<String> = machines(&sim, "web").into_iter().map(|m| m.0).collect();
    let jobs = per_machine(&[(&ids[0], 2), (&ids[1], 0), (&ids[2], 1)]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        support::repo().join("scripts/worker_drain.lua"),
        dir.path().join("worker_drain.lua"),
    )
    .unwrap();
    let yaml = format!(
        "app-name: web\ninterval: 300ms\npolicy: worker_drain.lua\n\
         policy-params: {{down_seconds: 0}}\nmetric-collectors:\n\
         \x20 - {{type: prometheus, metric-name: queue_depth, address: '{url}', query: 'vector(5)'}}\n\
         \x20 - {{type: prometheus, metric-name: jobs_running, address: '{url}', query: '{jobs}', machine-label: instance}}\n",
        url = prom.url,
        jobs = jobs.replace('\'', "''"),
    );
    std::fs::write(dir.path().join("fas.yml"), yaml).unwrap();
    let fas = Served::start(&sim.url(), &[], &["--config", "fas.yml"], dir.path());
    wait_until("the idle worker stopped", || {
        count(&sim, "web", "stopped") == 1
    })
    .await;
    let v = fas
        .wait_for("/api/apps/web", "a round held by the busy workers", |v| {
            v["rounds"]
                .as_array()
                .and_then(|r| r.last())
                .is_some_and(|r| r["held_by_protection"] == 1 && r["started"] == 2)
        })
        .await;
    let left = machines(&sim, "web");
    let stopped: Vec<&String> = left
        .iter()
        .filter(|m| m.1 == "stopped")
        .map(|m| &m.0)
        .collect();
    assert_eq!(stopped, [&ids[1]], "{left:?} {v}");
    fas.stop();
}
