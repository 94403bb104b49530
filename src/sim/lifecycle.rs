//! The simulator's start, stop and suspend (reference §2.4-2.6, §5): which states
//! each works from, the transient state it passes through, and the 412s otherwise.
//! Every one meets the lease check and the host check first.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::http::{err, run, Answer};
use super::lease;
use super::world::{transition, SimMachine};
use super::Sim;

/// This call's jittered latencies, drawn before the Machine is borrowed.
pub(super) struct Delays {
    start: Duration,
    resume: Duration,
    stop: Duration,
    suspend: Duration,
}

type Op<'a> = &'a (dyn Fn(&mut SimMachine, &Delays, Instant) -> Answer + Send + Sync);

/// One lifecycle call on a Machine: it must exist, a lease on it must be opened by
/// the caller's nonce, and its host must answer; then `op` decides.
pub(super) async fn call(
    sim: &Sim,
    headers: &HeaderMap,
    (app, id): (&str, &str),
    verb: &str,
    op: Op<'_>,
) -> Response {
    let nonce = lease::nonce(headers);
    let path = format!("/v1/apps/{app}/machines/{id}/{verb}");
    run(
        sim,
        headers,
        (Method::POST, path),
        (verb, app, id),
        |w, now| {
            let l = w.latencies.clone();
            let d = Delays {
                start: l.jittered(l.start_ms, &mut w.rng),
                resume: l.jittered(l.resume_ms, &mut w.rng),
                stop: l.jittered(l.stop_ms, &mut w.rng),
                suspend: l.jittered(l.suspend_ms, &mut w.rng),
            };
            let clears_cordon = verb == "start" && w.cordon_clears_on_start;
            let Some(m) = w.machine_mut(app, id) else {
                return err(StatusCode::NOT_FOUND, "machine not found");
            };
            if let Some(answer) = lease::blocked(m, nonce.as_deref(), now) {
                return answer;
            }
            if m.host_status != "ok" {
                let msg = format!("host unreachable, machine is {}", m.state);
                return err(StatusCode::SERVICE_UNAVAILABLE, &msg);
            }
            let answer = op(m, &d, now);
            if clears_cordon && answer.0.is_success() {
                m.cordoned = false;
            }
            answer
        },
    )
    .await
}

pub async fn start(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    call(&sim, &headers, (&app, &id), "start", &start_op).await
}

/// The stop's body (`signal`, `timeout`) is kept on the Machine for tests to read.
pub async fn stop(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let body: Option<Value> = serde_json::from_slice(&body).ok();
    let op = move |m: &mut SimMachine, d: &Delays, now: Instant| {
        m.last_stop = body.clone();
        stop_op(m, d, now)
    };
    call(&sim, &headers, (&app, &id), "stop", &op).await
}

pub async fn suspend(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    Path((app, id)): Path<(String, String)>,
) -> Response {
    call(&sim, &headers, (&app, &id), "suspend", &suspend_op).await
}

/// Start works from `stopped`, `suspended` (a resume) and `created` once its image
/// is ready; the observed 412s otherwise.
fn start_op(m: &mut SimMachine, d: &Delays, now: Instant) -> Answer {
    let previous = m.state.clone();
    match previous.as_str() {
        "created" if m.ready_at > now || !m.pending.is_empty() => err(
            StatusCode::PRECONDITION_FAILED,
            "failed_precondition: unable to start machine from current state: 'created'",
        ),
        "stopped" | "created" | "suspended" => {
            let delay = if previous == "suspended" && !m.cold {
                d.resume
            } else {
                d.start
            };
            m.cold = false;
            transition(m, "starting", "started", delay, now, ("start", "started"));
            (
                StatusCode::OK,
                json!({"previous_state": previous, "migrated": false, "new_host": ""}),
            )
        }
        "replacing" => err(
            StatusCode::PRECONDITION_FAILED,
            "failed_precondition: machine getting replaced, refusing to start",
        ),
        _ => err(
            StatusCode::PRECONDITION_FAILED,
            "failed_precondition: machine still active, refusing to start",
        ),
    }
}

fn stop_op(m: &mut SimMachine, d: &Delays, now: Instant) -> Answer {
    match m.state.as_str() {
        "started" | "starting" | "restarting" => {
            transition(m, "stopping", "stopped", d.stop, now, ("exit", "stopped"))
        }
        // Stopping a suspended Machine discards its snapshot (docs).
        "suspended" => transition(
            m,
            "stopped",
            "stopped",
            Duration::ZERO,
            now,
            ("exit", "stopped"),
        ),
        // Stopping a stopped Machine is a no-op (unconfirmed upstream; the safe reading).
        _ => {}
    }
    (StatusCode::OK, json!({"ok": true}))
}

fn suspend_op(m: &mut SimMachine, d: &Delays, now: Instant) -> Answer {
    if let Some(why) = unsuspendable(&m.config) {
        return err(
            StatusCode::BAD_REQUEST,
            &format!("unable to suspend machine: {why}"),
        );
    }
    match m.state.as_str() {
        "started" => {
            transition(
                m,
                "suspending",
                "suspended",
                d.suspend,
                now,
                ("suspend", "suspended"),
            );
            (StatusCode::OK, json!({"ok": true}))
        }
        "suspending" | "suspended" => (StatusCode::OK, json!({"ok": true})),
        other => err(
            StatusCode::PRECONDITION_FAILED,
            &format!(
                "failed_precondition: unable to suspend machine from current state: '{other}'"
            ),
        ),
    }
}

/// Why Fly would refuse to suspend a Machine of this config (its docs: at most 2 GB
/// of memory, no swap, no schedule). The status and text of Fly's refusal are
/// unconfirmed; a 400 is the simulator's reading.
fn unsuspendable(config: &Value) -> Option<&'static str> {
    let num = |p: &str| config.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    if num("/guest/memory_mb") > 2048 {
        return Some("more than 2 GB of memory");
    }
    if num("/init/swap_size_mb") > 0 {
        return Some("swap is configured");
    }
    let schedule = config.get("schedule").and_then(Value::as_str);
    if schedule.is_some_and(|s| !s.is_empty()) {
        return Some("the machine has a schedule");
    }
    None
}
