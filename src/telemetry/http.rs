//! The telemetry listener: `/metrics` in Prometheus text format, `/healthz`, and the
//! status page (`/`, `/apps/{name}`) with its JSON (`/api/apps`, `/api/apps/{name}`).
//! Nothing here names a token or a policy's state.

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::status::{api_app, api_apps, Ctx};
use super::status_page::{app, index};
use super::Metrics;
use crate::clock::Clock;
use crate::reconcile::status::Status;

pub fn router(metrics: Arc<Metrics>, status: Arc<Status>, clock: Arc<dyn Clock>) -> Router {
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
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(pages)
}
