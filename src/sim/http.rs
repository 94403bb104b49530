//! The simulator's HTTP surface: the Machines API endpoints fas uses, with the real
//! paths, JSON shapes, status codes and error bodies, and a GraphQL subset.
//! Every call goes through `run`: auth, rate limit, fault injection, log.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::time::Instant;

use super::world::{transition, World};
use super::Sim;
use crate::fly::limit::Action;

type Q = Query<HashMap<String, String>>;
type Answer = (StatusCode, Value);

fn err(status: StatusCode, msg: &str) -> Answer {
    (status, json!({"error": msg}))
}

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/v1/apps", get(list_apps).post(create_app))
        .route("/v1/apps/{app}", get(get_app).delete(delete_app))
        .route(
            "/v1/apps/{app}/machines",
            get(list_machines).post(create_machine),
        )
        .route(
            "/v1/apps/{app}/machines/{id}",
            get(get_machine).delete(destroy_machine),
        )
        .route("/v1/apps/{app}/machines/{id}/start", post(start_machine))
        .route("/v1/apps/{app}/machines/{id}/stop", post(stop_machine))
        .route("/v1/apps/{app}/machines/{id}/wait", get(wait_machine))
        .route("/graphql", post(super::graphql::handle))
        .merge(super::admin::routes())
        .with_state(sim)
}

/// Carries out one API request: auth, rate limit, faults, the operation, the log.
pub async fn run(
    sim: &Sim,
    headers: &HeaderMap,
    (method, path): (Method, String),
    (action, app, scope): (&str, &str, &str),
    op: impl FnOnce(&mut World, Instant) -> Answer,
) -> Response {
    let answer = answer(sim, headers, action, app, scope, op).await;
    sim.record(&method, &path, action, app, answer.0.as_u16());
    let mut resp = answer.1.into_response();
    let id = format!(
        "{:016x}",
        sim.world.lock().map(|mut w| w.rng.next_u64()).unwrap_or(0)
    );
    resp.headers_mut().insert(
        "fly-request-id",
        HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("0")),
    );
    resp
}

async fn answer(
    sim: &Sim,
    headers: &HeaderMap,
    action: &str,
    app: &str,
    scope: &str,
    op: impl FnOnce(&mut World, Instant) -> Answer,
) -> (StatusCode, Response) {
    let json_resp = |(s, v): Answer| (s, (s, Json(v)).into_response());
    if !sim.authorized(headers) {
        return json_resp(err(
            StatusCode::UNAUTHORIZED,
            "You must be authenticated to view this.",
        ));
    }
    if sim.rate_limits.load(std::sync::atomic::Ordering::Relaxed) {
        let limit_action = match action {
            "list" => Action::List,
            "get" => Action::Get,
            "create" => Action::Create,
            "start" => Action::Start,
            "stop" => Action::Stop,
            "destroy" => Action::Destroy,
            "wait" => Action::Wait,
            _ => Action::Apps,
        };
        if let Err(wait) = sim.buckets.try_take(limit_action, scope) {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"error": "rate limit exceeded"})),
            )
                .into_response();
            r.headers_mut().insert(
                "retry-after",
                HeaderValue::from(wait.as_secs_f64().ceil().max(1.0) as u64),
            );
            return (StatusCode::TOO_MANY_REQUESTS, r);
        }
    }
    let fault = sim.pick_fault(action, app);
    if let Some(f) = &fault {
        if f.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
        }
        if f.hang && !f.apply_first {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    let fail = |status: u16, retry_after: Option<u64>| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (
            status,
            Json(json!({"error": format!("injected fault: {}", status.as_u16())})),
        )
            .into_response();
        if let Some(s) = retry_after {
            r.headers_mut().insert("retry-after", HeaderValue::from(s));
        }
        (status, r)
    };
    if let Some(f) = fault.as_ref().filter(|f| !f.apply_first) {
        if let Some(status) = f.status {
            return fail(status, f.retry_after);
        }
    }
    let result = {
        let mut world = sim.world.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        world.settle(now);
        op(&mut world, now)
    };
    if let Some(f) = fault.filter(|f| f.apply_first) {
        if f.hang {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if let Some(status) = f.status {
            return fail(status, f.retry_after);
        }
    }
    json_resp(result)
}

async fn list_apps(State(sim): State<Arc<Sim>>, headers: HeaderMap, q: Q) -> Response {
    let org = q.get("org_slug").cloned().unwrap_or_default();
    run(
        &sim,
        &headers,
        (Method::GET, "/v1/apps".into()),
        ("apps", "", &org),
        |w, _| {
            if org.is_empty() {
                return err(StatusCode::BAD_REQUEST, "org_slug is required");
            }
            let apps: Vec<Value> = w
                .apps
                .values()
                .filter(|a| a.org == org)
                .map(|a| app_json(a, true))
                .collect();
            (
                StatusCode::OK,
                json!({"total_apps": apps.len(), "apps": apps}),
            )
        },
    )
    .await
}

fn app_json(a: &super::world::SimApp, counts: bool) -> Value {
    let live = a.machines.iter().filter(|m| m.state != "destroyed").count();
    let mut v = json!({"id": a.id, "name": a.name, "status": if live > 0 { "deployed" } else { "pending" },
        "organization": {"name": a.org, "slug": a.org}});
    if counts {
        v["machine_count"] = json!(live);
        v["volume_count"] = json!(0);
        v["network"] = json!("default");
    }
    v
}

