//! The telemetry listener: `/metrics` in Prometheus text format and `/healthz`.
//! Nothing here names a token or a policy's state.

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::Metrics;

pub fn router(metrics: Arc<Metrics>) -> Router {
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
}
