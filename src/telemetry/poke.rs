//! Push: `POST /v1/apps/{app}/poke` runs a watch step for the app at once, and
//! `POST /v1/alertmanager` (Alertmanager's webhook) pokes every app a firing alert
//! names in its app label. Both need `Authorization: Bearer FAS_POKE_TOKEN`; without a
//! token configured they are off (404). A poke reaches the scheduler as a message and
//! its answer comes back the same way: this module never calls into a round.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::Metrics;
use crate::config::Secret;
use crate::reconcile::{Poke, PokeAnswer};

/// Largest webhook body read (Alertmanager groups alerts; 1 MiB is thousands).
const MAX_BODY: usize = 1 << 20;
/// Most apps one webhook call pokes.
const MAX_APPS: usize = 1000;

#[derive(Clone)]
struct Ctx {
    token: Secret,
    label: String,
    tx: mpsc::Sender<Poke>,
    metrics: Arc<Metrics>,
}

/// The push routes; `token` empty turns them off.
pub fn routes(
    token: Secret,
    label: String,
    tx: mpsc::Sender<Poke>,
    metrics: Arc<Metrics>,
) -> Router {
    Router::new()
        .route("/v1/apps/{app}/poke", post(poke_app))
        .route("/v1/alertmanager", post(alertmanager))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Ctx {
            token,
            label,
            tx,
            metrics,
        })
}

/// Why a request is refused before anything is poked.
fn refused(ctx: &Ctx, headers: &HeaderMap) -> Option<Response> {
    if ctx.token.is_empty() {
        return Some(
            (
                StatusCode::NOT_FOUND,
                "poking is off: set FAS_POKE_TOKEN (poke-token) to turn it on\n",
            )
                .into_response(),
        );
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same(given.trim().as_bytes(), ctx.token.expose().as_bytes()) {
        return None;
    }
    ctx.metrics
        .inc("fas_pokes_total", &[("result", "unauthorized")]);
    Some(
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a poke needs Authorization: Bearer <FAS_POKE_TOKEN>\n",
        )
            .into_response(),
    )
}

/// Compares in time that depends on the lengths only, not on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Asks the scheduler to poke `app`; None when it did not answer (shutting down,
/// or overwhelmed).
async fn send(ctx: &Ctx, app: &str) -> Option<PokeAnswer> {
    let (reply, answer) = oneshot::channel();
    let poke = Poke {
        app: app.to_string(),
        reply,
    };
    ctx.tx.try_send(poke).ok()?;
    let answer = tokio::time::timeout(Duration::from_secs(2), answer)
        .await
        .ok()?
        .ok()?;
    let result = match answer {
        PokeAnswer::Queued => "queued",
        PokeAnswer::Unknown => "unknown",
        PokeAnswer::TooSoon(_) => "too_soon",
    };
    ctx.metrics.inc("fas_pokes_total", &[("result", result)]);
    Some(answer)
}

async fn poke_app(State(ctx): State<Ctx>, Path(app): Path<String>, headers: HeaderMap) -> Response {
    if let Some(no) = refused(&ctx, &headers) {
        return no;
    }
    let shown = crate::redact::quote_max(&app, 64);
    match send(&ctx, &app).await {
        Some(PokeAnswer::Queued) => {
            tracing::debug!(app = %shown, "poked: a watch step runs now");
            (
                StatusCode::ACCEPTED,
                Json(json!({"app": app, "poked": true})),
            )
                .into_response()
        }
        Some(PokeAnswer::Unknown) => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": format!("fas does not scale an app named {shown}")})),
        )
            .into_response(),
        Some(PokeAnswer::TooSoon(wait)) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.as_secs().max(1).to_string())],
            Json(
                json!({"error": "poked less than a second ago; the step it asked for is running"}),
            ),
        )
            .into_response(),
        None => busy(),
    }
}

fn busy() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "fas is not taking pokes right now (shutting down or overwhelmed); the next round decides anyway\n",
    )
        .into_response()
}

/// The parts of Alertmanager's webhook payload (version 4) a poke needs.
#[derive(Deserialize)]
struct Webhook {
    alerts: Vec<Alert>,
}

#[derive(Deserialize)]
struct Alert {
    status: String,
    #[serde(default)]
    labels: std::collections::HashMap<String, String>,
}

async fn alertmanager(
    State(ctx): State<Ctx>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some(no) = refused(&ctx, &headers) {
        return no;
    }
    let hook: Webhook = match serde_json::from_slice(&body) {
        Ok(h) => h,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("not an Alertmanager webhook payload: {e}\n"),
            )
                .into_response()
        }
    };
    let apps: BTreeSet<&str> = hook
        .alerts
        .iter()
        .filter(|a| a.status == "firing")
        .filter_map(|a| a.labels.get(&ctx.label).map(String::as_str))
        .take(MAX_APPS)
        .collect();
    let (mut poked, mut unknown, mut too_soon) = (Vec::new(), Vec::new(), Vec::new());
    for app in apps {
        match send(&ctx, app).await {
            Some(PokeAnswer::Queued) => poked.push(app),
            Some(PokeAnswer::Unknown) => unknown.push(app),
            Some(PokeAnswer::TooSoon(_)) => too_soon.push(app),
            None => return busy(),
        }
    }
    tracing::debug!(
        poked = poked.len(),
        unknown = unknown.len(),
        "alertmanager webhook"
    );
    // 200 even when some apps are not scaled here: Alertmanager would only retry.
    Json(json!({"poked": poked, "unknown": unknown, "too_soon": too_soon})).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_compare_whole() {
        assert!(super::same(b"abc", b"abc"));
        assert!(!super::same(b"abc", b"abd"));
        assert!(!super::same(b"ab", b"abc"));
        assert!(!super::same(b"", b"abc"));
    }
}
