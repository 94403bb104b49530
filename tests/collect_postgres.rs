//! The PostgreSQL collector against a real PostgreSQL (Debian's) on 127.0.0.1, with an
//! Oban-like `oban_jobs` table: counts per queue, NUMERIC answers, NULL and empty
//! answers, a write or a second statement refused, a slow query past the timeout, a
//! wrong password, a server down, TLS required and TLS with a private CA, connection
//! reuse, and `fas eval` through the binary.

mod support;

use std::time::Duration;

use fas::collect::{postgres::Postgres, Collector};
use fas::config::CollectorConfig;
use support::servers;
use support::{fas, repo, stderr, stdout};

const PASSWORD: &str = "pg-s3cret-pw";

fn config(address: &str, query: &str) -> CollectorConfig {
    CollectorConfig {
        kind: "postgres".into(),
        metric_name: "jobs".into(),
        address: address.into(),
        query: query.into(),
        origin: "test".into(),
        ..CollectorConfig::default()
    }
}

async fn value(p: &Postgres, app: &str) -> Result<f64, String> {
    p.collect(app).await.map_err(|e| e.to_string())
}

fn pg(c: &CollectorConfig, timeout_ms: u64) -> Postgres {
    Postgres::new(c, Duration::from_millis(timeout_ms)).unwrap()
}

async fn fill(url: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute(
            "CREATE TABLE oban_jobs (id bigserial PRIMARY KEY, queue text NOT NULL, state text NOT NULL, attempt int);
             INSERT INTO oban_jobs (queue, state, attempt)
               SELECT 'web', 'available', g FROM generate_series(1, 25) g;
             INSERT INTO oban_jobs (queue, state, attempt) VALUES ('web', 'executing', 1), ('api', 'available', 1);",
        )
        .await
        .unwrap();
}

