//! A round's collection, and what a failing metric means for it. By default (as
//! upstream) any collector error fails the round: the app holds. With
//! `policy-sees-errors` the policy is called anyway, the failed metric nil and its
//! error in `app.errors`. With `fallback`, after `failure-threshold` failing rounds in
//! a row the app gets the fallback's targets until a round collects again.

use crate::collect::CollectError;
use crate::config::Fallback;
use crate::policy::{Bounds, MachineCounts, Targets};

use super::app::{Reconciler, Settings};

pub(super) enum Collected {
    /// The values collected, and the metrics that failed (policy-sees-errors only).
    Values {
        values: Vec<(String, f64)>,
        errors: Vec<(String, String)>,
        /// Per-Machine metrics: (metric, [(Machine ID, value)]), in collector order.
        per_machine: Vec<(String, Vec<(String, f64)>)>,
    },
    /// A metric has failed `rounds` rounds in a row, at or past the fallback's threshold.
    Fallback {
        values: Vec<(String, f64)>,
        rounds: u32,
        error: CollectError,
    },
}

impl Reconciler {
    pub(super) async fn collect(
        &self,
        app: &str,
        settings: &Settings,
    ) -> Result<Collected, CollectError> {
        let mut values = Vec::with_capacity(settings.collectors.len());
        let mut errors = Vec::new();
        let mut per_machine = Vec::new();
        for c in &settings.collectors {
            match c.read(app).await {
                Ok(reading) => {
                    let v = reading.value;
                    if !reading.machines.is_empty() {
                        per_machine.push((c.name().to_string(), reading.machines));
                    }
                    self.metrics
                        .set("fas_metric_value", &[("app", app), ("metric", c.name())], v);
                    values.push((c.name().to_string(), v));
                }
                Err(e) if settings.policy_sees_errors => {
                    self.metrics
                        .inc("fas_collector_errors_total", &[("collector", c.name())]);
                    tracing::warn!(app, error = %e, "metric failed; the policy sees it as nil (policy-sees-errors)");
                    errors.push((c.name().to_string(), e.msg));
                }
                Err(e) => {
                    let rounds = self.count_failure(app);
                    return match &settings.fallback {
                        Some(fb) if rounds >= fb.failure_threshold => {
                            self.metrics
                                .inc("fas_collector_errors_total", &[("collector", c.name())]);
                            Ok(Collected::Fallback {
                                values,
                                rounds,
                                error: e,
                            })
                        }
                        _ => Err(e),
                    };
                }
            }
        }
        self.lock_failures().remove(app);
        Ok(Collected::Values {
            values,
            errors,
            per_machine,
        })
    }

    fn lock_failures(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, u32>> {
        self.collect_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// One more round in a row whose collection failed; how many now.
    fn count_failure(&self, app: &str) -> u32 {
        let mut f = self.lock_failures();
        let n = f.entry(app.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    /// Forgets an app's failure count (the app is gone).
    pub fn forget_failures(&self, app: &str) {
        self.lock_failures().remove(app);
    }

    /// Rounds in a row whose collection failed (a handoff carries it).
    pub(super) fn failures_of(&self, app: &str) -> u32 {
        self.lock_failures().get(app).copied().unwrap_or(0)
    }

    pub(super) fn set_failures(&self, app: &str, n: u32) {
        let mut f = self.lock_failures();
        if n == 0 {
            f.remove(app);
        } else {
            f.insert(app.to_string(), n);
        }
    }

    pub(super) fn failing_apps(&self) -> Vec<String> {
        self.lock_failures().keys().cloned().collect()
    }
}

/// The fallback's targets for an app with these Machines.
pub(super) fn fallback_targets(fb: &Fallback, c: &MachineCounts) -> Targets {
    let exact = |n: Option<i64>| {
        n.map(|n| Bounds {
            min: Some(n),
            max: Some(n),
        })
    };
    Targets {
        started: exact(fb.target(fb.started, c.started as i64)),
        // `current` holds both dimensions; the others touch only what they name.
        created: exact(if fb.behavior == "current" || fb.created.is_some() {
            fb.target(fb.created, c.created as i64)
        } else {
            None
        }),
    }
}
