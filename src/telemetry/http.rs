//! The telemetry listener: `/metrics` in Prometheus text format, `/healthz`, and the
//! status page (`/`, `/apps/{name}`) with its JSON (`/api/apps`, `/api/apps/{name}`).
//! Nothing here names a token or a policy's state. The status pages and their JSON
//! are built off the async runtime, one at a time (`rendered`): a flood of page
//! requests queues there, while `/healthz`, `/metrics` and the rounds go on.

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::status::{api_app, api_apps, Ctx};
use super::status_page::{app, index};
use super::Metrics;
use crate::clock::Clock;
use crate::reconcile::status::Status;

/// Page builds at once: one core at most goes to rendering on a 2-core Machine.
static RENDERING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Builds a response on the blocking pool, one at a time; waiting requests hold no
/// runtime thread.
pub async fn rendered(build: impl FnOnce() -> Response + Send + 'static) -> Response {
    let Ok(_permit) = RENDERING.acquire().await else {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    tokio::task::spawn_blocking(build)
        .await
        .unwrap_or_else(|_| axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

pub fn router(metrics: Arc<Metrics>, status: Arc<Status>, clock: Arc<dyn Clock>) -> Router {
    let status2 = status.clone();
    let pages = Router::new()
        .route("/", get(index))
        .route("/apps/{name}", get(app))
        .route("/api/apps", get(api_apps))
        .route("/api/apps/{name}", get(api_app))
        .with_state(Ctx { status, clock });
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                async move {
                    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], m.render()).into_response()
                }
            }),
        )
        .route("/healthz", get(move || async move { health(&status2) }))
        .merge(pages)
}

/// `ok`, and with clustering on, this member's line: an instance cut off from the
/// cluster database still answers 200 (a restart would not bring the database
/// back) and says why it scales nothing.
fn health(status: &Status) -> String {
    match status.mode().and_then(|m| m.cluster) {
        Some(line) => format!("ok\ncluster: {line}\n"),
        None => "ok\n".into(),
    }
}
