//! When a metric keeps failing, through the real binary and scheduler against the
//! simulator: each fallback behaviour takes over after `failure-threshold` failed
//! rounds (and not before), and lets go when the metric answers; with
//! policy-sees-errors the policy is called with the metric nil and `app.errors` set.

mod support;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use serde_json::Value;
use support::sched::{count, wait_until};
use support::served::Served;

/// A queue depth endpoint: `{"depth": N}`, or 500 while the value is negative.
async fn depth_server(value: Arc<AtomicI64>) -> String {
    let app = axum::Router::new().route(
        "/depth",
        axum::routing::get(move || {
            let v = value.load(Ordering::SeqCst);
            async move {
                if v < 0 {
                    Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR)
                } else {
                    Ok(axum::Json(serde_json::json!({ "depth": v })))
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/depth")
}

async fn wait_started(s: &fas::sim::SimServer, n: usize, what: &str) {
    wait_until(what, || count(s, "web", "started") == n).await;
}

fn rounds(v: &Value) -> Vec<Value> {
    v["rounds"].as_array().cloned().unwrap_or_default()
}

/// Four Machines, the depth says 2; then the depth fails: `behavior` (with `started`)
/// must end at `want` started Machines, only after three failed rounds.
async fn fallback_case(behavior: &str, given: &str, want: usize) {
    let sim = support::sched::fleet("acme/web=4").await;
    let depth = Arc::new(AtomicI64::new(2));
    let url = depth_server(depth.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "q"),
        ("FAS_INTERVAL", "300ms"),
        ("FAS_HTTP_URL", url.as_str()),
        ("FAS_HTTP_METRIC_NAME", "q"),
        ("FAS_HTTP_JSON_POINTER", "/depth"),
        ("FAS_FALLBACK_FAILURE_THRESHOLD", "3"),
        ("FAS_FALLBACK_BEHAVIOR", behavior),
    ];
    if !given.is_empty() {
        env.push(("FAS_FALLBACK_STARTED", given));
    }
    let fas = Served::start(&sim.url(), &env, &[], dir.path());
    wait_started(&sim, 2, "the metric's two").await;
    depth.store(-1, Ordering::SeqCst);
    let v = fas
        .wait_for("/api/apps/web", "a fallback round", |v| {
            rounds(v).last().is_some_and(|r| r["fallback"] == true)
        })
        .await;
    // The two rounds before the threshold failed and held.
    let kept = rounds(&v);
    let first = kept.iter().position(|r| r["fallback"] == true).unwrap();
    assert!(first >= 2, "{v}");
    assert_eq!(kept[first - 1]["action"], "error", "{behavior}: {v}");
    assert_eq!(kept[first - 2]["action"], "error", "{behavior}: {v}");
    wait_started(&sim, want, behavior).await;
    assert_eq!(
        fas.metric("fas_fallback_active{app=\"web\"}").await,
        Some(1.0)
    );
    // The metric answers again: the policy decides again.
    depth.store(1, Ordering::SeqCst);
    fas.wait_for("/api/apps/web", "a round on the metric again", |v| {
        rounds(v)
            .last()
            .is_some_and(|r| r["fallback"] == false && r["error"].is_null())
    })
    .await;
    wait_started(&sim, 1, "the metric's one").await;
    assert_eq!(
        fas.metric("fas_fallback_active{app=\"web\"}").await,
        Some(0.0)
    );
    let log = fas.stop();
    assert!(log.contains("fallback's targets apply"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_static() {
    fallback_case("static", "3", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_current_holds_what_runs() {
    fallback_case("current", "", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_current_if_higher() {
    fallback_case("current-if-higher", "3", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_current_if_lower() {
    fallback_case("current-if-lower", "1", 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_sees_a_failed_metric_as_nil_with_its_error() {
    let sim = support::sched::fleet("acme/web=4").await;
    let depth = Arc::new(AtomicI64::new(1));
    let url = depth_server(depth.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("policy.lua"),
        r#"
function scale(metrics, app)
  if app.errors.q then
    assert(metrics.q == nil and app.errors.q:find("500"), "nil, with the error")
    return { started = 3 }
  end
  return { started = metrics.q }
end
"#,
    )
    .unwrap();
    let env = [
        ("FAS_APP_NAME", "web"),
        ("FAS_POLICY", "policy.lua"),
        ("FAS_INTERVAL", "300ms"),
        ("FAS_HTTP_URL", url.as_str()),
        ("FAS_HTTP_METRIC_NAME", "q"),
        ("FAS_HTTP_JSON_POINTER", "/depth"),
        ("FAS_POLICY_SEES_ERRORS", "true"),
    ];
    let fas = Served::start(&sim.url(), &env, &[], dir.path());
    wait_started(&sim, 1, "the metric's one").await;
    depth.store(-1, Ordering::SeqCst);
    wait_started(&sim, 3, "the policy's answer to the failure").await;
    let v = fas.json("/api/apps/web").await;
    assert!(rounds(&v).iter().all(|r| r["error"].is_null()), "{v}");
    assert!(
        fas.metric("fas_collector_errors_total{collector=\"q\"}")
            .await
            >= Some(1.0)
    );
    let log = fas.stop();
    assert!(log.contains("policy-sees-errors"), "{log}");
}
