//! The simulator's Machine endpoints: list (with its filters and optional lag),
//! create, get, destroy and wait (start, stop and suspend are in lifecycle.rs), with
//! the status codes and error texts of the reference, and the lease check on every
//! mutating call.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::http::{err, run, Q};
use super::lease;
use super::lifecycle;
use super::world::transition;
use super::Sim;

pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route(
            "/v1/apps/{app}/machines",
            get(list_machines).post(create_machine),
        )
        .route(
            "/v1/apps/{app}/machines/{id}",
            get(get_machine).delete(destroy_machine),
        )
        .route("/v1/apps/{app}/machines/{id}/start", post(lifecycle::start))
        .route("/v1/apps/{app}/machines/{id}/stop", post(lifecycle::stop))
        .route(
            "/v1/apps/{app}/machines/{id}/suspend",
            post(lifecycle::suspend),
        )
        .route("/v1/apps/{app}/machines/{id}/wait", get(wait_machine))
        .merge(lease::routes())
        .merge(super::drain::routes())
}

async fn list_machines(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(app): Path<String>,
    q: Q,
) -> Response {
    run(
        &sim,
        &headers,
        (Method::GET, format!("/v1/apps/{app}/machines")),
        ("list", &app, &app),
        |w, now| {
            let Some(a) = w.apps.get(&app) else {
                return err(StatusCode::NOT_FOUND, "app not found");
            };
            let deleted = q.get("include_deleted").is_some_and(|v| v == "true");
            let states: Vec<&str> = q
                .get("state")
                .map(|s| s.split(',').collect())
                .unwrap_or_default();
            let meta: Vec<(&str, &str)> = q
                .iter()
                .filter_map(|(k, v)| k.strip_prefix("metadata.").map(|k| (k, v.as_str())))
                .collect();
            // With list lag, a Machine is shown as it was (or not at all) for a while.
            let listed = a.machines.iter().filter_map(|m| {
                let state = m.listed_state(now)?;
                Some((m, state))
            });
            let machines: Vec<Value> = listed
                .filter(|(_, s)| deleted || *s != "destroyed")
                .filter(|(m, _)| q.get("region").is_none_or(|r| *r == m.region))
                .filter(|(_, s)| states.is_empty() || states.contains(s))
                .filter(|(m, _)| {
                    meta.iter().all(|(k, v)| {
                        m.config
                            .pointer(&format!("/metadata/{k}"))
                            .and_then(Value::as_str)
                            == Some(*v)
                    })
                })
                .map(|(m, s)| {
                    let mut v = w.machine_json(m);
                    v["state"] = json!(s);
                    v
                })
                .collect();
            (StatusCode::OK, Value::Array(machines))
        },
    )
    .await
}

async fn create_machine(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(app): Path<String>,
    body: Json<Value>,
) -> Response {
    run(
        &sim,
        &headers,
        (Method::POST, format!("/v1/apps/{app}/machines")),
        ("create", &app, &app),
        |w, now| {
            if !w.apps.contains_key(&app) {
                return err(StatusCode::NOT_FOUND, "app not found");
            }
            let Some(config) = body.get("config").filter(|c| {
                c.get("image")
                    .and_then(Value::as_str)
                    .is_some_and(|i| !i.is_empty())
            }) else {
                return err(
                    StatusCode::BAD_REQUEST,
                    "invalid config: config.image is required",
                );
            };
            let s = |k: &str| {
                body.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let skip = body
                .get("skip_launch")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            match w.create_machine(&app, config.clone(), &s("region"), &s("name"), skip, now) {
                Some(m) => (StatusCode::OK, w.machine_json(&m)),
                None => err(StatusCode::NOT_FOUND, "app not found"),
            }
        },
    )
    .await
}

async fn get_machine(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    run(
        &sim,
        &headers,
        (Method::GET, format!("/v1/apps/{app}/machines/{id}")),
        ("get", &app, &id),
        |w, _| match w.machine_mut(&app, &id).cloned() {
            Some(m) => (StatusCode::OK, w.machine_json(&m)),
            None => err(StatusCode::NOT_FOUND, "machine not found"),
        },
    )
    .await
}

async fn destroy_machine(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
    q: Q,
) -> Response {
    let force = ["force", "kill"]
        .iter()
        .any(|k| q.get(*k).is_some_and(|v| v == "true"));
    let nonce = lease::nonce(&headers);
    run(&sim, &headers, (Method::DELETE, format!("/v1/apps/{app}/machines/{id}")), ("destroy", &app, &id), |w, now| {
        let l = w.latencies.clone();
        let delay = l.jittered(l.destroy_ms, &mut w.rng);
        let lag = Duration::from_millis(l.list_lag_ms);
        let Some(m) = w.machine_mut(&app, &id) else { return err(StatusCode::NOT_FOUND, "machine not found") };
        if let Some(answer) = lease::blocked(m, nonce.as_deref(), now) {
            return answer;
        }
        let quiet = matches!(m.state.as_str(), "stopped" | "suspended" | "created" | "failed");
        if !quiet && !force && m.state != "destroying" {
            return err(
                StatusCode::PRECONDITION_FAILED,
                "failed_precondition: unable to destroy machine, not currently stopped, suspended, failed or created",
            );
        }
        if m.state != "destroying" {
            if !lag.is_zero() {
                m.stale = Some((now + lag, m.state.clone()));
            }
            transition(m, "destroying", "destroyed", delay, now, ("destroy", "destroyed"));
        }
        (StatusCode::OK, json!({"ok": true}))
    })
    .await
}

async fn wait_machine(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
    q: Q,
) -> Response {
    let want = q.get("state").cloned().unwrap_or_else(|| "started".into());
    // Older docs (what fly-go v0.1.36 follows) require the version to wait on for
    // `stopped`; the strict reading is the one fas must survive.
    if want == "stopped" && q.get("instance_id").is_none_or(|v| v.is_empty()) {
        let path = format!("/v1/apps/{app}/machines/{id}/wait");
        return run(
            &sim,
            &headers,
            (Method::GET, path),
            ("wait", &app, &id),
            |_, _| {
                err(
                    StatusCode::BAD_REQUEST,
                    "instance_id is required when waiting for state stopped",
                )
            },
        )
        .await;
    }
    let secs = q
        .get("timeout")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(60)
        .clamp(1, 60);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let path = format!("/v1/apps/{app}/machines/{id}/wait");
    loop {
        let state_of = |a: &super::world::SimApp| {
            let m = a.machines.iter().find(|m| m.id == id);
            m.map(|m| m.state.clone())
        };
        let reached = sim.world.read_app(&app, state_of).flatten();
        let done = reached.as_deref() == Some(want.as_str());
        if done || reached.is_none() || Instant::now() >= deadline {
            let answer = match reached {
                None => err(StatusCode::NOT_FOUND, "machine not found"),
                Some(s) if s == want => (StatusCode::OK, json!({"ok": true, "state": s})),
                Some(_) => err(
                    StatusCode::REQUEST_TIMEOUT,
                    "deadline exceeded waiting for machine state",
                ),
            };
            return run(
                &sim,
                &headers,
                (Method::GET, path),
                ("wait", &app, &id),
                move |_, _| answer,
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
