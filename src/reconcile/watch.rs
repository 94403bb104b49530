//! Watch steps: between full rounds an app's metrics are read again and its policy
//! decides again on what fas knows of its Machines (the last listing, with fas's own
//! recent creates and destroys laid over it). Only a decision that asks for more
//! started or created Machines than that costs a Machines API call: fas lists fresh
//! and acts at once, on the increase only. A decision that asks for fewer waits for
//! the full round (scale-down is never hurried), so a steady app costs no API call
//! between rounds.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::collect::CollectError;
use crate::fly::Machine;
use crate::policy::{Bounds, Decision, MachineCounts, Round, Targets};

use super::app::{Outcome, ReconcileError, Reconciler, Settings};
use super::carry_out::Decided;
use super::choose;
use super::collecting::Collected;
use super::plan::{counts, eligible};

/// What the last full round saw of an app, for its watch steps.
#[derive(Default)]
pub(super) struct Known {
    listed: Vec<Machine>,
    /// Values of the collectors read in full rounds only (`watch: false`).
    kept: Vec<(String, f64)>,
    kept_per_machine: Vec<(String, Vec<(String, f64)>)>,
}

#[derive(Default)]
pub struct KnownApps(Mutex<HashMap<String, Known>>);

impl KnownApps {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn forget(&self, app: &str) {
        self.lock().remove(app);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// How a watch step ended.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// No full round has listed the app yet: nothing to compare with.
    Unknown,
    /// The decision asked for no more than the app has: nothing sent.
    Steady,
    /// It asked for more, and fas acted (or found, listing fresh, nothing to do).
    Acted(&'static str),
}

impl Reconciler {
    /// Remembers a full round's listing (and the values of full-round-only
    /// collectors) for the watch steps until the next round, while watching is on.
    pub(super) fn remember(
        &self,
        app: &str,
        settings: &Settings,
        listed: &[Machine],
        collected: &Collected,
    ) {
        if !self.watching.load(Ordering::Relaxed) {
            return;
        }
        let mut known = self.known.lock();
        let k = known.entry(app.to_string()).or_default();
        k.listed = listed.to_vec();
        if let Collected::Values {
            values,
            per_machine,
            ..
        } = collected
        {
            let full_only = |name: &str| {
                settings
                    .collectors
                    .iter()
                    .zip(&settings.full_rounds_only)
                    .any(|(c, only)| *only && c.name() == name)
            };
            k.kept = values
                .iter()
                .filter(|(n, _)| full_only(n))
                .cloned()
                .collect();
            k.kept_per_machine = per_machine
                .iter()
                .filter(|(n, _)| full_only(n))
                .cloned()
                .collect();
        }
    }

    /// One watch step for `app`; `permits` bound the Machines API work in flight (the
    /// reads and the decision take none: the watch budget bounds them).
    pub async fn watch(&self, app: &str, permits: &Semaphore) -> Result<Step, ReconcileError> {
        let started = Instant::now();
        let at = self.clock.now();
        let result = match tokio::time::timeout(self.timeout, self.watch_run(app, permits)).await {
            Ok(r) => r,
            Err(_) => Err(ReconcileError::Timeout(self.timeout)),
        };
        let label = match &result {
            Ok(None) => "steady",
            Ok(Some(_)) => "acted",
            Err(_) => "error",
        };
        self.metrics
            .inc("fas_watch_steps_total", &[("result", label)]);
        match result {
            Ok(None) => Ok(if self.known.lock().contains_key(app) {
                Step::Steady
            } else {
                Step::Unknown
            }),
            Ok(Some(outcome)) => {
                let action = outcome.action;
                let done = Ok(outcome);
                self.record(app, at, started, &done);
                Ok(Step::Acted(action))
            }
            // The full round reports errors; a watch step only notes them.
            Err(e) => {
                tracing::debug!(app, error = %e, "watch step failed; the next full round reports it");
                Err(e)
            }
        }
    }

    async fn watch_run(
        &self,
        app: &str,
        permits: &Semaphore,
    ) -> Result<Option<Outcome>, ReconcileError> {
        let settings = self.settings();
        let Some((kept, kept_per_machine)) = self
            .known
            .lock()
            .get(app)
            .map(|k| (k.kept.clone(), k.kept_per_machine.clone()))
        else {
            return Ok(None);
        };
        let (values, per_machine) = self
            .collect_watched(app, &settings, kept, kept_per_machine)
            .await?;
        let now = self.clock.now();
        let (known, list) = self.known_machines(app, &settings, &per_machine, now);
        let decision = Decision {
            app: app.to_string(),
            now,
            interval_secs: self.interval.as_secs_f64(),
            round: Round::Watch,
            machines: known.clone(),
            metrics: values.clone(),
            errors: Vec::new(),
            list,
        };
        let (targets, order) = self.policy.decide_full(decision).await?;
        if !asks_for_more(&targets, &known) {
            return Ok(None);
        }
        // More is asked for: list fresh (the listing may be a round old) and act on
        // the increase alone, under the same bound as full rounds.
        let _permit = permits.acquire().await.ok();
        let listed = self
            .fly
            .list_machines(app)
            .await
            .inspect_err(|_| self.api_error("list"))?;
        if let Some(k) = self.known.lock().get_mut(app) {
            k.listed.clone_from(&listed);
        }
        let machines = self.recent.overlay(app, listed, self.clock.now());
        let fresh = counts(&eligible(&machines, &settings.plan.process_group));
        let decided = Decided {
            values,
            targets: up_only(targets, &fresh),
            order,
            per_machine,
            fallback: false,
            counts: fresh,
            round: Round::Watch,
        };
        let outcome = self.carry_out(app, &settings, machines, decided).await?;
        Ok((outcome.action != "no_scale").then_some(outcome))
    }

