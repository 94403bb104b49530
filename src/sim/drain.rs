//! The simulator's cordon/uncordon and metadata endpoints (reference, addendum): a
//! cordoned Machine shows `"cordoned": true`; metadata keys are set and removed in
//! `config.metadata` without a restart (204, no body). Cordon meets the lease check like
//! a stop; metadata does not (a worker marks itself while a deploy holds its lease).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::http::{err, run, Answer};
use super::lifecycle::call;
use super::world::World;
use super::Sim;

pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/v1/apps/{app}/machines/{id}/cordon", post(cordon))
        .route("/v1/apps/{app}/machines/{id}/uncordon", post(uncordon))
        .route("/v1/apps/{app}/machines/{id}/metadata", get(get_metadata))
        .route(
            "/v1/apps/{app}/machines/{id}/metadata/{key}",
            post(set_metadata).delete(delete_metadata),
        )
}

async fn cordon(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    set_cordon(&sim, &headers, (&app, &id), true).await
}

async fn uncordon(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    set_cordon(&sim, &headers, (&app, &id), false).await
}

async fn set_cordon(sim: &Sim, headers: &HeaderMap, (app, id): (&str, &str), on: bool) -> Response {
    let op = move |m: &mut super::world::SimMachine, _: &_, _| {
        m.cordoned = on;
        (StatusCode::OK, json!({"ok": true}))
    };
    let verb = if on { "cordon" } else { "uncordon" };
    call(sim, headers, (app, id), verb, &op).await
}

/// The Machine's `config.metadata`, made an object if it is not one.
fn metadata<'a>(
    w: &'a mut World,
    app: &str,
    id: &str,
) -> Option<&'a mut serde_json::Map<String, Value>> {
    let m = w.machine_mut(app, id)?;
    if !m.config["metadata"].is_object() {
        m.config["metadata"] = json!({});
    }
    m.config["metadata"].as_object_mut()
}

async fn metadata_call(
    sim: &Sim,
    headers: &HeaderMap,
    (method, app, id, key): (Method, &str, &str, &str),
    op: impl FnOnce(&mut serde_json::Map<String, Value>) -> Answer,
) -> Response {
    let path = format!("/v1/apps/{app}/machines/{id}/metadata/{key}");
    run(
        sim,
        headers,
        (method, path),
        ("metadata", app, id),
        |w, _| match metadata(w, app, id) {
            Some(meta) => op(meta),
            None => err(StatusCode::NOT_FOUND, "machine not found"),
        },
    )
    .await
}

async fn get_metadata(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    metadata_call(&sim, &headers, (Method::GET, &app, &id, ""), |meta| {
        (StatusCode::OK, Value::Object(meta.clone()))
    })
    .await
}

async fn set_metadata(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id, key)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let value = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b.get("value").and_then(Value::as_str).map(str::to_string));
    metadata_call(
        &sim,
        &headers,
        (Method::POST, &app, &id, &key),
        |meta| match value {
            Some(v) => {
                meta.insert(key.clone(), Value::String(v));
                (StatusCode::NO_CONTENT, Value::Null)
            }
            None => err(StatusCode::BAD_REQUEST, "body must be {\"value\": \"...\"}"),
        },
    )
    .await
}

async fn delete_metadata(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id, key)): Path<(String, String, String)>,
) -> Response {
    metadata_call(&sim, &headers, (Method::DELETE, &app, &id, &key), |meta| {
        meta.remove(&key);
        (StatusCode::NO_CONTENT, Value::Null)
    })
    .await
}