async fn create_app(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    body: Json<Value>,
) -> Response {
    let name = body
        .get("app_name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let org = body
        .get("org_slug")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    run(
        &sim,
        &headers,
        (Method::POST, "/v1/apps".into()),
        ("apps", &name, &org),
        |w, _| {
            if name.is_empty() || org.is_empty() {
                return err(
                    StatusCode::BAD_REQUEST,
                    "app_name and org_slug are required",
                );
            }
            match w.create_app(&name, &org) {
                Ok(a) => (StatusCode::CREATED, json!({"id": a.id, "created_at": 0})),
                Err(e) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"error": e, "status": "name_taken"}),
                ),
            }
        },
    )
    .await
}

async fn get_app(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Response {
    run(
        &sim,
        &headers,
        (Method::GET, format!("/v1/apps/{app}")),
        ("apps", &app, &app),
        |w, _| match w.apps.get(&app) {
            Some(a) => (StatusCode::OK, app_json(a, false)),
            None => err(StatusCode::NOT_FOUND, "app not found"),
        },
    )
    .await
}

async fn delete_app(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path(app): Path<String>,
) -> Response {
    run(
        &sim,
        &headers,
        (Method::DELETE, format!("/v1/apps/{app}")),
        ("apps", &app, &app),
        |w, _| match w.apps.remove(&app) {
            Some(_) => (StatusCode::ACCEPTED, json!({})),
            None => err(StatusCode::NOT_FOUND, "app not found"),
        },
    )
    .await
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
        |w, _| {
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
            let machines: Vec<_> = a
                .machines
                .iter()
                .filter(|m| deleted || m.state != "destroyed")
                .filter(|m| q.get("region").is_none_or(|r| *r == m.region))
                .filter(|m| states.is_empty() || states.contains(&m.state.as_str()))
                .filter(|m| {
                    meta.iter().all(|(k, v)| {
                        m.config
                            .pointer(&format!("/metadata/{k}"))
                            .and_then(Value::as_str)
                            == Some(*v)
                    })
                })
                .cloned()
                .collect();
            let list: Vec<Value> = machines.iter().map(|m| w.machine_json(m)).collect();
            (StatusCode::OK, Value::Array(list))
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

fn unreachable_host(state: &str) -> Answer {
    err(
        StatusCode::SERVICE_UNAVAILABLE,
        &format!("host unreachable, machine is {state}"),
    )
}

async fn start_machine(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    run(
        &sim,
        &headers,
        (Method::POST, format!("/v1/apps/{app}/machines/{id}/start")),
        ("start", &app, &id),
        |w, now| {
            let delay = Duration::from_millis(w.latencies.start_ms);
            let Some(m) = w.machine_mut(&app, &id) else {
                return err(StatusCode::NOT_FOUND, "machine not found");
            };
            if m.host_status != "ok" {
                return unreachable_host(&m.state);
            }
            match m.state.as_str() {
                "stopped" | "suspended" => {
                    let previous = m.state.clone();
                    transition(m, "starting", "started", delay, now, ("start", "started"));
                    (
                        StatusCode::OK,
                        json!({"previous_state": previous, "migrated": false, "new_host": ""}),
                    )
                }
                "created" => err(
                    StatusCode::PRECONDITION_FAILED,
                    "failed_precondition: unable to start machine from current state: 'created'",
                ),
                "replacing" => err(
                    StatusCode::PRECONDITION_FAILED,
                    "failed_precondition: machine getting replaced, refusing to start",
                ),
                _ => err(
                    StatusCode::PRECONDITION_FAILED,
                    "failed_precondition: machine still active, refusing to start",
                ),
            }
        },
    )
    .await
}

async fn stop_machine(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    run(
        &sim,
        &headers,
        (Method::POST, format!("/v1/apps/{app}/machines/{id}/stop")),
        ("stop", &app, &id),
        |w, now| {
            let delay = Duration::from_millis(w.latencies.stop_ms);
            let Some(m) = w.machine_mut(&app, &id) else {
                return err(StatusCode::NOT_FOUND, "machine not found");
            };
            if m.host_status != "ok" {
                return unreachable_host(&m.state);
            }
            // Stopping a stopped Machine is a no-op (unconfirmed upstream; the safe reading).
            if matches!(m.state.as_str(), "started" | "starting") {
                transition(m, "stopping", "stopped", delay, now, ("exit", "stopped"));
            }
            (StatusCode::OK, json!({"ok": true}))
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
    run(&sim, &headers, (Method::DELETE, format!("/v1/apps/{app}/machines/{id}")), ("destroy", &app, &id), |w, now| {
        let delay = Duration::from_millis(w.latencies.destroy_ms);
        let Some(m) = w.machine_mut(&app, &id) else { return err(StatusCode::NOT_FOUND, "machine not found") };
        let quiet = matches!(m.state.as_str(), "stopped" | "suspended" | "created" | "failed");
        if !quiet && !force {
            return err(
                StatusCode::PRECONDITION_FAILED,
                "failed_precondition: unable to destroy machine, not currently stopped, suspended, failed or created",
            );
        }
        if m.state != "destroying" {
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
    let secs = q
        .get("timeout")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(60)
        .clamp(1, 60);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let path = format!("/v1/apps/{app}/machines/{id}/wait");
    loop {
        let reached = {
            let mut w = sim.world.lock().unwrap_or_else(|e| e.into_inner());
            w.settle(Instant::now());
            let all = w.apps.get(&app).map(|a| {
                a.machines
                    .iter()
                    .find(|m| m.id == id)
                    .map(|m| m.state.clone())
            });
            all.flatten()
        };
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
