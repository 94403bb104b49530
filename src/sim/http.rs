//! The simulator's HTTP surface: the Machines API endpoints fas uses, with the real
//! paths, JSON shapes, status codes and error bodies, and a GraphQL subset.
//! Every call goes through `run`: auth, rate limit, fault injection, log. The
//! Machine endpoints are in machines.rs.

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

use super::world::World;
use super::{Sim, Worlds};
use crate::fly::limit::Action;

pub type Q = Query<HashMap<String, String>>;
pub type Answer = (StatusCode, Value);

pub fn err(status: StatusCode, msg: &str) -> Answer {
    (status, json!({"error": msg}))
}

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/v1/apps", get(list_apps).post(create_app))
        .route("/v1/apps/{app}", get(get_app).delete(delete_app))
        .merge(super::machines::routes())
        .route("/graphql", post(super::graphql::handle))
        .merge(super::admin::routes())
        .with_state(sim)
}

/// Carries out one API request about `app`: auth, rate limit, faults, the
/// operation on the app's shard of the world (its Machines settled first), the log.
pub async fn run(
    sim: &Sim,
    headers: &HeaderMap,
    request: (Method, String),
    (action, app, scope): (&str, &str, &str),
    op: impl FnOnce(&mut World, Instant) -> Answer,
) -> Response {
    let on_shard = |now| {
        let mut world = sim.world.of(app);
        world.settle_app(app, now);
        op(&mut world, now)
    };
    run_on(sim, headers, request, (action, app, scope), on_shard).await
}

/// `run` for a request that may read a whole org (list apps, GraphQL): the
/// operation visits the shards itself.
pub async fn run_org(
    sim: &Sim,
    headers: &HeaderMap,
    request: (Method, String),
    (action, app, scope): (&str, &str, &str),
    op: impl FnOnce(&Worlds, Instant) -> Answer,
) -> Response {
    let on_all = |now| op(&sim.world, now);
    run_on(sim, headers, request, (action, app, scope), on_all).await
}

async fn run_on(
    sim: &Sim,
    headers: &HeaderMap,
    (method, path): (Method, String),
    (action, app, scope): (&str, &str, &str),
    op: impl FnOnce(Instant) -> Answer,
) -> Response {
    let answer = answer(sim, headers, action, app, scope, op).await;
    sim.record(headers, (&method, &path), action, app, answer.0.as_u16());
    let mut resp = answer.1.into_response();
    let id = format!("{:016x}", sim.request_id());
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
    op: impl FnOnce(Instant) -> Answer,
) -> (StatusCode, Response) {
    // 204 (metadata set/delete) has no body.
    let json_resp = |(s, v): Answer| match s {
        StatusCode::NO_CONTENT => (s, s.into_response()),
        _ => (s, (s, Json(v)).into_response()),
    };
    if !sim.authorized(headers) {
        return json_resp(err(
            StatusCode::UNAUTHORIZED,
            "You must be authenticated to view this.",
        ));
    }
    if sim.rate_limits.load(std::sync::atomic::Ordering::Relaxed) {
        let limit_action = match action {
            "list" => Action::List,
            "get" | "metadata" => Action::Get,
            "create" => Action::Create,
            "start" => Action::Start,
            "stop" | "cordon" | "uncordon" => Action::Stop,
            "destroy" => Action::Destroy,
            "wait" => Action::Wait,
            "suspend" => Action::Suspend,
            "lease" => Action::Lease,
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
    let result = op(Instant::now());
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
    run_org(
        &sim,
        &headers,
        (Method::GET, "/v1/apps".into()),
        ("apps", "", &org),
        |worlds, now| {
            if org.is_empty() {
                return err(StatusCode::BAD_REQUEST, "org_slug is required");
            }
            let apps = worlds.select(now, |a| (a.org == org).then(|| app_json(a, true)));
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
