//! Answers from servers that must not hurt fas: a `Retry-After` too large for a
//! Duration, and bodies of hundreds of MB (from the Fly API or Prometheus) that must
//! be refused after a few MiB, not read whole.

use std::time::Duration;

mod support;

use fas::collect::Collector;
use fas::config::{CollectorConfig, Secret};
use fas::fly::{ClientOptions, FlyClient, FlyError};
use fas::sim::{self, FaultRule, Seed, SeedApp, SeedMachine, SimOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn a_huge_retry_after_is_clamped_not_a_panic() {
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default())
        .await
        .unwrap();
    server
        .sim
        .seed(&Seed::parse_spec("acme/web=1").unwrap())
        .unwrap();
    server.sim.faults.lock().unwrap().rules = vec![FaultRule {
        action: "list".into(),
        status: Some(429),
        retry_after: Some(u64::MAX),
        ..FaultRule::default()
    }];
    let fly = FlyClient::new(ClientOptions {
        max_retries: 0,
        ..ClientOptions::for_base(&server.url(), Secret::new("FlyV1 fm2_t"))
    })
    .unwrap();
    match fly.list_machines("web").await {
        Err(FlyError::RateLimited {
            retry_after: Some(d),
            ..
        }) => {
            assert!(d <= Duration::from_secs(3600), "{d:?}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_fly_answer_of_many_mib_is_refused() {
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default())
        .await
        .unwrap();
    let machine = SeedMachine {
        region: "iad".into(),
        state: "stopped".into(),
        process_group: "app".into(),
    };
    let seed = Seed {
        apps: vec![SeedApp {
            org: "acme".into(),
            name: "huge".into(),
            machines: vec![machine; 12_000],
        }],
    };
    server.sim.seed(&seed).unwrap();
    let fly = FlyClient::new(ClientOptions {
        rate_limit: false,
        ..ClientOptions::for_base(&server.url(), Secret::new("FlyV1 fm2_t"))
    })
    .unwrap();
    let e = fly.list_machines("huge").await.unwrap_err();
    assert!(e.to_string().contains("larger than 8 MiB"), "{e}");
}

/// A fake Prometheus that streams an endless chunked answer (no Content-Length).
async fn endless_prometheus() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut req = [0u8; 4096];
                let _ = sock.read(&mut req).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
                // 1 GiB if nobody stops reading.
                for _ in 0..16_384 {
                    if sock.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_prometheus_answer_of_many_mib_is_refused() {
    let url = endless_prometheus().await;
    let c = CollectorConfig {
        kind: "prometheus".into(),
        metric_name: "q".into(),
        query: "sum(queue_depth)".into(),
        address: url,
        origin: "FAS_PROMETHEUS_*".into(),
        ..CollectorConfig::default()
    };
    let collectors = fas::collect::build(&[c], Duration::from_secs(20)).unwrap();
    let e = collectors[0].collect("web").await.unwrap_err();
    assert!(e.to_string().contains("larger than 8 MiB"), "{e}");
}

/// A collector that panics for app `bad` (a bug anywhere in a round).
struct PanicsFor(std::sync::atomic::AtomicU64);

impl Collector for PanicsFor {
    fn name(&self) -> &str {
        "q"
    }
    fn collect<'a>(&'a self, app: &'a str) -> fas::collect::CollectFuture<'a> {
        Box::pin(async move {
            if app == "bad" {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                panic!("a bug in a collector");
            }
            Ok(1.0)
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_round_is_counted_and_the_loops_go_on() {
    use fas::policy::{expr::CountExprs, Limits, Policy, PolicyHandle};
    use std::sync::Arc;
    let server = sim::start("127.0.0.1:0".parse().unwrap(), SimOptions::default())
        .await
        .unwrap();
    let spec = "acme/bad=1,acme/good=1";
    server.sim.seed(&Seed::parse_spec(spec).unwrap()).unwrap();
    let exprs = CountExprs {
        min_created: Some("q + 1".into()),
        max_created: Some("q + 1".into()),
        ..Default::default()
    };
    let names = ["q".to_string()];
    let policy =
        PolicyHandle::spawn(move || Policy::from_exprs(&exprs, &names, Limits::default())).unwrap();
    let collector = Arc::new(PanicsFor(Default::default()));
    let timing = (Duration::from_millis(200), 2, Duration::from_millis(1500));
    let reconciler =
        support::sched::run_wildcard(&server.url(), vec![collector.clone()], policy, timing).await;
    let panics = collector.0.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        panics >= 3,
        "the bad app's loop went on after a panic: {panics} rounds"
    );
    let m = &reconciler.metrics;
    assert_eq!(
        m.counter("fas_reconcile_panics_total", &[("app", "bad")]),
        panics
    );
    assert_eq!(
        m.counter("fas_reconcile_count", &[("status", "create")]),
        1,
        "good was scaled"
    );
}