    /// What fas knows of the app's Machines now: counts and, for Lua, the list. The
    /// last listing is read in place; only when fas remembers actions of its own is it
    /// copied to lay them over (a steady app's step copies no Machine).
    fn known_machines(
        &self,
        app: &str,
        settings: &Settings,
        per_machine: &[(String, Vec<(String, f64)>)],
        now: f64,
    ) -> (MachineCounts, Vec<crate::policy::MachineInfo>) {
        let group_name = &settings.plan.process_group;
        let lua = self.policy.is_lua();
        let seen = |machines: &[Machine]| {
            let group = eligible(machines, group_name);
            let list = if lua {
                choose::machine_list(&group, per_machine)
            } else {
                Vec::new()
            };
            (counts(&group), list)
        };
        if !self.recent.has(app) {
            if let Some(k) = self.known.lock().get(app) {
                return seen(&k.listed);
            }
        }
        let listed = self
            .known
            .lock()
            .get(app)
            .map(|k| k.listed.clone())
            .unwrap_or_default();
        seen(&self.recent.overlay(app, listed, now))
    }

    /// The watched collectors read now, the others' values as the last full round
    /// read them. Any failure ends the step (the full round decides what it means).
    async fn collect_watched(
        &self,
        app: &str,
        settings: &Settings,
        kept: Vec<(String, f64)>,
        mut kept_per_machine: Vec<(String, Vec<(String, f64)>)>,
    ) -> Result<(Vec<(String, f64)>, Vec<(String, Vec<(String, f64)>)>), CollectError> {
        let mut values = Vec::with_capacity(settings.collectors.len());
        let mut per_machine = Vec::new();
        for (i, c) in settings.collectors.iter().enumerate() {
            let name = c.name();
            if settings.full_rounds_only.get(i).copied().unwrap_or(false) {
                if let Some((_, v)) = kept.iter().find(|(n, _)| n == name) {
                    values.push((name.to_string(), *v));
                }
                if let Some(at) = kept_per_machine.iter().position(|(n, _)| n == name) {
                    per_machine.push(kept_per_machine.swap_remove(at));
                }
                continue;
            }
            let reading = c.read(app).await?;
            if !reading.machines.is_empty() {
                per_machine.push((name.to_string(), reading.machines));
            }
            self.metrics.set(
                "fas_metric_value",
                &[("app", app), ("metric", name)],
                reading.value,
            );
            values.push((name.to_string(), reading.value));
        }
        Ok((values, per_machine))
    }

    /// Collector reads one watch step makes.
    pub fn reads_per_step(&self) -> usize {
        let s = self.settings();
        (0..s.collectors.len())
            .filter(|i| !s.full_rounds_only.get(*i).copied().unwrap_or(false))
            .count()
    }
}

/// Whether the targets ask for more started or created Machines than `c`.
pub fn asks_for_more(t: &Targets, c: &MachineCounts) -> bool {
    let above = |b: Option<Bounds>, have: u64| {
        b.and_then(|b| b.min)
            .is_some_and(|min| min > 0 && min as u64 > have)
    };
    above(t.started, c.started) || above(t.created, c.created)
}

/// The targets with every scale-down taken out: a max below what runs is raised to
/// it, so the plan can only add (the full round brings the decrease).
pub fn up_only(t: Targets, c: &MachineCounts) -> Targets {
    let raise = |b: Option<Bounds>, have: u64| {
        b.map(|b| Bounds {
            min: b.min,
            max: b.max.map(|max| max.max(have as i64)),
        })
    };
    Targets {
        started: raise(t.started, c.started),
        created: raise(t.created, c.created),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(min: i64, max: i64) -> Option<Bounds> {
        Some(Bounds {
            min: Some(min),
            max: Some(max),
        })
    }

    #[test]
    fn only_an_increase_is_hurried() {
        let have = MachineCounts {
            created: 4,
            started: 2,
            ..MachineCounts::default()
        };
        let t = |started, created| Targets { started, created };
        assert!(asks_for_more(&t(b(3, 3), None), &have));
        assert!(asks_for_more(&t(None, b(5, 5)), &have));
        assert!(!asks_for_more(&t(b(2, 2), b(4, 4)), &have), "steady");
        assert!(!asks_for_more(&t(b(1, 1), None), &have), "fewer waits");
        assert!(!asks_for_more(&t(b(0, 0), b(1, 1)), &have));
        // Up-only: a max below what runs rises to it; the mins stay.
        let up = up_only(t(b(3, 3), b(1, 1)), &have);
        assert_eq!(up.started, b(3, 3));
        assert_eq!(up.created, b(1, 4), "no destroy from a watch step");
    }
}
