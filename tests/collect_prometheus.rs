//! The Prometheus collector against a real Prometheus (Debian's package) on
//! 127.0.0.1, scraping an exporter this test controls; header and fallback rules
//! against a recording HTTP server.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use fas::collect::prometheus::Prometheus;
use fas::collect::Collector;
use fas::config::{CollectorConfig, Secret};
use support::servers;

fn config(address: &str, query: &str) -> CollectorConfig {
    CollectorConfig {
        kind: "prometheus".into(),
        metric_name: "queue_depth".into(),
        query: query.into(),
        address: address.into(),
        origin: "test".into(),
        ..CollectorConfig::default()
    }
}

async fn value(c: &CollectorConfig, app: &str) -> Result<f64, String> {
    let p = Prometheus::new(c, Duration::from_secs(5)).unwrap();
    p.collect(app).await.map_err(|e| e.to_string())
}

/// An exporter serving whatever text the test puts in it.
async fn exporter(text: Arc<Mutex<String>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let t = text.lock().unwrap().clone();
            async move { ([("content-type", "text/plain; version=0.0.4")], t) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr.to_string()
}

#[cfg_attr(
    fas_no_prometheus,
    ignore = "needs prometheus here: apt-get install -y prometheus"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_queries_against_a_real_prometheus() {
    let text = Arc::new(Mutex::new(
        "# TYPE queue_depth gauge\nqueue_depth{app=\"web\"} 3\n".to_string(),
    ));
    let target = exporter(text.clone()).await;
    let Some(prom) = tokio::task::spawn_blocking(move || servers::prometheus(&[target]))
        .await
        .unwrap()
    else {
        return;
    };
    let url = prom.url.clone();

    assert_eq!(value(&config(&url, "vector(42)"), "web").await, Ok(42.0));
    assert_eq!(
        value(&config(&url, "scalar(vector(7))"), "web").await,
        Ok(7.0),
        "scalars are accepted"
    );
    let by_app = "label_replace(vector(3), \"app\", \"web\", \"\", \"\") and on(app) label_replace(vector(1), \"app\", \"${APP_NAME}\", \"\", \"\")";
    assert_eq!(
        value(&config(&url, by_app), "web").await,
        Ok(3.0),
        "$APP_NAME is the app being reconciled"
    );
    let e = value(&config(&url, by_app), "api").await.unwrap_err();
    assert!(e.contains("empty prometheus result"), "{e}");
    let mut zero = config(&url, by_app);
    zero.on_empty = "zero".into();
    assert_eq!(value(&zero, "api").await, Ok(0.0));
    let e = value(&config(&url, "sum(queue_depth{"), "web")
        .await
        .unwrap_err();
    assert!(
        e.contains("400") && e.contains("bad_data") && e.contains("parse error"),
        "{e}"
    );
    let e = value(&config(&url, "\"text\""), "web").await.unwrap_err();
    assert!(e.contains("\"string\""), "{e}");

    // `fas eval` without --set queries the collectors once and prints their values.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fas"))
        .arg("eval")
        .env_clear()
        .env("FAS_APP_NAME", "web")
        .env("FAS_STARTED_MACHINE_COUNT", "ceil(queue_depth / 10)")
        .env("FAS_PROMETHEUS_ADDRESS", &url)
        .env("FAS_PROMETHEUS_METRIC_NAME", "queue_depth")
        .env("FAS_PROMETHEUS_QUERY", "vector(42)")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["started"]["min"], 5);
    assert_eq!(v["metrics"], serde_json::json!({"queue_depth": 42.0}));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fas"))
        .arg("eval")
        .env_clear()
        .env("FAS_APP_NAME", "web")
        .env("FAS_STARTED_MACHINE_COUNT", "queue_depth")
        .env("FAS_PROMETHEUS_ADDRESS", &url)
        .env("FAS_PROMETHEUS_METRIC_NAME", "queue_depth")
        .env("FAS_PROMETHEUS_QUERY", "sum(nosuch)")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("ERROR: metrics collection failed: collect metric (\"queue_depth\"): empty prometheus result"), "{err}");

    // Scraped data: the first scrape lands ~6 s after start.
    let scraped = config(&url, "sum(queue_depth{app=\"$APP_NAME\"})");
    let mut got = Err(String::new());
    for _ in 0..150 {
        got = value(&scraped, "web").await;
        if got == Ok(3.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(got, Ok(3.0));
    *text.lock().unwrap() = "# TYPE queue_depth gauge\nqueue_depth{app=\"web\"} NaN\n".into();
    let raw = config(&url, "queue_depth{app=\"$APP_NAME\"}");
    let mut nan = false;
    for _ in 0..60 {
        if value(&raw, "web").await.is_ok_and(f64::is_nan) {
            nan = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(nan, "NaN samples pass through for the policy to judge");
}

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, String)>>>);

/// Records (method, authorization) and answers like Prometheus; POST gets 405 when asked.
async fn recorder(seen: Seen, refuse_post: bool, hang: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/prefix/api/v1/query",
        any(move |method: Method, headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                seen.0.lock().unwrap().push((method.to_string(), auth));
                if hang {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
                if refuse_post && method == Method::POST {
                    return (StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed".to_string());
                }
                (StatusCode::OK, r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"+Inf"]}]},"warnings":["partial"]}"#.to_string())
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/prefix")
}

#[tokio::test]
async fn tokens_path_prefixes_method_fallback_and_timeouts() {
    let seen = Seen::default();
    let url = recorder(seen.clone(), true, false).await;
    let mut c = config(&url, "up");
    c.token = Secret::new("FlyV1 fm2_abc");
    assert_eq!(value(&c, "web").await, Ok(f64::INFINITY));
    c.token = Secret::new("plain");
    value(&c, "web").await.unwrap();
    let log = seen.0.lock().unwrap().clone();
    assert_eq!(log[0], ("POST".to_string(), "FlyV1 fm2_abc".to_string()));
    assert_eq!(
        log[1],
        ("GET".to_string(), "FlyV1 fm2_abc".to_string()),
        "405 -> GET with the same parameters"
    );
    assert_eq!(log[3].1, "Bearer plain");

    let slow = recorder(Seen::default(), false, true).await;
    let p = Prometheus::new(&config(&slow, "up"), Duration::from_millis(300)).unwrap();
    let started = std::time::Instant::now();
    let e = p.collect("web").await.unwrap_err().to_string();
    assert!(e.contains("did not answer in time"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let e = value(&config("http://127.0.0.1:1", "up"), "web")
        .await
        .unwrap_err();
    assert!(e.starts_with("collect metric (\"queue_depth\"):"), "{e}");
}
