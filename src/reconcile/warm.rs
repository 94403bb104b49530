//! The warm pool (`initial-machine-state: suspended`): a Machine fas creates boots,
//! and once `started` fas suspends it, so the next scale-up resumes it in a few
//! hundred milliseconds instead of booting it cold. What Fly cannot suspend is stopped
//! instead (the guarded call's fallback, logged once per app).
//!
//! A deploy discards suspend snapshots (reference addendum): after it, a suspended
//! Machine's next start is a cold boot. A deploy gives each Machine a new
//! `instance_id`, so a pool Machine whose `instance_id` changed since fas suspended it
//! (noted at the call; for one suspended by someone else, since fas first saw it
//! suspended) holds no snapshot, whether Fly still lists it `suspended` or now
//! `stopped` (unconfirmed which: both are handled). Full rounds that have nothing else
//! to do re-warm such Machines — start, then suspend once booted — `REWARM_PER_ROUND`
//! at a time (Fly's per-Machine rate limit is 1 action per second), outside a
//! release, never while the policy asks for more started Machines, and while
//! re-warming they still count as pool Machines, so the pool never looks smaller
//! than it is to the policy and the planner.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::fly::{Drain, Machine, Verb};

use super::app::{Reconciler, Settings};

/// Pool Machines re-warmed at once, per app and round.
pub const REWARM_PER_ROUND: usize = 2;

/// Per app: the `instance_id` of each Machine when fas last saw it suspended.
#[derive(Default)]
pub struct Snapshots(Mutex<HashMap<String, HashMap<String, String>>>);

impl Snapshots {
    /// Notes the suspended Machines of `listed`; returns the pool Machines whose
    /// snapshot a deploy discarded (their `instance_id` changed since).
    pub fn stale(&self, app: &str, listed: &[&Machine]) -> Vec<String> {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let seen = all.entry(app.to_string()).or_default();
        let mut stale = Vec::new();
        seen.retain(|id, _| listed.iter().any(|m| m.id == *id));
        for m in listed {
            let now = &m.instance_id;
            match (m.state.as_str(), seen.get(&m.id)) {
                ("suspended" | "stopped", Some(then)) if then != now && !now.is_empty() => {
                    stale.push(m.id.clone())
                }
                ("suspended", None) => {
                    seen.insert(m.id.clone(), now.clone());
                }
                ("suspended" | "stopped", Some(_)) => {}
                // On its way to suspended: what fas noted at its suspend call stays.
                ("suspending", _) => {}
                // Started (its snapshot used up) or on the move: known afresh next time.
                _ => {
                    seen.remove(&m.id);
                }
            }
        }
        stale.sort();
        stale
    }

    /// fas suspended `m` (listed just before, still started): its snapshot is of this
    /// `instance_id`. Noted at the call, so a deploy right after cannot hide.
    pub fn suspended(&self, app: &str, m: &Machine) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(app.to_string())
            .or_default()
            .insert(m.id.clone(), m.instance_id.clone());
    }

    pub fn forget(&self, app: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(app);
    }

    fn drop_machine(&self, app: &str, id: &str) {
        if let Some(seen) = self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(app)
        {
            seen.remove(id);
        }
    }
}

impl Reconciler {
    /// Suspends the warm-pool Machines the listing shows booted.
    pub(super) async fn warm_up(&self, app: &str, listed: &[Machine]) {
        for id in self.recent.warmed(app, listed) {
            if let Some(m) = listed.iter().find(|m| m.id == id) {
                self.snapshots.suspended(app, m);
            }
            self.one(app, &id, Verb::Suspend, &Drain::default(), false)
                .await;
            tracing::info!(app, machine = %id, "warm pool: booted Machine suspended");
        }
    }

    /// Starts up to `REWARM_PER_ROUND` of the `stale` pool Machines again, to suspend
    /// them once booted (a fresh snapshot). Called by a full round that planned
    /// nothing, in which no release runs and nothing is paused.
    pub(super) async fn rewarm(&self, app: &str, settings: &Settings, stale: &[String]) {
        if stale.is_empty() || settings.dry_run || settings.pause != "none" {
            return;
        }
        match self.fly.current_release_status(app).await {
            Ok(Some(s)) if s == "running" => return,
            Ok(_) => {}
            Err(_) => {
                self.api_error("release");
                return;
            }
        }
        for id in stale.iter().take(REWARM_PER_ROUND) {
            self.recent.warming(app, id, self.clock.now());
            self.snapshots.drop_machine(app, id);
            let done = self
                .one(app, id, Verb::Start, &Drain::default(), false)
                .await;
            self.metrics.inc(
                "fas_warm_pool_rewarms_total",
                &[
                    ("app", app),
                    (
                        "status",
                        if done == crate::fly::Done::Applied {
                            "ok"
                        } else {
                            "failed"
                        },
                    ),
                ],
            );
            tracing::info!(app, machine = %id, "warm pool: a deploy discarded this Machine's snapshot; starting it to suspend it again");
        }
    }
}
