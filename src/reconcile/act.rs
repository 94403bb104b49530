//! Carrying out a plan on Fly: creates one by one (never resent), and each start,
//! stop, suspend or destroy through the client's guarded call (a lease of fas's own,
//! a read-back after an ambiguous answer). A Machine leased by someone else (a
//! deploy) is skipped, not failed, and the next candidate tried; a call that may have
//! taken effect counts toward the plan's number, so a round never acts on more
//! Machines than the plan asked for.

use crate::fly::{CreateMachine, Done, Drain, FlyError, Machine, Verb};
use crate::telemetry::Metrics;

use super::app::Reconciler;
use super::plan::Plan;

fn counter(verb: Verb) -> &'static str {
    match verb {
        Verb::Start => "fas_machine_start_count",
        Verb::Stop => "fas_machine_stop_count",
        Verb::Suspend => "fas_machine_suspend_count",
        Verb::Destroy => "fas_machine_destroy_count",
    }
}

/// An action in flight. If the round's deadline drops its future before the call
/// answers, the action counts as failed and is logged: fas cannot tell whether it
/// took effect, as with a call that timed out (before, it was counted nowhere).
struct InFlight<'a> {
    metrics: &'a Metrics,
    counter: &'static str,
    app: &'a str,
    answered: bool,
}

impl<'a> InFlight<'a> {
    fn new(metrics: &'a Metrics, counter: &'static str, app: &'a str) -> Self {
        InFlight {
            metrics,
            counter,
            app,
            answered: false,
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.answered {
            self.metrics.inc(self.counter, &[("status", "failed")]);
            tracing::warn!(app = self.app, counter = self.counter, "machine action cut by the round's deadline; whether it took effect shows in the next listing");
        }
    }
}

impl Reconciler {
    /// Returns (succeeded, failed) Machine actions. `machines` is the listing the plan
    /// came from: a started Machine picked for destroy is stopped (drained) first.
    pub(super) async fn act(
        &self,
        app: &str,
        plan: Plan,
        drain: &Drain,
        machines: &[Machine],
        warm: bool,
    ) -> (usize, usize) {
        let (mut ok, mut failed) = (0, 0);
        let (verb, candidates, count) = match plan {
            Plan::Create {
                config,
                regions,
                launch,
            } => return self.create(app, config, regions, launch, warm).await,
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
            // Never destroy a started Machine directly: stop it the way scale-down
            // stops (its signal, timeout, cordon), destroy it once stopped.
            let started = machines.iter().any(|m| m.id == id && m.state == "started");
            let verb_now = if verb == Verb::Destroy && started {
                Verb::Stop
            } else {
                verb
            };
            let listed_cordoned = machines.iter().any(|m| m.id == id && m.cordoned);
            if verb_now == Verb::Suspend {
                if let Some(m) = machines.iter().find(|m| m.id == id) {
                    self.snapshots.suspended(app, m);
                }
            }
            let done = self.one(app, &id, verb_now, drain, listed_cordoned).await;
            if verb_now != verb && matches!(done, Done::Applied | Done::Unknown) {
                self.recent.draining(app, &id, self.clock.now());
                tracing::info!(app, machine = %id, "stopping a started Machine before destroying it (drain)");
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
                Done::Leased(_) => {}
            }
        }
        (ok, failed)
    }

    /// Destroys a Machine fas stopped earlier to destroy it, now stopped.
    pub(super) async fn finish_drain(&self, app: &str, id: &str) {
        let done = self
            .one(app, id, Verb::Destroy, &Drain::default(), false)
            .await;
        if matches!(done, Done::Applied | Done::Unknown) {
            tracing::info!(app, machine = id, "drained Machine destroyed");
        }
    }

    /// One guarded call on one Machine; its report goes to metrics and the log, and a
    /// destroy that may have taken effect to fas's memory of its own destroys.
    /// `listed_cordoned`: the listing shows the Machine cordoned (a start uncordons it,
    /// as it does one fas cordoned itself).
    pub(super) async fn one(
        &self,
        app: &str,
        id: &str,
        verb: Verb,
        drain: &Drain,
        listed_cordoned: bool,
    ) -> Done {
        let key = format!("{app}/{id}");
        let ours = || {
            self.cordoned_by_fas
                .lock()
                .unwrap_or_else(|e| e.into_inner())
        };
        let cordoned = listed_cordoned || ours().contains(&key);
        let mut in_flight = InFlight::new(&self.metrics, counter(verb), app);
        let g = self.fly.guarded_with(app, id, verb, drain, cordoned).await;
        in_flight.answered = true;
        if g.left_cordoned {
            ours().insert(key);
        } else if matches!(g.done, Done::Applied | Done::Unknown)
            && matches!(verb, Verb::Start | Verb::Destroy)
            && !g.errors.iter().any(|(call, _)| *call == "uncordon")
        {
            ours().remove(&key);
        }
        if !matches!(g.done, Done::Leased(_)) {
            let status = if g.done == Done::Applied {
                "ok"
            } else {
                "failed"
            };
            self.metrics.inc(counter(verb), &[("status", status)]);
        }
        if verb == Verb::Destroy && matches!(g.done, Done::Applied | Done::Unknown) {
            self.recent.destroyed(app, id, self.clock.now());
        }
        if g.stopped_instead {
            self.warn_once(&self.warned_unsuspendable, app, || {
                tracing::warn!(app, machine = id, "Fly cannot suspend this Machine (memory over 2 GB, swap or a schedule?); stopping instead");
            });
        }
        for (call, e) in &g.errors {
            self.api_error(call);
            if g.done != Done::Applied || matches!(*call, "cordon" | "uncordon") {
                tracing::warn!(app, machine = id, call, error = %e, "machine action failed");
            }
        }
        if let Some(seen) = g.read_back {
            self.metrics.inc(
                "fas_machine_readbacks_total",
                &[("call", verb.name()), ("result", seen)],
            );
            if g.done == Done::Applied {
                tracing::info!(
                    app,
                    machine = id,
                    call = verb.name(),
                    "the call answered an error but took effect"
                );
            }
        }
        if let Done::Leased(msg) = &g.done {
            self.leased(app, id, msg);
        }
        g.done
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
        launch: usize,
        warm: bool,
    ) -> (usize, usize) {
        let (mut ok, mut failed) = (0, 0);
        for (i, region) in regions.into_iter().enumerate() {
            // A warm pool's Machines boot to be suspended: none is a worker.
            let skip_launch = !warm && i >= launch;
            let input = CreateMachine {
                config: config.clone(),
                region,
                skip_launch,
                ..Default::default()
            };
            let mut in_flight = InFlight::new(&self.metrics, "fas_machine_create_count", app);
            let answer = self.fly.create_machine(app, &input).await;
            in_flight.answered = true;
            match answer {
                Ok(m) => {
                    tracing::info!(app, id = %m.id, region = %m.region, "machine created");
                    let id = m.id.clone();
                    self.recent
                        .created(app, m, &config, !skip_launch, self.clock.now());
                    if warm {
                        self.recent.warming(app, &id, self.clock.now());
                    }
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
