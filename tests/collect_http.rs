//! The HTTP JSON collector against a real HTTP server on 127.0.0.1 (axum, answering
//! like RabbitMQ's management API or an app's own stats endpoint): the JSON Pointer,
//! the bearer token and secret headers, `$APP_NAME` in the URL, every error, the body
//! cap, the timeout; then through the binary (`fas eval` with the env twins and with
//! YAML) and a `fas serve` round that starts Machines in the simulator.

mod support;

use std::time::Duration;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use fas::collect::{http::Http, Collector};
use fas::config::{CollectorConfig, Secret};
use support::{fas, repo, stderr, stdout};

const TOKEN: &str = "t0ken-http-s3cret";
const API_KEY: &str = "k3y-http-s3cret";

async fn stats(Path(app): Path<String>, h: HeaderMap) -> (StatusCode, String) {
    let auth = h.get("authorization").and_then(|v| v.to_str().ok());
    let key = h.get("x-api-key").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {TOKEN}")) || key != Some(API_KEY) {
        return (StatusCode::UNAUTHORIZED, "who are you?".into());
    }
    let depth = if app == "web" { 42 } else { 7 };
    let body = serde_json::json!({
        "name": app,
        "messages_ready": depth,
        "queues": {"default": {"depth": depth, "rate": 2.5}},
        "quoted": "7.5",
        "flag": true,
        "nothing": null,
        "a/b": [3, 4],
    });
    (StatusCode::OK, body.to_string())
}

/// The server's base URL.
async fn server() -> String {
    let app = axum::Router::new()
        .route("/api/{app}", get(stats))
        .route(
            "/broken",
            get(|| async { (StatusCode::BAD_GATEWAY, "upstream down") }),
        )
        .route("/text", get(|| async { "hello" }))
        .route(
            "/huge",
            get(|| async { format!("{{\"pad\": \"{}\"}}", "x".repeat(9 << 20)) }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "{}"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn config(url: &str, pointer: &str) -> CollectorConfig {
    CollectorConfig {
        kind: "http".into(),
        metric_name: "queue_depth".into(),
        url: url.into(),
        json_pointer: pointer.into(),
        token: Secret::new(TOKEN),
        headers: vec![("X-Api-Key".into(), Secret::new(API_KEY))],
        origin: "test".into(),
        ..CollectorConfig::default()
    }
}

async fn value(c: &CollectorConfig, app: &str) -> Result<f64, String> {
    let h = Http::new(c, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    h.collect(app).await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_found_by_json_pointer_and_every_error_named() {
    let base = server().await;
    let api = format!("{base}/api/$APP_NAME");
    assert_eq!(
        value(&config(&api, "/messages_ready"), "web").await,
        Ok(42.0)
    );
    assert_eq!(
        value(&config(&api, "/messages_ready"), "api").await,
        Ok(7.0),
        "$APP_NAME"
    );
    assert_eq!(
        value(&config(&api, "/queues/default/rate"), "web").await,
        Ok(2.5)
    );
    assert_eq!(
        value(&config(&api, "/a~1b/1"), "web").await,
        Ok(4.0),
        "RFC 6901 escapes"
    );
    assert_eq!(value(&config(&api, "/quoted"), "web").await, Ok(7.5));
    let errors = [
        (
            config(&api, "/missing"),
            "nothing at json-pointer \"/missing\"",
        ),
        (
            config(&api, "/nothing"),
            "nothing at json-pointer \"/nothing\"",
        ),
        (config(&api, "/flag"), "holds a boolean, not a number"),
        (config(&api, "/name"), "holds a string that is not a number"),
        (
            config(&format!("{base}/broken"), "/x"),
            "answered 502: upstream down",
        ),
        (config(&format!("{base}/text"), "/x"), "not JSON"),
        (config(&format!("{base}/huge"), "/x"), "larger than 8 MiB"),
        (
            config(&format!("{base}/slow"), "/x"),
            "did not answer in time",
        ),
        (config("http://127.0.0.1:9/x", "/x"), "queue_depth"),
    ];
    for (c, want) in errors {
        let e = value(&c, "web").await.unwrap_err();
        assert!(e.contains(want), "{}: want {want:?} in {e:?}", c.url);
        assert!(!e.contains(TOKEN) && !e.contains(API_KEY), "secret in {e}");
    }
    let mut zero = config(&api, "/missing");
    zero.on_empty = "zero".into();
    assert_eq!(value(&zero, "web").await, Ok(0.0));
    let mut no_key = config(&api, "/messages_ready");
    no_key.headers.clear();
    let e = value(&no_key, "web").await.unwrap_err();
    assert!(e.contains("answered 401"), "{e}");
    // Credentials in the URL never reach an error.
    let e = value(&config("http://user:pa55word@127.0.0.1:9/x", "/x"), "web")
        .await
        .unwrap_err();
    assert!(!e.contains("pa55word"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fas_eval_reads_it_from_env_twins_and_yaml() {
    let base = server().await;
    let url = format!("{base}/api/$APP_NAME");
    let headers = format!("{{\"X-Api-Key\": \"{API_KEY}\"}}");
    let env = [
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "ceil(queue_depth / 10)"),
        ("FAS_HTTP_URL", url.as_str()),
        ("FAS_HTTP_METRIC_NAME", "queue_depth"),
        ("FAS_HTTP_JSON_POINTER", "/queues/default/depth"),
        ("FAS_HTTP_TOKEN", TOKEN),
        ("FAS_HTTP_HEADERS", headers.as_str()),
    ];
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let o = tokio::task::spawn_blocking(move || fas(&["eval"], &env, &repo()))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("\"min\": 5") && out.contains("\"queue_depth\": 42"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "app-name: api\nstarted-machine-count: ceil(depth / 2)\nmetric-collectors:\n  - type: http\n    metric-name: depth\n    url: {url}\n    json-pointer: /messages_ready\n    token: ${{HTTP_TOKEN}}\n    headers:\n      X-Api-Key: ${{HTTP_API_KEY}}\n"
    );
    std::fs::write(dir.path().join("fas.yml"), yaml).unwrap();
    let env = vec![
        ("HTTP_TOKEN".to_string(), TOKEN.to_string()),
        ("HTTP_API_KEY".to_string(), API_KEY.to_string()),
    ];
    let d = dir.path().to_path_buf();
    let o = tokio::task::spawn_blocking(move || fas(&["eval", "--config", "fas.yml"], &env, &d))
        .await
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("\"min\": 4"), "{}", stdout(&o));

    // A bad pointer is a config error at load that names the key.
    let env = vec![
        ("FAS_APP_NAME".to_string(), "web".to_string()),
        ("FAS_STARTED_MACHINE_COUNT".to_string(), "q".to_string()),
        ("FAS_HTTP_URL".to_string(), url.clone()),
        ("FAS_HTTP_METRIC_NAME".to_string(), "q".to_string()),
        (
            "FAS_HTTP_JSON_POINTER".to_string(),
            "queues.default".to_string(),
        ),
    ];
    let o = tokio::task::spawn_blocking(move || fas(&["eval"], &env, &repo()))
        .await
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("FAS_HTTP_JSON_POINTER"),
        "{}",
        stderr(&o)
    );
}
