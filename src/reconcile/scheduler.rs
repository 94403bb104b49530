//! The scheduler: which apps to reconcile (one, or every app of the org matching a
//! wildcard, refreshed on its own interval) and when (right away, then every
//! interval, spread across the interval by a per-app offset). Each app has one loop,
//! so it is never reconciled twice at once; a round that overruns skips the missed
//! ticks instead of queueing them; `concurrency` bounds the reconciles in flight.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::Reconciler;
use crate::fly::FlyClient;

/// Which apps to reconcile.
#[derive(Debug, Clone, PartialEq)]
pub enum Apps {
    One(String),
    /// Apps of `org` whose name matches `pattern`: a glob::Pattern, so `*` matches any
    /// run of characters (as upstream's wildcard), `?` one character and `[a-c]` one
    /// of a set (characters Fly app names never contain, so no real name changes).
    Matching {
        org: String,
        pattern: glob::Pattern,
    },
}

impl Apps {
    /// A name holding `*`, `?` or `[` is a pattern; the error says what is wrong.
    pub fn from_config(app_name: &str, org: &str) -> Result<Apps, String> {
        if !is_pattern(app_name) {
            return Ok(Apps::One(app_name.to_string()));
        }
        let pattern = glob::Pattern::new(app_name).map_err(|e| {
            format!("FAS_APP_NAME (app-name) {app_name:?} is not a valid wildcard: {e}")
        })?;
        Ok(Apps::Matching {
            org: org.to_string(),
            pattern,
        })
    }
}

pub fn is_pattern(app_name: &str) -> bool {
    app_name.contains(['*', '?', '['])
}

/// Anchored wildcard match of an app name (see `Apps::Matching`).
pub fn glob_match(pattern: &str, name: &str) -> bool {
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches(name))
}

pub struct Scheduler {
    pub reconciler: Arc<Reconciler>,
    pub fly: Arc<FlyClient>,
    pub apps: Apps,
    pub interval: Duration,
    pub refresh_interval: Duration,
    pub concurrency: usize,
    /// How long the policy state of an app that disappeared is kept.
    pub grace: Duration,
}

/// Default grace period for the state of apps that disappeared.
pub const STATE_GRACE: Duration = Duration::from_secs(3600);

impl Scheduler {
    /// Runs until `shutdown` turns true, then lets in-flight rounds finish (each is
    /// bounded by the per-app timeout) and returns.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.concurrency.max(1)));
        let mut loops: HashMap<String, JoinHandle<()>> = HashMap::new();
        // Apps that stopped matching, and since when: their policy state is kept for
        // the grace period, in case they come back (a rename, a flapping list).
        let mut gone: HashMap<String, Instant> = HashMap::new();
        loop {
            match self.app_names().await {
                Ok(names) => {
                    loops.retain(|name, task| {
                        let keep = names.contains(name);
                        if !keep {
                            gone.insert(name.clone(), Instant::now());
                            task.abort();
                            self.reconciler.metrics.forget_app(name);
                            self.reconciler.recent.forget(name);
                            self.reconciler.status.forget(name);
                            self.reconciler.forget_failures(name);
                            tracing::info!(app = %name, "app no longer matches; dropped");
                        }
                        keep
                    });
                    gone.retain(|name, since| {
                        if names.contains(name) {
                            return false;
                        }
                        let expired = since.elapsed() > self.grace;
                        if expired {
                            self.reconciler.policy.forget(name);
                        }
                        !expired
                    });
                    for name in names {
                        if let std::collections::hash_map::Entry::Vacant(slot) = loops.entry(name) {
                            let app = slot.key().clone();
                            let offset = self.offset(&app);
                            let (r, p, stop) =
                                (self.reconciler.clone(), permits.clone(), shutdown.clone());
                            slot.insert(tokio::spawn(app_loop(
                                r,
                                p,
                                app,
                                offset,
                                self.interval,
                                stop,
                            )));
                        }
                    }
                    self.reconciler
                        .metrics
                        .set("fas_apps", &[], loops.len() as f64);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the org's apps; keeping the current list")
                }
            }
            if matches!(self.apps, Apps::One(_)) {
                let _ = shutdown.wait_for(|stop| *stop).await;
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.refresh_interval) => {}
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
        for (_, task) in loops {
            let _ = task.await;
        }
    }

