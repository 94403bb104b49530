//! The simulator's Machine leases (reference §2.9): `POST/GET/DELETE .../lease`, the
//! `fly-machine-lease-nonce` header, and the 409 a mutating call meets on a Machine
//! leased by someone else (a `fly deploy` in progress, another tool).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::http::{err, run, Answer, Q};
use super::world::{Lease, SimMachine, World};
use super::Sim;

pub const NONCE_HEADER: &str = "fly-machine-lease-nonce";

pub fn routes() -> Router<Arc<Sim>> {
    Router::new().route(
        "/v1/apps/{app}/machines/{id}/lease",
        post(acquire).get(read).delete(release),
    )
}

pub fn nonce(headers: &HeaderMap) -> Option<String> {
    headers
        .get(NONCE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .filter(|s| !s.is_empty())
}

/// The 409 for a call on a Machine whose lease `nonce` does not open, else None.
pub fn blocked(m: &SimMachine, nonce: Option<&str>, now: Instant) -> Option<Answer> {
    let l = m.lease_at(now)?;
    if nonce == Some(l.nonce.as_str()) {
        return None;
    }
    Some((
        StatusCode::CONFLICT,
        json!({"status": "error", "code": "invalid",
            "message": format!("machine ID {} lease currently held by {}, expires at {}", m.id, l.owner,
                super::world::timestamp(l.expires_unix))}),
    ))
}

/// Grants (or, with the holder's nonce, refreshes) a lease; None when the Machine is
/// unknown or someone else holds it.
pub fn grant(
    w: &mut World,
    app: &str,
    id: &str,
    owner: &str,
    description: &str,
    ttl: Duration,
    now: Instant,
) -> Option<String> {
    let nonce = format!("{:016x}", w.rng.next_u64());
    let m = w.machine_mut(app, id)?;
    let nonce = m.lease_at(now).map(|l| l.nonce.clone()).unwrap_or(nonce);
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        + ttl;
    m.lease = Some(Lease {
        nonce: nonce.clone(),
        owner: owner.into(),
        description: description.into(),
        expires_at: now + ttl,
        expires_unix: unix.as_secs(),
    });
    Some(nonce)
}

fn lease_json(m: &SimMachine, l: &Lease) -> Value {
    json!({"status": "success", "data": {"nonce": l.nonce, "expires_at": l.expires_unix,
        "owner": l.owner, "description": l.description, "version": m.instance_id}})
}

async fn acquire(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
    q: Q,
    body: Option<axum::Json<Value>>,
) -> Response {
    // fly-go sends `?ttl=`; the docs show a JSON body. Both are read.
    let ttl = q
        .get("ttl")
        .and_then(|t| t.parse::<u64>().ok())
        .or_else(|| {
            body.as_ref()
                .and_then(|b| b.get("ttl"))
                .and_then(Value::as_u64)
        })
        .unwrap_or(30)
        .clamp(1, 3600);
    let description = body
        .as_ref()
        .and_then(|b| b.get("description"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let presented = nonce(&headers);
    let path = format!("/v1/apps/{app}/machines/{id}/lease");
    run(
        &sim,
        &headers,
        (Method::POST, path),
        ("lease", &app, &id),
        |w, now| {
            let Some(m) = w.machine_mut(&app, &id) else {
                return err(StatusCode::NOT_FOUND, "machine not found");
            };
            if let Some(answer) = blocked(m, presented.as_deref(), now) {
                return answer;
            }
            match grant(
                w,
                &app,
                &id,
                "fas@sim.test",
                &description,
                Duration::from_secs(ttl),
                now,
            ) {
                Some(_) => {
                    let m = w.machine_mut(&app, &id).expect("just leased");
                    let l = m.lease.clone().expect("just leased");
                    (StatusCode::CREATED, lease_json(m, &l))
                }
                None => err(StatusCode::NOT_FOUND, "machine not found"),
            }
        },
    )
    .await
}

async fn read(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    let path = format!("/v1/apps/{app}/machines/{id}/lease");
    run(
        &sim,
        &headers,
        (Method::GET, path),
        ("lease", &app, &id),
        |w, now| {
            let Some(m) = w.machine_mut(&app, &id) else {
                return err(StatusCode::NOT_FOUND, "machine not found");
            };
            match m.lease_at(now).cloned() {
                Some(l) => (StatusCode::OK, lease_json(m, &l)),
                None => err(StatusCode::NOT_FOUND, "lease not found"),
            }
        },
    )
    .await
}

async fn release(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    let presented = nonce(&headers);
    let path = format!("/v1/apps/{app}/machines/{id}/lease");
    run(
        &sim,
        &headers,
        (Method::DELETE, path),
        ("lease", &app, &id),
        |w, now| {
            let Some(m) = w.machine_mut(&app, &id) else {
                return err(StatusCode::NOT_FOUND, "machine not found");
            };
            if m.lease_at(now).is_none() {
                return err(StatusCode::NOT_FOUND, "lease not found");
            }
            if let Some(answer) = blocked(m, presented.as_deref(), now) {
                return answer;
            }
            m.lease = None;
            (StatusCode::OK, json!({"status": "success"}))
        },
    )
    .await
}
