//! The Redis collector against a real redis-server (Debian's) on 127.0.0.1, filled the
//! way job libraries fill it: a Sidekiq-style list, a BullMQ sorted set, a stream with a
//! consumer group's pending entries; plus a wrong password, a server down, one that
//! never answers, TLS required, nil answers, a write command refused, connection reuse,
//! and `fas eval` through the binary.

mod support;

use std::time::Duration;

use fas::collect::{redis::Redis, Collector};
use fas::config::CollectorConfig;
use support::servers::{self, redis_cli};
use support::{fas, repo, stderr, stdout};

const PASSWORD: &str = "r3dis-s3cret";

fn config(address: &str, command: &str) -> CollectorConfig {
    CollectorConfig {
        kind: "redis".into(),
        metric_name: "depth".into(),
        address: address.into(),
        command: command.into(),
        origin: "test".into(),
        ..CollectorConfig::default()
    }
}

async fn value(r: &Redis, app: &str) -> Result<f64, String> {
    r.collect(app).await.map_err(|e| e.to_string())
}

fn redis(c: &CollectorConfig) -> Redis {
    Redis::new(c, Duration::from_secs(2)).unwrap()
}

#[cfg_attr(
    fas_no_redis,
    ignore = "needs redis-server here: apt-get install -y redis-server"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_job_queues_on_a_real_server() {
    let Some(server) = tokio::task::spawn_blocking(|| servers::redis(PASSWORD, None))
        .await
        .unwrap()
    else {
        return;
    };
    for args in [
        &["RPUSH", "queue:web", "{\"class\":\"Mailer\"}", "{}", "{}"][..],
        &["ZADD", "bull:emails:delayed", "1", "a", "2", "b"],
        &["XADD", "events", "*", "k", "1"],
        &["XADD", "events", "*", "k", "2"],
        &["XADD", "events", "*", "k", "3"],
        &["XGROUP", "CREATE", "events", "workers", "0"],
        &[
            "XREADGROUP",
            "GROUP",
            "workers",
            "w1",
            "COUNT",
            "2",
            "STREAMS",
            "events",
            ">",
        ],
        &["SET", "depth", "17"],
        &["SET", "word", "many"],
    ] {
        redis_cli(&server, PASSWORD, args);
    }
    let addr = format!("redis://:{PASSWORD}@{}", server.url);
    let cases = [
        ("LLEN queue:$APP_NAME", 3.0),
        ("ZCARD bull:emails:delayed", 2.0),
        ("XLEN events", 3.0),
        ("XPENDING events workers", 2.0),
        ("GET depth", 17.0),
        ("LLEN queue:nobody", 0.0),
    ];
    for (command, want) in cases {
        assert_eq!(
            value(&redis(&config(&addr, command)), "web").await,
            Ok(want),
            "{command}"
        );
    }
    let errors = [
        (config(&addr, "GET missing"), "nil"),
        (config(&addr, "GET word"), "not a number"),
        (config(&addr, "LLEN depth"), "WRONGTYPE"),
        (
            config(&format!("redis://:wrong@{}", server.url), "LLEN q"),
            "refused AUTH",
        ),
        (
            config(&format!("redis://{}", server.url), "LLEN q"),
            "NOAUTH",
        ),
        (config("redis://:x@127.0.0.1:9", "LLEN q"), "cannot connect"),
    ];
    for (c, want) in errors {
        let e = value(&redis(&c), "web").await.unwrap_err();
        assert!(e.contains(want), "{}: want {want:?} in {e:?}", c.command);
        assert!(
            !e.contains(PASSWORD) && !e.contains(":wrong@"),
            "a password in {e}"
        );
    }
    let mut zero = config(&addr, "GET missing");
    zero.on_empty = "zero".into();
    assert_eq!(value(&redis(&zero), "web").await, Ok(0.0));

    // One connection per collector, kept across rounds.
    let r = redis(&config(&addr, "LLEN queue:web"));
    for _ in 0..20 {
        assert_eq!(value(&r, "web").await, Ok(3.0));
    }
    assert_eq!(r.connections_opened(), 1);

    // A write command never reaches the server: refused when the collector is made.
    let e = Redis::new(&config(&addr, "DEL queue:web"), Duration::from_secs(1))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("DEL is not allowed") && e.contains("LLEN"),
        "{e}"
    );

    // `fas eval` with the env twins, as a user runs it.
    let env: Vec<(String, String)> = [
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "ceil(jobs / 2)"),
        ("FAS_REDIS_ADDRESS", addr.as_str()),
        ("FAS_REDIS_METRIC_NAME", "jobs"),
        ("FAS_REDIS_COMMAND", "LLEN queue:$APP_NAME"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let o = tokio::task::spawn_blocking(move || fas(&["eval"], &env, &repo()))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\"min\": 2") && stdout(&o).contains("\"jobs\": 3"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains(PASSWORD) && !stderr(&o).contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let r = Redis::new(
        &config(&format!("redis://{addr}"), "LLEN q"),
        Duration::from_millis(300),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let e = value(&r, "web").await.unwrap_err();
    assert!(e.contains("did not answer in time"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[cfg_attr(
    fas_no_redis,
    ignore = "needs redis-server here: apt-get install -y redis-server"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_private_ca_and_tls_required() {
    let pki = tempfile::tempdir().unwrap();
    servers::make_pki(pki.path());
    let dir = pki.path().to_path_buf();
    let Some(server) = tokio::task::spawn_blocking(move || servers::redis(PASSWORD, Some(&dir)))
        .await
        .unwrap()
    else {
        return;
    };
    let mut c = config(&format!("rediss://:{PASSWORD}@{}", server.url), "DBSIZE");
    c.ca_data = std::fs::read_to_string(pki.path().join("ca.pem")).unwrap();
    assert_eq!(value(&redis(&c), "web").await, Ok(0.0));
    // Without the CA the server's certificate is not trusted.
    c.ca_data.clear();
    let e = value(&redis(&c), "web").await.unwrap_err();
    assert!(e.contains("TLS"), "{e}");
    // Plain redis:// against a TLS-only port fails, and says nothing secret.
    let plain = config(&format!("redis://:{PASSWORD}@{}", server.url), "DBSIZE");
    let e = value(&redis(&plain), "web").await.unwrap_err();
    assert!(!e.contains(PASSWORD), "{e}");
}
