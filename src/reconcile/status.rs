//! What each app's last rounds looked like, for the status page and `/api/apps`. The
//! reconciler publishes a `Round` after each reconcile; telemetry only reads copies.
//! Memory is bounded: a fixed number of rounds per app, and apps that stop matching
//! are dropped. Every text kept here has passed the redaction point.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;

use crate::policy::{Bounds, MachineCounts};

/// Rounds kept per app: an hour at the default 15 s interval.
pub const HISTORY: usize = 240;

/// One round of one app.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Round {
    /// Unix seconds (the reconciler's clock).
    pub at: f64,
    pub metrics: Vec<(String, f64)>,
    pub created_target: Option<Bounds>,
    pub started_target: Option<Bounds>,
    /// Reachable Machines of the process group, as the round saw them.
    pub created: u64,
    pub started: u64,
    pub stopped: u64,
    /// `no_scale`, `create`, `destroy`, `start`, `stop`, `suspend`, or `error`.
    pub action: String,
    /// The Machines the plan picked (IDs, or `new in REGION` for creates).
    pub planned: Vec<String>,
    /// Planned but not sent: shadow mode.
    pub dry_run: bool,
    pub succeeded: usize,
    pub failed: usize,
    /// Why the round did not act (`release`, `overrun`), when it did not.
    pub skipped: Option<String>,
    /// The error that stopped the round (kind: collect, api, policy, timeout, …).
    pub error: Option<String>,
    pub error_kind: Option<String>,
    pub quarantined: bool,
    pub took_ms: f64,
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
}

#[derive(Default)]
pub struct Status {
    apps: Mutex<BTreeMap<String, VecDeque<Round>>>,
    mode: Mutex<Option<Mode>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Status {
    pub fn record(&self, app: &str, round: Round) {
        let mut apps = lock(&self.apps);
        let rounds = match apps.get_mut(app) {
            Some(r) => r,
            None => apps.entry(app.to_string()).or_default(),
        };
        if rounds.len() >= HISTORY {
            rounds.pop_front();
        }
        rounds.push_back(round);
    }

    /// How many of `app`'s newest rounds failed in a row.
    pub fn failing_streak(&self, app: &str) -> usize {
        lock(&self.apps).get(app).map_or(0, |r| {
            r.iter().rev().take_while(|r| r.error.is_some()).count()
        })
    }

    /// Marks the newest round of `app` as skipped (an overrun found after it ended).
    pub fn mark_skipped(&self, app: &str, reason: &str) {
        if let Some(last) = lock(&self.apps).get_mut(app).and_then(|r| r.back_mut()) {
            last.skipped = Some(reason.to_string());
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

    pub fn mode(&self) -> Option<Mode> {
        lock(&self.mode).clone()
    }

    /// Every app's newest round (apps seen but never finished a round are absent).
    pub fn latest(&self) -> Vec<(String, Round)> {
        lock(&self.apps)
            .iter()
            .filter_map(|(name, r)| r.back().map(|last| (name.clone(), last.clone())))
            .collect()
    }

    /// An app's rounds, oldest first.
    pub fn history(&self, app: &str) -> Option<Vec<Round>> {
        lock(&self.apps)
            .get(app)
            .map(|r| r.iter().cloned().collect())
    }
}

impl Round {
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
            action: String::new(),
            planned: Vec::new(),
            dry_run: false,
            succeeded: 0,
            failed: 0,
            skipped: None,
            error: None,
            error_kind: None,
            quarantined: false,
            took_ms: 0.0,
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
        let h = s.history("web").unwrap();
        assert_eq!(h.len(), HISTORY);
        assert_eq!(h[0].at, 10.0, "the oldest rounds go first");
        assert_eq!(s.latest()[0].1.at, (HISTORY + 9) as f64);
        s.forget("web");
        assert!(s.history("web").is_none() && s.latest().is_empty());
    }
}
