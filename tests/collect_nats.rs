//! The NATS JetStream collector against a real nats-server (Debian's) with JetStream:
//! a stream of jobs and a durable pull consumer, some messages delivered and not yet
//! acknowledged; the count is pending + unacknowledged. Plus a wrong token, a missing
//! consumer, a server down, TLS required with a private CA, connection reuse, and
//! `fas eval` through the binary.

mod support;

use std::io::Write;
use std::time::Duration;

use fas::collect::{nats::Nats, Collector};
use fas::config::CollectorConfig;
use support::nats_setup::Setup;
use support::servers;
use support::{fas, repo, stderr, stdout};

const TOKEN: &str = "nats-s3cret-token";

fn config(address: &str, stream: &str, consumer: &str) -> CollectorConfig {
    CollectorConfig {
        kind: "nats".into(),
        metric_name: "backlog".into(),
        address: address.into(),
        stream: stream.into(),
        consumer: consumer.into(),
        origin: "test".into(),
        ..CollectorConfig::default()
    }
}

async fn value(n: &Nats, app: &str) -> Result<f64, String> {
    n.collect(app).await.map_err(|e| e.to_string())
}

fn nats(c: &CollectorConfig) -> Nats {
    Nats::new(c, Duration::from_secs(2)).unwrap()
}

#[cfg_attr(
    fas_no_nats,
    ignore = "needs nats-server here: apt-get install -y nats-server"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_a_consumers_backlog_on_a_real_server() {
    let Some(server) = tokio::task::spawn_blocking(|| servers::nats(TOKEN, None))
        .await
        .unwrap()
    else {
        return;
    };
    let addr = server.url.clone();
    tokio::task::spawn_blocking(move || {
        let mut s = Setup::connect(&addr, TOKEN);
        s.request(
            "$JS.API.STREAM.CREATE.jobs",
            r#"{"name":"jobs","subjects":["jobs.>"]}"#,
        );
        s.request(
            "$JS.API.CONSUMER.DURABLE.CREATE.jobs.web",
            r#"{"stream_name":"jobs","config":{"durable_name":"web","ack_policy":"explicit"}}"#,
        );
        for i in 0..5 {
            s.request("jobs.email", &format!("job {i}"));
        }
        // A worker takes two and acknowledges one of them.
        let pull = "PUB $JS.API.CONSUMER.MSG.NEXT.jobs.web _INBOX.setup 11\r\n{\"batch\":2}\r\n";
        s.w.write_all(pull.as_bytes()).unwrap();
        let (ack, _) = s.next_msg();
        let _ = s.next_msg();
        s.w.write_all(format!("PUB {ack} 0\r\n\r\n").as_bytes())
            .unwrap();
        s.w.write_all(b"PING\r\n").unwrap();
        while s.line() != "PONG" {}
    })
    .await
    .unwrap();
    let url = format!("nats://{TOKEN}@{}", server.url);
    // 3 never delivered + 1 delivered, not acknowledged.
    let n = nats(&config(&url, "jobs", "$APP_NAME"));
    for _ in 0..10 {
        assert_eq!(value(&n, "web").await, Ok(4.0));
    }
    assert_eq!(
        n.connections_opened(),
        1,
        "one connection kept across rounds"
    );
    let errors = [
        (config(&url, "jobs", "nobody"), "consumer not found"),
        (
            config(&format!("nats://wrong@{}", server.url), "jobs", "web"),
            "Authorization Violation",
        ),
        (
            config("nats://x@127.0.0.1:9", "jobs", "web"),
            "cannot connect",
        ),
    ];
    for (c, want) in errors {
        let e = value(&nats(&c), "web").await.unwrap_err();
        assert!(e.contains(want), "want {want:?} in {e:?}");
        assert!(!e.contains(TOKEN), "{e}");
    }
    assert!(Nats::new(&config(&url, "jobs.x", "web"), Duration::from_secs(1)).is_err());

    let env: Vec<(String, String)> = [
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "backlog"),
        ("FAS_NATS_ADDRESS", url.as_str()),
        ("FAS_NATS_METRIC_NAME", "backlog"),
        ("FAS_NATS_STREAM", "jobs"),
        ("FAS_NATS_CONSUMER", "$APP_NAME"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let o = tokio::task::spawn_blocking(move || fas(&["eval"], &env, &repo()))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"min\": 4"), "{}", stdout(&o));
    assert!(!stdout(&o).contains(TOKEN) && !stderr(&o).contains(TOKEN));
}

