//! Carrying out a plan on Fly, safely while Machines move and others act on them:
//! each start, stop, suspend or destroy runs under a short lease of fas's own; a
//! Machine leased by someone else (a deploy) is skipped, not failed; an ambiguous
//! answer (5xx, timeout, dropped connection) is settled by reading the Machine back
//! before anything else is tried; and a round never acts on more Machines than the
//! plan asked for.

use std::time::Duration;

use crate::fly::{CreateMachine, FlyError};

use super::app::Reconciler;
use super::plan::Plan;

/// The per-Machine calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Verb {
    Start,
    Stop,
    Suspend,
    Destroy,
}

impl Verb {
    fn name(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Suspend => "suspend",
            Verb::Destroy => "destroy",
        }
    }

    fn counter(self) -> &'static str {
        match self {
            Verb::Start => "fas_machine_start_count",
            Verb::Stop => "fas_machine_stop_count",
            Verb::Suspend => "fas_machine_suspend_count",
            Verb::Destroy => "fas_machine_destroy_count",
        }
    }

    /// Whether a Machine read back in `state` shows this call took effect.
    fn applied(self, state: &str) -> bool {
        match self {
            Verb::Start => matches!(state, "starting" | "started"),
            Verb::Stop => matches!(state, "stopping" | "stopped"),
            Verb::Suspend => matches!(state, "suspending" | "suspended"),
            Verb::Destroy => matches!(state, "destroying" | "destroyed"),
        }
    }
}

/// What one call on one Machine came to.
#[derive(Debug, PartialEq)]
enum Done {
    /// It took effect (perhaps despite an error answer).
    Applied,
    /// It surely did not take effect: the next candidate may be tried.
    NotApplied,
    /// Someone else holds the Machine's lease: skipped, not a failure.
    Leased,
    /// It may have taken effect and the read-back could not tell: it counts toward
    /// the plan's number, so the round never does one too many.
    Unknown,
}

/// A lease lasts a few seconds longer than the call it covers may take, so a crash
/// of fas never holds a Machine for long.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);

impl Reconciler {
    /// Returns (succeeded, failed) Machine actions.
    pub(super) async fn act(&self, app: &str, plan: Plan) -> (usize, usize) {
        let (mut ok, mut failed) = (0, 0);
        let (verb, candidates, count) = match plan {
            Plan::Create {
                config,
                regions,
                skip_launch,
            } => return self.create(app, config, regions, skip_launch).await,
            Plan::Destroy { candidates, count } => (Verb::Destroy, candidates, count),
            Plan::Start { candidates, count } => (Verb::Start, candidates, count),
            Plan::Stop {
                candidates,
                count,
                suspend,
            } => {
                let verb = if suspend { Verb::Suspend } else { Verb::Stop };
                (verb, candidates, count)
            }
            Plan::NoScale | Plan::NothingToClone => return (0, 0),
        };
        if candidates.len() < count && verb == Verb::Start {
            tracing::warn!(
                app,
                wanted = count,
                available = candidates.len(),
                "not enough machines to reach the target; create more"
            );
        }
        let mut acted = 0;
        for id in candidates {
            if acted >= count {
                break;
            }
            let done = self.one(app, &id, verb).await;
            let status = if done == Done::Applied {
                "ok"
            } else {
                "failed"
            };
            if done != Done::Leased {
                self.metrics.inc(verb.counter(), &[("status", status)]);
            }
            match done {
                Done::Applied => {
                    ok += 1;
                    acted += 1;
                }
                Done::Unknown => {
                    failed += 1;
                    acted += 1;
                }
                Done::NotApplied => failed += 1,
                Done::Leased => {}
            }
            if verb == Verb::Destroy && matches!(done, Done::Applied | Done::Unknown) {
                self.recent.destroyed(app, &id, self.clock.now());
            }
        }
        (ok, failed)
    }

