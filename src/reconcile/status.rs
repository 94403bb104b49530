//! What each app's last rounds looked like, for the status page and `/api/apps`. The
//! reconciler publishes a `Round` after each reconcile; telemetry only reads copies.
//! Memory is bounded and small enough for 10,000 apps: per app, the newest `DETAILED`
//! rounds in full (equal ones shared) and a compact point for each of the last
//! `HISTORY` rounds (what the chart draws; kept.rs); apps that stop matching are
//! dropped. Every text kept here has passed
//! the redaction point.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

use std::time::Duration;

mod kept;

use kept::Kept;

use super::app::{Outcome, ReconcileError};
use crate::policy::{Bounds, MachineCounts, PolicyError};

/// Rounds kept per app as chart points: half an hour at the default 15 s interval.
pub const HISTORY: usize = 120;
/// Rounds kept per app in full (metrics, targets, planned Machines, error text).
pub const DETAILED: usize = 6;

/// One round, as the chart draws it (24 bytes).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Point {
    pub at: f64,
    /// The first metric's value (NaN when the round had none).
    pub metric: f32,
    pub started: u16,
    pub created: u16,
    /// The started target (its min, else its max); -1 when the policy left it alone.
    pub target: i16,
    /// Acted (or, in shadow mode, planned to).
    pub acted: bool,
    pub failed: bool,
}

impl Point {
    fn of(r: &Round) -> Point {
        let small = |v: u64| v.min(u64::from(u16::MAX)) as u16;
        Point {
            at: r.at,
            metric: r.metrics.first().map_or(f32::NAN, |(_, v)| *v as f32),
            started: small(r.started),
            created: small(r.created),
            target: r
                .started_target
                .and_then(|b| b.min.or(b.max))
                .map_or(-1, |v| v.clamp(0, i64::from(i16::MAX)) as i16),
            acted: r.error.is_none() && r.action != "no_scale",
            failed: r.error.is_some(),
        }
    }
}

/// One round of one app.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Round {
    /// Unix seconds (the reconciler's clock).
    pub at: f64,
    pub metrics: Vec<(String, f64)>,
    pub created_target: Option<Bounds>,
    pub started_target: Option<Bounds>,
    /// Reachable Machines of the process group, as the round saw them; a round that
    /// failed carries the last known counts instead (see `counts_from`).
    pub created: u64,
    pub started: u64,
    pub stopped: u64,
    /// For a failed round, when the counts it shows were seen (the last round that
    /// listed the app); None when the round saw them itself, or nothing is known.
    pub counts_from: Option<f64>,
    /// `no_scale`, `create`, `destroy`, `start`, `stop`, `suspend`, or `error`.
    pub action: &'static str,
    /// The Machines the plan picked (IDs, or `new in REGION` for creates).
    pub planned: Vec<String>,
    /// Planned but not sent: shadow mode.
    pub dry_run: bool,
    pub succeeded: usize,
    pub failed: usize,
    /// Why the round did not act (`release`, `overrun`), when it did not.
    pub skipped: Option<&'static str>,
    /// Machines a scale-down left because they protect themselves (`fas-protect`).
    pub held_by_protection: usize,
    /// The targets came from the fallback (a metric kept failing).
    pub fallback: bool,
    /// The error that stopped the round (kind: collect, api, policy, timeout, …).
    pub error: Option<String>,
    pub error_kind: Option<&'static str>,
    pub quarantined: bool,
    pub took_ms: f64,
    /// `full`, or `watch` for a watch step (or poke) that acted between rounds.
    pub round: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mode {
    pub dry_run: bool,
    /// The policy's name (its file, or "count expressions").
    pub policy: String,
    /// Unix seconds when the running policy and config were loaded.
    pub loaded_at: f64,
    pub reloads: u64,
    pub last_reload_error: Option<String>,
    /// With clustering on: this member, the live members, the shards owned, and
    /// whether it acts (or why not).
    pub cluster: Option<String>,
}

