//! The fast path through the real binary: `fas serve` against the simulator at its
//! default (realistic) latencies and a real redis-server. A growing Redis list
//! resumes a suspended Machine and starts a stopped one between full rounds (the
//! acting round says `watch`); a falling list is acted on only at the full round; a
//! steady app's request log holds one list per interval and nothing else; a poke acts
//! at once with watch steps off; an Alertmanager payload pokes the right app and no
//! other. Reaction times are printed (the figures are `fas bench reaction`'s).

mod support;

use std::time::{Duration, Instant};

use fas::sim::{Seed, SeedApp, SeedMachine, SimOptions, SimServer};
use serde_json::Value;
use support::served::Served;
use support::servers::{self, redis_cli};

const PASSWORD: &str = "r3dis-w4tch";

async fn sim(apps: &[(&str, &[&str])]) -> SimServer {
    let server = fas::sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default())
        .await
        .unwrap();
    let seed = Seed {
        apps: apps
            .iter()
            .map(|(name, states)| SeedApp {
                org: "acme".into(),
                name: name.to_string(),
                machines: states
                    .iter()
                    .map(|s| SeedMachine {
                        region: "iad".into(),
                        state: s.to_string(),
                        process_group: "app".into(),
                    })
                    .collect(),
            })
            .collect(),
    };
    server.sim.seed(&seed).unwrap();
    server
}

fn started(s: &SimServer, app: &str) -> usize {
    let started =
        |a: &fas::sim::world::SimApp| a.machines.iter().filter(|m| m.state == "started").count();
    s.sim.world.read_app(app, started).unwrap()
}

async fn until(what: &str, limit: Duration, ok: impl Fn() -> bool) -> Duration {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < limit, "waited {limit:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t0.elapsed()
}