#[cfg_attr(
    fas_no_nats,
    ignore = "needs nats-server here: apt-get install -y nats-server"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_required_with_a_private_ca() {
    let pki = tempfile::tempdir().unwrap();
    servers::make_pki(pki.path());
    let dir = pki.path().to_path_buf();
    let Some(server) = tokio::task::spawn_blocking(move || servers::nats(TOKEN, Some(&dir)))
        .await
        .unwrap()
    else {
        return;
    };
    // nats:// against a TLS-required server upgrades, as NATS clients do.
    let mut c = config(&format!("nats://{TOKEN}@{}", server.url), "none", "none");
    c.ca_data = std::fs::read_to_string(pki.path().join("ca.pem")).unwrap();
    let e = value(&nats(&c), "web").await.unwrap_err();
    assert!(
        e.contains("stream not found") || e.contains("not found"),
        "{e}"
    );
    c.ca_data.clear();
    let e = value(&nats(&c), "web").await.unwrap_err();
    assert!(e.contains("TLS"), "{e}");
    assert!(!e.contains(TOKEN), "{e}");
}

/// Nkey auth: the server knows the user's public key and checks the nonce's signature.
#[cfg_attr(
    fas_no_nats,
    ignore = "needs nats-server here: apt-get install -y nats-server"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_nkey_seed_signs_the_servers_nonce() {
    let user = support::nats_jwt::key(fas::collect::nkey::USER, 5);
    let public = user.public.clone();
    let Some(server) = tokio::task::spawn_blocking(move || {
        servers::nats_conf(|head| {
            format!("{head}authorization {{ users = [ {{user: setup, password: setup-pass}}, {{nkey: {public}}} ] }}\n")
        })
    })
    .await
    .unwrap() else {
        return;
    };
    let addr = server.url.clone();
    tokio::task::spawn_blocking(move || {
        Setup::connect_as(&addr, &|_| r#""user":"setup","pass":"setup-pass""#.into())
            .stream_with_consumer("jobs", "web", 4)
    })
    .await
    .unwrap();
    let mut c = config(&format!("nats://{}", server.url), "jobs", "web");
    c.credentials = fas::config::Secret::new(user.seed.clone());
    assert_eq!(value(&nats(&c), "web").await, Ok(4.0));
    // Another user's seed is refused by the server, and never printed.
    let other = support::nats_jwt::key(fas::collect::nkey::USER, 6);
    c.credentials = fas::config::Secret::new(other.seed.clone());
    let e = value(&nats(&c), "web").await.unwrap_err();
    assert!(e.contains("Authorization Violation"), "{e}");
    assert!(!e.contains(&other.seed), "{e}");
}

/// Operator mode: a `.creds` file (the user JWT signed by an account the operator
/// signed, and the user's seed), given as a file path and through `fas eval`.
#[cfg_attr(
    fas_no_nats,
    ignore = "needs nats-server here: apt-get install -y nats-server"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creds_file_in_operator_mode() {
    let (conf, creds) = support::nats_jwt::operator_mode();
    let Some(server) =
        tokio::task::spawn_blocking(move || servers::nats_conf(|head| format!("{head}{conf}")))
            .await
            .unwrap()
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("worker.creds");
    std::fs::write(&path, &creds).unwrap();
    let addr = server.url.clone();
    let setup_creds = fas::collect::nkey::Credentials::load(&creds).unwrap();
    tokio::task::spawn_blocking(move || {
        let jwt = setup_creds.jwt.clone().unwrap();
        Setup::connect_as(&addr, &|nonce| {
            format!(r#""jwt":"{jwt}","sig":"{}""#, setup_creds.sign(nonce))
        })
        .stream_with_consumer("jobs", "web", 6)
    })
    .await
    .unwrap();
    let mut c = config(&format!("nats://{}", server.url), "jobs", "web");
    c.credentials = fas::config::Secret::new(path.display().to_string());
    assert_eq!(value(&nats(&c), "web").await, Ok(6.0));
    // Without credentials the server refuses.
    c.credentials = fas::config::Secret::new("");
    let e = value(&nats(&c), "web").await.unwrap_err();
    assert!(e.contains("Authorization Violation"), "{e}");

    // The same through the binary, the file's content in FAS_NATS_CREDENTIALS.
    let env = [
        ("FAS_NATS_ADDRESS", format!("nats://{}", server.url)),
        ("FAS_NATS_METRIC_NAME", "backlog".into()),
        ("FAS_NATS_STREAM", "jobs".into()),
        ("FAS_NATS_CONSUMER", "web".into()),
        ("FAS_NATS_CREDENTIALS", creds.clone()),
        ("FAS_APP_NAME", "web".into()),
        ("FAS_CREATED_MACHINE_COUNT", "backlog".into()),
    ]
    .map(|(k, v)| (k.to_string(), v));
    let out = fas(&["eval"], &env, dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"min\": 6"), "{}", stdout(&out));
    let seed = creds.lines().find(|l| l.starts_with("SU")).unwrap();
    assert!(!stdout(&out).contains(seed) && !stderr(&out).contains(seed));
}
