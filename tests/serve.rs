//! `fas serve` end to end: the real binary against the simulator, /metrics, SIGTERM,
//! the state file across a restart; and the scheduler over 50 wildcard apps.

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fas::clock::SystemClock;
use fas::config::Secret;
use fas::fly::{ClientOptions, FlyClient};
use fas::policy::expr::CountExprs;
use fas::policy::{Limits, Policy, PolicyHandle};
use fas::reconcile::{Apps, PlanOptions, Reconciler, Scheduler};
use fas::sim::{self, Latencies, Seed, SeedApp, SeedMachine, SimOptions, SimServer};
use fas::telemetry::Metrics;
use support::sched::count;

const SECRET: &str = "FlyV1 fm2_SERVESECRET";

async fn sim_with(apps: Vec<SeedApp>) -> SimServer {
    let opts = SimOptions {
        latencies: Latencies {
            create_ms: 20,
            start_ms: 20,
            stop_ms: 20,
            destroy_ms: 20,
            ..Latencies::instant(20)
        },
        rate_limits: false,
        ..SimOptions::default()
    };
    let s = sim::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), opts)
        .await
        .unwrap();
    s.sim.seed(&Seed { apps }).unwrap();
    s
}

fn app(org: &str, name: &str, states: &[&str]) -> SeedApp {
    let machines = states
        .iter()
        .map(|s| SeedMachine {
            region: "iad".into(),
            state: s.to_string(),
            process_group: "app".into(),
        })
        .collect();
    SeedApp {
        org: org.into(),
        name: name.into(),
        machines,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn serve_cmd(s: &SimServer, dir: &std::path::Path, port: u16) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fas"));
    c.arg("serve")
        .env_clear()
        .env("FAS_APP_NAME", "web")
        .env("FAS_POLICY", dir.join("policy.lua"))
        .env("FAS_API_TOKEN", SECRET)
        .env("FAS_MACHINES_API_URL", s.url())
        .env("FAS_GRAPHQL_URL", format!("{}/graphql", s.url()))
        .env("FAS_INTERVAL", "200ms")
        .env("FAS_METRICS_ADDR", format!("127.0.0.1:{port}"))
        .env("FAS_STATE_PATH", dir.join("state.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn sigterm(pid: u32) {
    let ok = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scales_serves_metrics_and_keeps_state_across_a_restart() {
    let s = sim_with(vec![app("acme", "web", &["started", "stopped", "stopped"])]).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.lua"),
        "function scale(metrics, app)\n  app.state.rounds = (app.state.rounds or 0) + 1\n  return { started = 3, forecast = 42.5 }\nend\n",
    )
    .unwrap();
    let port = free_port();
    let child = serve_cmd(&s, dir.path(), port).spawn().unwrap();
    until("three started Machines", || {
        count(&s, "web", "started") == 3
    })
    .await;

    let http = reqwest::Client::new();
    let text = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("fas_reconcile_count{status=\"start\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("fas_machine_start_count{status=\"ok\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("fas_machines{app=\"web\",state=\"started\"}"),
        "{text}"
    );
    assert!(
        text.contains("fas_forecast{app=\"web\"} 42.5"),
        "a policy's forecast is exported: {text}"
    );
    assert!(!text.contains("SERVESECRET"));
    let health = http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());

    tokio::time::sleep(Duration::from_millis(500)).await;
    sigterm(child.id());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("fas serving") && stderr.contains("signal received"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("SERVESECRET"),
        "the token leaked into the log"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    let rounds = saved["apps"]["web"]["rounds"].as_f64().unwrap();
    assert!(rounds >= 2.0, "{saved}");

    // A restart picks the state up where it was left.
    let child = serve_cmd(&s, dir.path(), free_port()).spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    sigterm(child.id());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    assert!(
        again["apps"]["web"]["rounds"].as_f64().unwrap() > rounds,
        "{again}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_config_or_state_exits_1_and_touches_nothing() {
    let s = sim_with(vec![app("acme", "web", &["stopped"])]).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.lua"),
        "function scale(m, a) return { started = 1 } end\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("state.json"), "{broken").unwrap();
    let out = serve_cmd(&s, dir.path(), free_port()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("ERROR: state file") && stderr.contains("state.json"),
        "{stderr}"
    );

    let out = serve_cmd(&s, dir.path(), free_port())
        .env("FAS_STARTED_MACHINE_COUNT", "2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("are exclusive"));
    assert_eq!(
        s.sim.faults.lock().unwrap().log.len(),
        0,
        "no API call was made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_reconciles_every_matching_app_of_the_org() {
    let mut apps: Vec<SeedApp> = (1..=50)
        .map(|i| app("acme", &format!("w-{i}"), &["started", "stopped"]))
        .collect();
    apps.push(app("acme", "other", &["stopped"]));
    apps.push(app("beta", "w-x", &["stopped"]));
    let s = sim_with(apps).await;
    let fly = Arc::new(
        FlyClient::new(ClientOptions {
            request_timeout: Duration::from_secs(5),
            max_retries: 1,
            rate_limit: true,
            ..ClientOptions::for_base(&s.url(), Secret::new(SECRET))
        })
        .unwrap(),
    );
    let exprs = CountExprs {
        min_started: Some("2".into()),
        max_started: Some("2".into()),
        ..Default::default()
    };
    let policy =
        PolicyHandle::spawn(move || Policy::from_exprs(&exprs, &[], Limits::default())).unwrap();
    let plan = PlanOptions {
        process_group: "app".into(),
        regions: vec![],
        create_stopped: false,
        suspend: false,
    };
    let reconciler = Arc::new(Reconciler::new(
        fly.clone(),
        vec![],
        policy,
        plan,
        Duration::from_secs(5),
        Duration::from_millis(500),
        Arc::new(SystemClock),
        Arc::new(Metrics::default()),
    ));
    let scheduler = Scheduler {
        reconciler: reconciler.clone(),
        fly,
        apps: Apps::Matching {
            org: "acme".into(),
            pattern: glob::Pattern::new("w-*").expect("a constant, valid pattern"),
        },
        interval: Duration::from_millis(500),
        refresh_interval: Duration::from_secs(60),
        concurrency: 4,
        grace: Duration::from_secs(3600),
        watch: fas::config::Watch::off(),
        pokes: None,
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(scheduler.run(rx));
    until("all 50 apps at 2 started", || {
        (1..=50).all(|i| count(&s, &format!("w-{i}"), "started") == 2)
    })
    .await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the scheduler stops")
        .unwrap();
    assert_eq!(count(&s, "other", "started"), 0);
    assert_eq!(count(&s, "w-x", "started"), 0);
    assert_eq!(
        reconciler
            .metrics
            .counter("fas_reconcile_count", &[("status", "start")]),
        50
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_that_disappear_keep_their_state_for_the_grace_period() {
    let s = sim_with(vec![
        app("acme", "w-1", &["started"]),
        app("acme", "w-2", &["started"]),
    ])
    .await;
    let fly = Arc::new(
        FlyClient::new(ClientOptions {
            request_timeout: Duration::from_secs(5),
            max_retries: 1,
            rate_limit: false,
            ..ClientOptions::for_base(&s.url(), Secret::new(SECRET))
        })
        .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.lua");
    std::fs::write(
        &path,
        "function scale(m, app) app.state.seen = true return nil end\n",
    )
    .unwrap();
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
    let reconciler = Arc::new(Reconciler::new(
        fly.clone(),
        vec![],
        policy.clone(),
        plan,
        Duration::from_secs(5),
        Duration::from_millis(100),
        Arc::new(SystemClock),
        Arc::new(Metrics::default()),
    ));
    let scheduler = Scheduler {
        reconciler,
        fly,
        apps: Apps::Matching {
            org: "acme".into(),
            pattern: glob::Pattern::new("w-*").expect("a constant, valid pattern"),
        },
        interval: Duration::from_millis(100),
        refresh_interval: Duration::from_millis(150),
        concurrency: 2,
        grace: Duration::from_millis(600),
        watch: fas::config::Watch::off(),
        pokes: None,
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(scheduler.run(rx));
    let has = |states: &std::collections::BTreeMap<String, serde_json::Value>, app: &str| {
        states.contains_key(app)
    };
    for _ in 0..100 {
        if has(&policy.states().await.unwrap(), "w-2") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.sim.world.of("w-2").apps.remove("w-2");
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(
        has(&policy.states().await.unwrap(), "w-2"),
        "kept within the grace period"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    let states = policy.states().await.unwrap();
    assert!(!has(&states, "w-2") && has(&states, "w-1"), "{states:?}");
    stop.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_in_the_middle_of_a_round_finishes_it_and_exits_0() {
    let s = sim_with(vec![app("acme", "web", &["started", "stopped", "stopped"])]).await;
    // Every list call takes a second: SIGTERM lands while a round is in flight.
    s.sim.faults.lock().unwrap().rules = vec![fas::sim::FaultRule {
        action: "list".into(),
        delay_ms: 1000,
        ..Default::default()
    }];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.lua"),
        "function scale(metrics, app)\n  app.state.rounds = (app.state.rounds or 0) + 1\n  return { started = 3 }\nend\n",
    )
    .unwrap();
    let child = serve_cmd(&s, dir.path(), free_port()).spawn().unwrap();
    until("a list call in flight", || {
        s.sim.faults.lock().unwrap().injected > 0
    })
    .await;
    let sent = std::time::Instant::now();
    sigterm(child.id());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "bounded by the timeout"
    );
    // The round in flight was finished (its start calls made), and its state saved.
    until("the round's starts", || count(&s, "web", "started") == 3).await;
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    assert_eq!(saved["apps"]["web"]["rounds"], 1.0);
}
