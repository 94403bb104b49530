//! `/__sim/*`: run-time control and observation of the simulator for tests,
//! benchmarks and users: faults, rate limits, releases, Machine states, stats, log.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::faults::FaultRule;
use super::Sim;

pub fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route(
            "/__sim/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/__sim/rate-limits", post(set_rate_limits))
        .route("/__sim/stats", get(stats))
        .route("/__sim/log", get(log))
        .route("/__sim/machines", get(machines))
        .route("/__sim/apps/{app}/release", post(set_release))
        .route("/__sim/apps/{app}/deploy", post(deploy))
        .route("/__sim/apps/{app}/machines/{id}", post(patch_machine))
        .route(
            "/__sim/apps/{app}/machines/{id}/lease",
            post(hold_lease).delete(drop_lease),
        )
}

async fn get_faults(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!(sim
        .faults
        .lock()
        .map(|f| f.rules.clone())
        .unwrap_or_default()))
}

async fn set_faults(State(sim): State<Arc<Sim>>, Json(rules): Json<Vec<FaultRule>>) -> StatusCode {
    if let Ok(mut f) = sim.faults.lock() {
        f.rules = rules;
    }
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(sim): State<Arc<Sim>>) -> StatusCode {
    if let Ok(mut f) = sim.faults.lock() {
        f.rules.clear();
    }
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Toggle {
    enabled: bool,
}

async fn set_rate_limits(State(sim): State<Arc<Sim>>, Json(t): Json<Toggle>) -> StatusCode {
    sim.rate_limits.store(t.enabled, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

async fn stats(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let requests = sim
        .faults
        .lock()
        .map(|f| f.requests.clone())
        .unwrap_or_default();
    let mut machines: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    sim.world.each(|w| {
        w.settle(tokio::time::Instant::now());
        for a in w.apps.values() {
            let per = machines.entry(a.name.clone()).or_default();
            for m in &a.machines {
                *per.entry(m.state.clone()).or_default() += 1;
            }
        }
    });
    let total: u64 = requests.values().sum();
    Json(json!({"total_requests": total, "requests": requests, "machines": machines}))
}

/// Every app's Machines: id, state, and since when (unix ms) it is in that state.
async fn machines(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let listed = sim.world.select(tokio::time::Instant::now(), |a| {
        let list: Vec<Value> = a
            .machines
            .iter()
            .map(|m| json!({"id": m.id, "state": m.state, "since_ms": m.since_ms}))
            .collect();
        Some((a.name.clone(), Value::Array(list)))
    });
    Json(Value::Object(listed.into_iter().collect()))
}

async fn log(State(sim): State<Arc<Sim>>) -> Json<Value> {
    Json(json!(sim
        .faults
        .lock()
        .map(|f| f.log.iter().cloned().collect::<Vec<_>>())
        .unwrap_or_default()))
}

#[derive(Deserialize)]
struct Release {
    status: Option<String>,
}

async fn set_release(
    State(sim): State<Arc<Sim>>,
    Path(app): Path<String>,
    Json(r): Json<Release>,
) -> StatusCode {
    let mut w = sim.world.of(&app);
    match w.apps.get_mut(&app) {
        Some(a) => {
            a.release_status = r.status;
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

/// Sets what a test needs: `state` (any documented state, e.g. a Machine that
/// stopped itself, or `updating`), then optionally `then` after `after_ms` (a
/// transient state that ends), `host_status` (`unreachable`), `stuck` (never leaves
/// its transient state).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MachinePatch {
    state: Option<String>,
    then: Option<String>,
    #[serde(default)]
    after_ms: u64,
    host_status: Option<String>,
    stuck: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldLease {
    owner: String,
    ttl_ms: u64,
}

/// Someone else (a deploy) takes a lease on a Machine; answers its nonce.
async fn hold_lease(
    State(sim): State<Arc<Sim>>,
    Path((app, id)): Path<(String, String)>,
    Json(h): Json<HoldLease>,
) -> Result<Json<Value>, StatusCode> {
    let ttl = std::time::Duration::from_millis(h.ttl_ms);
    match sim.hold_lease(&app, &id, &h.owner, ttl) {
        Some(nonce) => Ok(Json(json!({"nonce": nonce}))),
        None => Err(StatusCode::CONFLICT),
    }
}

async fn drop_lease(
    State(sim): State<Arc<Sim>>,
    Path((app, id)): Path<(String, String)>,
) -> StatusCode {
    let mut w = sim.world.of(&app);
    match w.machine_mut(&app, &id) {
        Some(m) => {
            m.lease = None;
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Deploy {
    /// What a suspended Machine shows after the deploy: `suspended` (default) or
    /// `stopped` (unconfirmed which Fly does; its snapshot is gone either way).
    suspended_become: Option<String>,
}

/// The result of `fly deploy`: every Machine gets a new version (`instance_id`) and
/// image; suspended ones lose their snapshot (their next start boots cold).
async fn deploy(
    State(sim): State<Arc<Sim>>,
    Path(app): Path<String>,
    Json(d): Json<Deploy>,
) -> StatusCode {
    let mut w = sim.world.of(&app);
    w.settle_app(&app, tokio::time::Instant::now());
    let Some(ids) = w
        .apps
        .get(&app)
        .map(|a| a.machines.iter().map(|m| m.id.clone()).collect::<Vec<_>>())
    else {
        return StatusCode::NOT_FOUND;
    };
    let stopped = d.suspended_become.as_deref() == Some("stopped");
    for id in ids {
        let version = w.rng.ulid();
        if let Some(m) = w.machine_mut(&app, &id) {
            m.instance_id = version;
            if let Some(image) = m.config.get_mut("image") {
                *image = json!(format!("registry.fly.io/{app}:deployment-2"));
            }
            if m.state == "suspended" {
                m.cold = true;
                if stopped {
                    m.state = "stopped".into();
                }
            }
        }
    }
    StatusCode::NO_CONTENT
}

async fn patch_machine(
    State(sim): State<Arc<Sim>>,
    Path((app, id)): Path<(String, String)>,
    Json(p): Json<MachinePatch>,
) -> StatusCode {
    let mut w = sim.world.of(&app);
    let Some(m) = w.machine_mut(&app, &id) else {
        return StatusCode::NOT_FOUND;
    };
    if let Some(s) = p.state {
        m.state = s;
        m.pending.clear();
    }
    if let Some(t) = p.then {
        let at = tokio::time::Instant::now() + std::time::Duration::from_millis(p.after_ms);
        m.pending = vec![(at, t)];
    }
    if let Some(h) = p.host_status {
        m.host_status = h;
    }
    if let Some(s) = p.stuck {
        m.stuck = s;
    }
    StatusCode::NO_CONTENT
}