#[derive(Default)]
pub struct Status {
    apps: Mutex<BTreeMap<String, Kept>>,
    mode: Mutex<Option<Mode>>,
    /// Seconds between an app's watch steps (the same for every app: the budget is
    /// shared); None when apps are decided in full rounds only.
    watch_period: Mutex<Option<f64>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Status {
    pub fn record(&self, app: &str, mut round: Round) {
        let mut apps = lock(&self.apps);
        let kept = match apps.get_mut(app) {
            Some(k) => k,
            None => apps.entry(app.to_string()).or_default(),
        };
        // A failed round knows no counts (it may have failed before listing): it
        // shows the last known ones, not zeros that Fly and /metrics contradict.
        if round.action == "error" {
            if let Some(prev) = kept.rounds.back() {
                let (created, started, stopped, from) = prev.counts();
                (round.created, round.started, round.stopped) = (created, started, stopped);
                round.counts_from = from.or(Some(prev.at));
            }
        }
        kept.chart.push(Point::of(&round));
        kept.push_round(round);
    }

    /// How many of `app`'s newest rounds failed in a row.
    pub fn failing_streak(&self, app: &str) -> usize {
        lock(&self.apps)
            .get(app)
            .map_or(0, |k| k.chart.failing_streak())
    }

    /// Marks the newest round of `app` as skipped (an overrun found after it ended).
    pub fn mark_skipped(&self, app: &str, reason: &'static str) {
        if let Some(last) = lock(&self.apps)
            .get_mut(app)
            .and_then(|k| k.rounds.back_mut())
        {
            last.mark_skipped(reason);
        }
    }

    pub fn forget(&self, app: &str) {
        lock(&self.apps).remove(app);
    }

    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.mode) = Some(mode);
    }

    pub fn update_mode(&self, f: impl FnOnce(&mut Mode)) {
        if let Some(m) = lock(&self.mode).as_mut() {
            f(m);
        }
    }

    pub fn set_watch_period(&self, secs: Option<f64>) {
        *lock(&self.watch_period) = secs;
    }

    pub fn watch_period(&self) -> Option<f64> {
        *lock(&self.watch_period)
    }

    pub fn mode(&self) -> Option<Mode> {
        lock(&self.mode).clone()
    }

    /// Every app's newest round (apps seen but never finished a round are absent).
    pub fn latest(&self) -> Vec<(String, Round)> {
        lock(&self.apps)
            .iter()
            .filter_map(|(name, k)| k.last().map(|last| (name.clone(), last)))
            .collect()
    }

    /// An app's chart points and its detailed rounds, oldest first.
    pub fn history(&self, app: &str) -> Option<(Vec<Point>, Vec<Round>)> {
        lock(&self.apps).get(app).map(|k| {
            (
                k.chart.points(),
                k.rounds.iter().map(|r| r.round()).collect(),
            )
        })
    }
}

impl Round {
    /// The status page's record of a reconcile's result.
    pub fn of(at: f64, result: &Result<Outcome, ReconcileError>, took: Duration) -> Round {
        // To a tenth of a millisecond: more digits are float noise on the page and API.
        let took_ms = (took.as_secs_f64() * 1e4).round() / 10.0;
        match result {
            Ok(o) => Round {
                metrics: o.metrics.clone(),
                created_target: o.targets.created,
                started_target: o.targets.started,
                action: o.action,
                planned: o.planned.clone(),
                dry_run: o.dry_run,
                succeeded: o.succeeded,
                failed: o.failed,
                skipped: o.skipped,
                held_by_protection: o.held_by_protection,
                fallback: o.fallback,
                took_ms,
                round: o.round.as_str(),
                ..Round::new(at, &o.machines)
            },
            Err(e) => Round {
                action: "error",
                error: Some(crate::redact::quote_max(&e.to_string(), 500)),
                error_kind: Some(e.kind()),
                quarantined: matches!(e, ReconcileError::Policy(PolicyError::Quarantined { .. })),
                took_ms,
                ..Round::new(at, &MachineCounts::default())
            },
        }
    }

    /// A round as far as the machines and targets go; the rest is filled by the caller.
    pub fn new(at: f64, machines: &MachineCounts) -> Round {
        Round {
            at,
            metrics: Vec::new(),
            created_target: None,
            started_target: None,
            created: machines.created,
            started: machines.started,
            stopped: machines.stopped,
            counts_from: None,
            action: "",
            planned: Vec::new(),
            dry_run: false,
            succeeded: 0,
            failed: 0,
            skipped: None,
            held_by_protection: 0,
            fallback: false,
            error: None,
            error_kind: None,
            quarantined: false,
            took_ms: 0.0,
            round: "full",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_bounded_and_forgotten_with_the_app() {
        let s = Status::default();
        for i in 0..HISTORY + 10 {
            s.record("web", Round::new(i as f64, &MachineCounts::default()));
        }
        let (points, rounds) = s.history("web").unwrap();
        assert_eq!((points.len(), rounds.len()), (HISTORY, DETAILED));
        assert_eq!(points[0].at, 10.0, "the oldest rounds go first");
        assert_eq!(rounds[0].at, (HISTORY + 10 - DETAILED) as f64);
        assert_eq!(std::mem::size_of::<Point>(), 24);
        assert_eq!(s.latest()[0].1.at, (HISTORY + 9) as f64);
        s.forget("web");
        assert!(s.history("web").is_none() && s.latest().is_empty());
    }

    #[test]
    fn a_failed_round_shows_the_last_known_counts() {
        let s = Status::default();
        let failed = |at: f64| Round {
            action: "error",
            ..Round::new(at, &MachineCounts::default())
        };
        s.record("web", failed(1.0));
        assert_eq!(s.latest()[0].1.counts_from, None, "nothing known yet");
        let two = MachineCounts {
            created: 2,
            started: 2,
            ..Default::default()
        };
        s.record(
            "web",
            Round {
                action: "no_scale",
                ..Round::new(15.0, &two)
            },
        );
        s.record("web", failed(30.0));
        s.record("web", failed(45.0));
        let last = &s.latest()[0].1;
        assert_eq!(
            (last.started, last.created, last.counts_from),
            (2, 2, Some(15.0))
        );
        let (points, _) = s.history("web").unwrap();
        assert_eq!(
            points.last().unwrap().started,
            2,
            "the chart keeps them too"
        );
    }
}