    /// One call on one Machine, under a lease of fas's own.
    async fn one(&self, app: &str, id: &str, verb: Verb) -> Done {
        let ttl = self.fly.request_timeout() + LEASE_MARGIN;
        let nonce = match self.fly.acquire_lease(app, id, ttl).await {
            Ok(n) => Some(n),
            Err(FlyError::Leased { msg, .. }) => {
                self.leased(app, id, &msg);
                return Done::Leased;
            }
            // The call itself still meets a lease someone holds (409), so going on
            // without one of ours is safe; it only loses the deploy's courtesy.
            Err(e) => {
                self.api_error("lease");
                tracing::debug!(app, machine = id, error = %e, "no lease taken");
                None
            }
        };
        let n = nonce.as_deref();
        let mut result = match verb {
            Verb::Start => self.fly.start_machine(app, id, n).await,
            Verb::Stop => self.fly.stop_machine(app, id, n).await,
            Verb::Suspend => self.fly.suspend_machine(app, id, n).await,
            Verb::Destroy => self.fly.destroy_machine(app, id, true, n).await,
        };
        // A Machine Fly cannot suspend (too much memory, swap, a schedule) is stopped
        // instead, so stop-mode suspend never stalls a scale-down.
        if let (Verb::Suspend, Err(e @ FlyError::Rejected { .. })) = (verb, &result) {
            self.warn_once(&self.warned_unsuspendable, app, || {
                tracing::warn!(app, machine = id, error = %e, "cannot suspend; stopping instead");
            });
            result = self.fly.stop_machine(app, id, n).await;
            if result.is_ok() {
                return self.release(app, id, n, Done::Applied).await;
            }
        }
        let done = match result {
            Ok(()) => Done::Applied,
            Err(FlyError::Leased { msg, .. }) => {
                self.leased(app, id, &msg);
                Done::Leased
            }
            Err(e) => {
                self.api_error(verb.name());
                let done = if e.is_ambiguous() {
                    self.read_back(app, id, verb).await
                } else {
                    Done::NotApplied
                };
                if done != Done::Applied {
                    tracing::warn!(app, machine = id, call = verb.name(), error = %e, "machine action failed");
                }
                done
            }
        };
        self.release(app, id, n, done).await
    }

    async fn release(&self, app: &str, id: &str, nonce: Option<&str>, done: Done) -> Done {
        if let Some(n) = nonce {
            if let Err(e) = self.fly.release_lease(app, id, n).await {
                // A destroyed Machine takes its lease with it; others expire by TTL.
                tracing::debug!(app, machine = id, error = %e, "lease not released");
            }
        }
        done
    }

    /// After an ambiguous answer: one GET says whether the call took effect.
    async fn read_back(&self, app: &str, id: &str, verb: Verb) -> Done {
        let done = match self.fly.get_machine(app, id).await {
            Ok(m) if verb.applied(&m.state) => Done::Applied,
            Ok(_) => Done::NotApplied,
            Err(FlyError::NotFound { .. }) if verb == Verb::Destroy => Done::Applied,
            Err(_) => Done::Unknown,
        };
        let seen = match done {
            Done::Applied => "applied",
            Done::NotApplied => "not_applied",
            _ => "unknown",
        };
        self.metrics.inc(
            "fas_machine_readbacks_total",
            &[("call", verb.name()), ("result", seen)],
        );
        if done == Done::Applied {
            tracing::info!(
                app,
                machine = id,
                call = verb.name(),
                "the call answered an error but took effect"
            );
        }
        done
    }

    fn leased(&self, app: &str, id: &str, msg: &str) {
        self.metrics
            .inc("fas_machine_leased_skips_total", &[("app", app)]);
        let mut warned = self.warned_leased.lock().unwrap_or_else(|e| e.into_inner());
        if warned.insert(app.to_string()) {
            tracing::info!(
                app,
                machine = id,
                lease = msg,
                "machine leased by someone else (a deploy?); left alone this round"
            );
        }
    }

    async fn create(
        &self,
        app: &str,
        config: serde_json::Value,
        regions: Vec<String>,
        skip_launch: bool,
    ) -> (usize, usize) {
        let (mut ok, mut failed) = (0, 0);
        for region in regions {
            let input = CreateMachine {
                config: config.clone(),
                region,
                skip_launch,
                ..Default::default()
            };
            match self.fly.create_machine(app, &input).await {
                Ok(m) => {
                    tracing::info!(app, id = %m.id, region = %m.region, "machine created");
                    self.recent
                        .created(app, m, &config, !skip_launch, self.clock.now());
                    ok += 1;
                    self.metrics
                        .inc("fas_machine_create_count", &[("status", "ok")]);
                }
                Err(e) => {
                    failed += 1;
                    self.metrics
                        .inc("fas_machine_create_count", &[("status", "failed")]);
                    self.api_error("create");
                    tracing::warn!(app, call = "create", error = %e, "machine action failed");
                    if matches!(e, FlyError::BadToken { .. }) {
                        break;
                    }
                }
            }
        }
        (ok, failed)
    }
}
