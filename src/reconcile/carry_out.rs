//! From a decision to Machines: plan (pure) -> protection -> release check -> pause ->
//! shadow mode -> act, shared by full rounds and the watch steps that act between
//! them; and the record every finished reconcile leaves in metrics, the log and the
//! status page.

use std::time::Instant;

use crate::fly::Machine;
use crate::policy::{MachineCounts, Order, PolicyError, Round, Targets};

use super::app::{Outcome, ReconcileError, Reconciler, Settings};
use super::choose;
use super::plan::{held_by_protection, order_by_value, plan, Plan};

/// What a decision left for acting on.
pub(super) struct Decided {
    pub values: Vec<(String, f64)>,
    pub targets: Targets,
    pub order: Order,
    /// Per-Machine metrics: (metric, [(Machine ID, value)]).
    pub per_machine: Vec<(String, Vec<(String, f64)>)>,
    pub fallback: bool,
    pub counts: MachineCounts,
    pub round: Round,
}

impl Reconciler {
    /// Plans `d` against `machines` (the overlaid listing) and carries the plan out,
    /// unless a release runs, the app is paused or fas runs in shadow mode.
    pub(super) async fn carry_out(
        &self,
        app: &str,
        settings: &Settings,
        mut machines: Vec<Machine>,
        d: Decided,
    ) -> Result<Outcome, ReconcileError> {
        self.record_targets(app, &d.targets);
        if let Some(f) = d.order.forecast {
            self.metrics.set("fas_forecast", &[("app", app)], f);
            tracing::debug!(app, forecast = f, "policy forecast");
        }
        let plan = {
            let mut seq = self.region_seq.lock().unwrap_or_else(|e| e.into_inner());
            choose::protect(&mut machines, &d.order);
            let mut p = plan(&d.targets, &machines, &settings.plan, &mut seq);
            // Idlest first by the first per-Machine metric, then the policy's own order.
            if let Some((_, values)) = d.per_machine.first() {
                order_by_value(&mut p, &machines, values);
            }
            choose::stop_order(&mut p, &d.order);
            p
        };
        let held = held_by_protection(&plan, &d.targets, &machines, &settings.plan.process_group);
        if held > 0 {
            self.metrics
                .inc("fas_protection_held_total", &[("app", app)]);
            tracing::info!(app, held, targets = %d.targets,
                "Machines protecting themselves (fas-protect) held a scale-down back; the target is not reached this round");
        }
        let mut outcome = Outcome {
            metrics: d.values,
            targets: d.targets,
            action: plan.kind(),
            planned: plan.picked(),
            machines: d.counts,
            held_by_protection: held,
            fallback: d.fallback,
            round: d.round,
            ..Outcome::default()
        };
        if plan == Plan::NoScale {
            return Ok(outcome);
        }
        if plan == Plan::NothingToClone {
            return Err(ReconcileError::NothingToClone(
                settings.plan.process_group.clone(),
            ));
        }
        // Only now, about to act, ask whether a deploy is running (a steady app costs
        // one list call per round).
        let release = self
            .fly
            .current_release_status(app)
            .await
            .inspect_err(|_| self.api_error("release"))?;
        if release.as_deref() == Some("running") {
            outcome.skipped = Some("release");
            return Ok(outcome);
        }
        if let Some(by) = choose::paused(&settings.pause, &machines, &plan) {
            tracing::info!(
                app,
                action = plan.kind(),
                paused_by = by,
                "paused: planned, not sent"
            );
            outcome.skipped = Some("paused");
            return Ok(outcome);
        }
        // Shadow mode stops here: the same plan a live round would carry out.
        if settings.dry_run {
            outcome.dry_run = true;
            return Ok(outcome);
        }
        let deadline = self.may_act(app).await?;
        let (ok, failed) = self
            .within(
                app,
                deadline,
                self.act(app, plan, &settings.drain, &machines, settings.warm_pool),
            )
            .await?;
        outcome.succeeded = ok;
        outcome.failed = failed;
        Ok(outcome)
    }

    /// Counts, logs and publishes a finished reconcile (a full round, or a watch step
    /// that acted).
    pub(super) fn record(
        &self,
        app: &str,
        at: f64,
        started: Instant,
        result: &Result<Outcome, ReconcileError>,
    ) {
        self.metrics
            .observe_duration(started.elapsed().as_secs_f64());
        for (call, n) in self.fly.retries() {
            self.metrics
                .set_counter("fas_api_retries_total", &[("call", call)], n);
        }
        match result {
            Ok(o) => self.log_outcome(app, o),
            Err(e) => {
                self.metrics
                    .inc("fas_reconcile_errors_total", &[("kind", e.kind())]);
                match e {
                    ReconcileError::Collect(c) => self
                        .metrics
                        .inc("fas_collector_errors_total", &[("collector", &c.collector)]),
                    ReconcileError::Policy(p) => {
                        self.metrics.inc("fas_policy_errors_total", &[("app", app)]);
                        if matches!(p, PolicyError::Quarantined { .. }) {
                            self.metrics
                                .set("fas_policy_quarantined", &[("app", app)], 1.0);
                        }
                    }
                    _ => {}
                }
                tracing::warn!(app, error = %e, "reconcile failed, nothing scaled");
            }
        }
        self.status
            .record(app, super::status::Round::of(at, result, started.elapsed()));
        self.metrics.set(
            "fas_app_consecutive_failures",
            &[("app", app)],
            self.status.failing_streak(app) as f64,
        );
    }

    fn log_outcome(&self, app: &str, o: &Outcome) {
        if let Some(reason) = o.skipped {
            self.metrics
                .inc("fas_reconcile_skipped_total", &[("reason", reason)]);
        } else if o.dry_run {
            self.metrics
                .inc("fas_dry_run_actions_total", &[("action", o.action)]);
        } else {
            self.metrics
                .inc("fas_reconcile_count", &[("status", o.action)]);
        }
        // `name=value …` text, the same for people and in JSON logs.
        let metrics = o
            .metrics
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        let skipped = o.skipped.unwrap_or("");
        let round = o.round.as_str();
        // A round that changes nothing is debug: 10,000 steady apps stay quiet.
        if o.dry_run {
            tracing::info!(app, round, metrics, targets = %o.targets, action = o.action,
                machines = %o.planned.join(","), "dry run: planned, nothing sent");
        } else if o.action == "no_scale" && o.skipped.is_none() && o.failed == 0 {
            tracing::debug!(app, round, metrics, targets = %o.targets, action = o.action, "reconciled");
        } else {
            tracing::info!(app, round, metrics, targets = %o.targets, action = o.action,
                succeeded = o.succeeded, failed = o.failed, skipped, "reconciled");
        }
    }
}