    async fn app_names(&self) -> Result<Vec<String>, crate::fly::FlyError> {
        match &self.apps {
            Apps::One(name) => Ok(vec![name.clone()]),
            Apps::Matching { org, pattern } => {
                let apps = self.fly.list_org_apps(org).await?;
                Ok(apps
                    .into_iter()
                    .map(|a| a.name)
                    .filter(|n| pattern.matches(n))
                    .collect())
            }
        }
    }

    /// Where in the interval the app's rounds fall: 0 for a single app (reconcile at
    /// once), a stable spread for many.
    fn offset(&self, app: &str) -> Duration {
        if matches!(self.apps, Apps::One(_)) {
            return Duration::ZERO;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        app.hash(&mut h);
        // Spread over the first 80% of the interval, so that the last app's round
        // still ends inside the interval.
        let ms = (self.interval.as_millis() as u64 * 4 / 5).max(1);
        Duration::from_millis(h.finish() % ms)
    }
}

async fn app_loop(
    reconciler: Arc<Reconciler>,
    permits: Arc<Semaphore>,
    app: String,
    offset: Duration,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        let Ok(_permit) = permits.acquire().await else {
            return;
        };
        if *shutdown.borrow() {
            return;
        }
        let started = Instant::now();
        // A round runs as its own task, so a panic in it (a bug, a library's assert)
        // ends that round, not the app's loop: logged, counted, and the next round
        // runs as usual.
        let round = {
            let (r, a) = (reconciler.clone(), app.clone());
            tokio::spawn(async move {
                let _ = r.reconcile(&a).await;
            })
        };
        if let Err(e) = round.await {
            if e.is_panic() {
                let why = panic_text(e.into_panic());
                reconciler
                    .metrics
                    .inc("fas_reconcile_panics_total", &[("app", &app)]);
                tracing::error!(app = %app, panic = %why, "a reconcile panicked; nothing more was done this round, the next runs as usual");
            }
        }
        if started.elapsed() > interval {
            reconciler
                .metrics
                .inc("fas_reconcile_skipped_total", &[("reason", "overrun")]);
            reconciler.status.mark_skipped(&app, "overrun");
            tracing::warn!(app = %app, took_secs = started.elapsed().as_secs_f64(), "reconcile overran the interval; skipping the missed rounds");
        }
    }
}

/// A panic's message, cut short (it may quote anything).
fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    crate::redact::quote(&text)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs_are_anchored() {
        assert!(glob_match("my-app-*", "my-app-1"));
        assert!(glob_match("my-app-*", "my-app-"));
        assert!(!glob_match("my-app-*", "not-my-app-1"));
        assert!(glob_match("*-worker", "eu-worker"));
        assert!(!glob_match("*-worker", "eu-worker-2"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*b*c", "ac"));
        assert!(glob_match("web", "web"));
        assert!(!glob_match("web", "web2"));
        assert!(glob_match("a.b*", "a.bc"));
        assert!(!glob_match("a.b*", "aXbc"), "no regex meaning for `.`");
        assert!(glob_match("app-?", "app-1"));
        assert!(!glob_match("app-?", "app-12"));
        assert!(glob_match("app-[ab]-*", "app-b-x"));
        assert!(!glob_match("app-[ab]-*", "app-c-x"));
        assert!(super::Apps::from_config("app-[", "org").is_err());
        assert_eq!(
            super::Apps::from_config("web", "org"),
            Ok(super::Apps::One("web".into()))
        );
    }
}