#[cfg_attr(
    fas_no_postgres,
    ignore = "needs postgresql here: apt-get install -y postgresql"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_jobs_on_a_real_server() {
    let Some(server) = tokio::task::spawn_blocking(|| servers::postgres(PASSWORD, None))
        .await
        .unwrap()
    else {
        return;
    };
    let url = format!(
        "postgres://fas:{PASSWORD}@{}/postgres?sslmode=disable",
        server.url
    );
    fill(&url).await;
    let waiting =
        "SELECT count(*) FROM oban_jobs WHERE queue = '$APP_NAME' AND state = 'available'";
    let cases = [
        (waiting, "web", 25.0),
        (waiting, "api", 1.0),
        (
            "SELECT sum(attempt)::numeric / 2 FROM oban_jobs WHERE queue = 'web'",
            "web",
            163.0,
        ),
        (
            "SELECT avg(attempt) FROM oban_jobs WHERE state = 'available' AND queue = 'web'",
            "web",
            13.0,
        ),
        ("SELECT 2.5::float4", "web", 2.5),
        ("SELECT -12.25::numeric", "web", -12.25),
        ("SELECT 7::int2", "web", 7.0),
    ];
    for (query, app, want) in cases {
        assert_eq!(
            value(&pg(&config(&url, query), 5000), app).await,
            Ok(want),
            "{query}"
        );
    }
    let errors = [
        (
            "SELECT max(attempt) FROM oban_jobs WHERE queue = 'none'",
            "NULL",
        ),
        (
            "SELECT attempt FROM oban_jobs WHERE queue = 'none'",
            "no row",
        ),
        ("SELECT 1, 2", "one column, got 2"),
        ("SELECT 'x'::text", "not a number"),
        (
            "DELETE FROM oban_jobs RETURNING id",
            "read-only transaction",
        ),
        ("SELECT 1; DELETE FROM oban_jobs", "multiple commands"),
        ("SELECT 1 FROM pg_sleep(3)", "statement timeout"),
    ];
    for (query, want) in errors {
        let e = value(&pg(&config(&url, query), 1000), "web")
            .await
            .unwrap_err();
        assert!(e.contains(want), "{query}: want {want:?} in {e:?}");
    }
    assert_eq!(
        value(
            &pg(&config(&url, "SELECT count(*) FROM oban_jobs"), 5000),
            "web"
        )
        .await,
        Ok(27.0),
        "nothing was deleted"
    );
    // NUMERIC's special values read as the floats they are (never as 0), and go to the
    // policy like any infinite metric; a whole answer too large for fas is refused.
    let special = [
        ("SELECT 'Infinity'::numeric", f64::INFINITY),
        ("SELECT '-Infinity'::numeric", f64::NEG_INFINITY),
        (
            "SELECT sum(x) FROM (VALUES ('Infinity'::numeric), (2)) v(x)",
            f64::INFINITY,
        ),
        ("SELECT -0.0001::numeric", -0.0001),
        (
            "SELECT 123456789012345678901234567890::numeric",
            1.2345678901234568e29,
        ),
    ];
    for (query, want) in special {
        assert_eq!(
            value(&pg(&config(&url, query), 5000), "web").await,
            Ok(want),
            "{query}"
        );
    }
    let nan = value(&pg(&config(&url, "SELECT 'NaN'::numeric"), 5000), "web").await;
    assert!(nan.is_ok_and(f64::is_nan));
    let e = value(
        &pg(&config(&url, "SELECT repeat('x', 2000000)::text"), 5000),
        "web",
    )
    .await
    .unwrap_err();
    assert!(e.contains("more than the 1 MiB"), "{e}");
    let mut zero = config(
        &url,
        "SELECT max(attempt) FROM oban_jobs WHERE queue = 'none'",
    );
    zero.on_empty = "zero".into();
    assert_eq!(value(&pg(&zero, 5000), "web").await, Ok(0.0));

    let wrong = format!(
        "postgres://fas:wrong-pw@{}/postgres?sslmode=disable",
        server.url
    );
    let e = value(&pg(&config(&wrong, "SELECT 1"), 5000), "web")
        .await
        .unwrap_err();
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(!e.contains("wrong-pw"), "{e}");
    let down = "postgres://fas:x@127.0.0.1:9/postgres?sslmode=disable";
    let e = value(&pg(&config(down, "SELECT 1"), 5000), "web")
        .await
        .unwrap_err();
    assert!(e.contains("postgres"), "{e}");
    // No TLS offered while sslmode=require demands it.
    let tls = format!(
        "postgres://fas:{PASSWORD}@{}/postgres?sslmode=require",
        server.url
    );
    let e = value(&pg(&config(&tls, "SELECT 1"), 5000), "web")
        .await
        .unwrap_err();
    assert!(!e.contains(PASSWORD), "{e}");

    // One connection per collector, kept across rounds, even after a query error.
    let p = pg(&config(&url, waiting), 5000);
    for i in 0..10 {
        assert_eq!(value(&p, "web").await, Ok(25.0), "round {i}");
    }
    assert_eq!(p.connections_opened(), 1);

    let env: Vec<(String, String)> = [
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "ceil(jobs / 10)"),
        ("FAS_POSTGRES_ADDRESS", url.as_str()),
        ("FAS_POSTGRES_METRIC_NAME", "jobs"),
        ("FAS_POSTGRES_QUERY", waiting),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let o = tokio::task::spawn_blocking(move || fas(&["eval"], &env, &repo()))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("\"min\": 3") && stdout(&o).contains("\"jobs\": 25"),
        "{}",
        stdout(&o)
    );
    assert!(!stdout(&o).contains(PASSWORD) && !stderr(&o).contains(PASSWORD));
}

#[cfg_attr(
    fas_no_postgres,
    ignore = "needs postgresql here: apt-get install -y postgresql"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_required_with_a_private_ca() {
    let pki = tempfile::tempdir().unwrap();
    servers::make_pki(pki.path());
    let dir = pki.path().to_path_buf();
    let Some(server) = tokio::task::spawn_blocking(move || servers::postgres(PASSWORD, Some(&dir)))
        .await
        .unwrap()
    else {
        return;
    };
    let url = format!(
        "postgres://fas:{PASSWORD}@{}/postgres?sslmode=require",
        server.url
    );
    let mut c = config(
        &url,
        "SELECT count(*) FROM pg_stat_ssl WHERE ssl AND pid = pg_backend_pid()",
    );
    c.ca_data = std::fs::read_to_string(pki.path().join("ca.pem")).unwrap();
    assert_eq!(
        value(&pg(&c, 5000), "web").await,
        Ok(1.0),
        "the session is encrypted"
    );
    c.ca_data.clear();
    let e = value(&pg(&c, 5000), "web").await.unwrap_err();
    assert!(!e.contains(PASSWORD), "{e}");
    assert!(
        e.to_lowercase().contains("cert") || e.contains("tls") || e.contains("TLS"),
        "untrusted certificate: {e}"
    );
}