/// The app's recorded rounds (full ones and acting watch steps), oldest first.
async fn rounds(fas: &Served, app: &str) -> Vec<Value> {
    fas.json(&format!("/api/apps/{app}"))
        .await
        .get("rounds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn actions(log: &[Value], app: &str) -> Vec<String> {
    log.iter()
        .filter(|e| e["app"] == app)
        .map(|e| e["action"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn sim_log(s: &SimServer) -> Vec<Value> {
    let body = reqwest::get(format!("{}/__sim/log", s.url()))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    body.as_array().cloned().unwrap_or_default()
}

/// A real redis-server, and `fas serve` reading `LLEN queue:$APP_NAME` from it as
/// `queue` (policy: `1 + queue` started), with `env` on top. None without a redis-server
/// (outside CI).
async fn serve_on_redis(
    sim: &SimServer,
    env: &[(&str, &str)],
    dir: &std::path::Path,
) -> Option<(servers::Server, Served)> {
    let redis = tokio::task::spawn_blocking(|| servers::redis(PASSWORD, None))
        .await
        .unwrap()?;
    let addr = format!("redis://:{PASSWORD}@{}", redis.url);
    let mut all = vec![
        ("FAS_REDIS_ADDRESS", addr.as_str()),
        ("FAS_REDIS_METRIC_NAME", "queue"),
        ("FAS_REDIS_COMMAND", "LLEN queue:$APP_NAME"),
        ("FAS_STARTED_MACHINE_COUNT", "1 + queue"),
    ];
    all.extend_from_slice(env);
    let fas = Served::start(&sim.url(), &all, &[], dir);
    Some((redis, fas))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_gets_its_worker_between_rounds_and_loses_it_only_at_a_round() {
    let sim = sim(&[("web", &["started", "suspended", "stopped"])]).await;
    let dir = tempfile::tempdir().unwrap();
    let env = [("FAS_APP_NAME", "web"), ("FAS_INTERVAL", "12s")];
    let Some((redis, fas)) = serve_on_redis(&sim, &env, dir.path()).await else {
        return;
    };
    fas.wait_for("/api/apps", "the first round", |v| v["total"] == 1)
        .await;
    let v = fas.json("/api/apps").await;
    assert_eq!(v["apps"][0]["watch_period_secs"], 1.0, "{v}");

    // A job: the suspended Machine resumes, long before the next round.
    redis_cli(&redis, PASSWORD, &["RPUSH", "queue:web", "job-1"]);
    let resumed = until("a resume", Duration::from_secs(8), || {
        started(&sim, "web") == 2
    })
    .await;
    // Another: the stopped one starts.
    redis_cli(&redis, PASSWORD, &["RPUSH", "queue:web", "job-2"]);
    let booted = until("a start", Duration::from_secs(8), || {
        started(&sim, "web") == 3
    })
    .await;
    eprintln!("reaction: resume {resumed:?}, start {booted:?} (watch 1 s, interval 12 s)");
    let acted: Vec<(String, String)> = rounds(&fas, "web")
        .await
        .iter()
        .filter(|r| r["action"] != "no_scale")
        .map(|r| {
            (
                r["round"].as_str().unwrap().into(),
                r["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        acted,
        [
            ("watch".into(), "start".into()),
            ("watch".into(), "start".into())
        ],
        "both starts came from watch steps"
    );

    // The queue drains: nothing is stopped until a full round.
    redis_cli(&redis, PASSWORD, &["DEL", "queue:web"]);
    until("the scale-down", Duration::from_secs(30), || {
        started(&sim, "web") == 1
    })
    .await;
    let down: Vec<Value> = rounds(&fas, "web")
        .await
        .into_iter()
        .filter(|r| r["action"] == "stop")
        .collect();
    assert!(
        !down.is_empty() && down.iter().all(|r| r["round"] == "full"),
        "{down:?}"
    );

    // Steady: one list per interval and nothing else, while watch steps go on.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = sim_log(&sim).await.len();
    let steps = fas
        .metric("fas_watch_steps_total{result=\"steady\"}")
        .await
        .unwrap_or(0.0);
    tokio::time::sleep(Duration::from_secs(24)).await;
    let log = sim_log(&sim).await;
    let calls = actions(&log[before..], "web");
    assert!(
        (2..=3).contains(&calls.len()) && calls.iter().all(|a| a == "list"),
        "a steady app over two intervals: {calls:?}"
    );
    let more = fas
        .metric("fas_watch_steps_total{result=\"steady\"}")
        .await
        .unwrap_or(0.0);
    assert!(
        more - steps >= 15.0,
        "watch steps ran meanwhile: {steps} -> {more}"
    );
    let text = fas.stop();
    assert!(!text.contains(PASSWORD), "the Redis password never shows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pokes_act_at_once_and_alertmanager_pokes_only_the_apps_it_names() {
    let sim = sim(&[
        ("web-1", &["started", "stopped"]),
        ("web-2", &["started", "stopped"]),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let token = "poke-t0ken-s3cret";
    let env = [
        ("FAS_APP_NAME", "web-*"),
        ("FAS_ORG", "acme"),
        ("FAS_INTERVAL", "60s"),
        ("FAS_WATCH_INTERVAL", "0"),
        ("FAS_POKE_TOKEN", token),
    ];
    let Some((redis, fas)) = serve_on_redis(&sim, &env, dir.path()).await else {
        return;
    };
    let http = reqwest::Client::new();
    let post = |path: &str, auth: Option<&str>, body: Option<Value>| {
        let mut r = http.post(format!("{}{path}", fas.base));
        if let Some(a) = auth {
            r = r.bearer_auth(a);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    fas.wait_for("/api/apps", "both apps' first rounds", |v| v["total"] == 2)
        .await;
    assert_eq!(
        fas.json("/api/apps").await["apps"][0]["watch_period_secs"],
        Value::Null
    );

    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(
        status(post("/v1/apps/web-1/poke", None, None).await.unwrap()),
        401
    );
    assert_eq!(
        status(
            post("/v1/apps/web-1/poke", Some("wrong"), None)
                .await
                .unwrap()
        ),
        401
    );
    assert_eq!(
        status(post("/v1/apps/nope/poke", Some(token), None).await.unwrap()),
        404
    );

    // A job for web-1, then a poke: it starts at once (the next round is a minute off).
    redis_cli(&redis, PASSWORD, &["RPUSH", "queue:web-1", "job"]);
    let t0 = Instant::now();
    assert_eq!(
        status(
            post("/v1/apps/web-1/poke", Some(token), None)
                .await
                .unwrap()
        ),
        202
    );
    let again = post("/v1/apps/web-1/poke", Some(token), None)
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 429, "rate-limited per app");
    assert!(again.headers().contains_key("retry-after"));
    until("the poked start", Duration::from_secs(10), || {
        started(&sim, "web-1") == 2
    })
    .await;
    eprintln!("poke to started: {:?}", t0.elapsed());

    // Jobs for both; Alertmanager fires for web-2 only (web-1's alert resolved).
    redis_cli(&redis, PASSWORD, &["RPUSH", "queue:web-1", "job-2"]);
    redis_cli(&redis, PASSWORD, &["RPUSH", "queue:web-2", "job"]);
    let hook = serde_json::json!({
        "version": "4", "status": "firing", "receiver": "fas", "groupKey": "{}:{}",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "QueueGrowing", "app": "web-2"}},
            {"status": "resolved", "labels": {"alertname": "QueueGrowing", "app": "web-1"}},
            {"status": "firing", "labels": {"alertname": "QueueGrowing", "app": "other"}},
        ]
    });
    assert_eq!(
        status(
            post("/v1/alertmanager", None, Some(hook.clone()))
                .await
                .unwrap()
        ),
        401
    );
    let answer: Value = post("/v1/alertmanager", Some(token), Some(hook))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["poked"], serde_json::json!(["web-2"]), "{answer}");
    assert_eq!(answer["unknown"], serde_json::json!(["other"]), "{answer}");
    until("web-2's start", Duration::from_secs(10), || {
        started(&sim, "web-2") == 2
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        started(&sim, "web-1"),
        2,
        "web-1 was not poked: it waits for its round"
    );
    let bad = post("/v1/alertmanager", Some(token), None).await.unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let text = fas.stop();
    assert!(!text.contains(token), "the poke token never shows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_the_push_endpoints_are_off() {
    let sim = sim(&[("web", &["started"])]).await;
    let dir = tempfile::tempdir().unwrap();
    let fas = Served::start(
        &sim.url(),
        &[("FAS_APP_NAME", "web"), ("FAS_STARTED_MACHINE_COUNT", "1")],
        &[],
        dir.path(),
    );
    fas.wait_for("/api/apps", "the first round", |v| v["total"] == 1)
        .await;
    let r = reqwest::Client::new()
        .post(format!("{}/v1/apps/web/poke", fas.base))
        .bearer_auth("anything")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.text().await.unwrap().contains("FAS_POKE_TOKEN"));
}
