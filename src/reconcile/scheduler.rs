//! The scheduler: which apps to reconcile (one, or every app of the org matching a
//! wildcard, refreshed on its own interval), each in its own loop (app_loop.rs: full
//! rounds every interval, watch steps between them), and the pokes that reach those
//! loops as messages from the telemetry listener, rate-limited per app.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch, Notify, Semaphore};
use tokio::task::JoinHandle;

use super::app_loop::{app_loop, LoopCtx};
use super::Reconciler;
use crate::config::Watch;
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
    /// Watch steps between rounds, and their read budget.
    pub watch: Watch,
    /// Pokes from the telemetry listener (`POST /v1/apps/{app}/poke`, Alertmanager).
    pub pokes: Option<mpsc::Receiver<Poke>>,
}

/// Default grace period for the state of apps that disappeared.
pub const STATE_GRACE: Duration = Duration::from_secs(3600);

/// The shortest time between two pokes of one app that are acted on.
pub const POKE_GAP: Duration = Duration::from_secs(1);

/// A request to run a watch step for `app` at once; the answer says whether it will.
pub struct Poke {
    pub app: String,
    pub reply: oneshot::Sender<PokeAnswer>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PokeAnswer {
    /// A watch step runs at once (pokes that arrive before it are one step).
    Queued,
    /// fas does not scale this app.
    Unknown,
    /// The app was poked less than `POKE_GAP` ago; try again after this long.
    TooSoon(Duration),
}

struct AppTask {
    task: JoinHandle<()>,
    poked: Arc<Notify>,
    last_poke: Option<Instant>,
}

impl Scheduler {
    /// Runs until `shutdown` turns true, then lets in-flight rounds finish (each is
    /// bounded by the per-app timeout) and returns.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let permits = Arc::new(Semaphore::new(self.concurrency.max(1)));
        let mut loops: HashMap<String, AppTask> = HashMap::new();
        // Apps that stopped matching, and since when: their policy state is kept for
        // the grace period, in case they come back (a rename, a flapping list).
        let mut gone: HashMap<String, Instant> = HashMap::new();
        let apps = Arc::new(AtomicUsize::new(0));
        let mut pokes = self.pokes.take();
        let poked = pokes.is_some();
        let mut refresh_at = tokio::time::Instant::now();
        // What every app's loop shares: one copy for all.
        let ctx = Arc::new(LoopCtx {
            reconciler: self.reconciler.clone(),
            permits: permits.clone(),
            interval: self.interval,
            watch: self.watch.clone(),
            apps: apps.clone(),
            overruns: Default::default(),
        });
        // With clustering on, loops run only for the apps this instance owns: started
        // when their shard is gained, ended by the loop itself when it is lost.
        let mut names: Vec<String> = Vec::new();
        let mut changes = self.reconciler.cluster.as_ref().map(|g| g.subscribe());
        // The first apps owned keep their spread; apps taken over later go at once.
        let mut spread = true;
        // The loops' own view of the shutdown (the select below holds `shutdown`).
        let stop = shutdown.clone();
        // With clustering on, once an interval: a loop for every app owned that has none
        // (a loop that ended on a loss just as its shard came back missed the news).
        let mut heal = tokio::time::interval(self.interval);
        heal.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            if tokio::time::Instant::now() >= refresh_at {
                refresh_at += self.refresh_interval;
                match self.app_names().await {
                    Ok(listed) => {
                        self.drop_gone(&listed, &mut loops, &mut gone);
                        if let Some(gate) = &self.reconciler.cluster {
                            gate.set_apps(&listed);
                        }
                        names = listed;
                        self.spawn_owned(&names, &mut loops, &ctx, &stop, false);
                        self.publish_watch_period(apps.load(Ordering::Relaxed), poked);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot list the org's apps; keeping the current list")
                    }
                }
            }
            // A single app is listed once; a wildcard's list is refreshed.
            let refresh = matches!(self.apps, Apps::Matching { .. });
            tokio::select! {
                _ = tokio::time::sleep_until(refresh_at), if refresh => {}
                Some(p) = async { pokes.as_mut()?.recv().await }, if pokes.is_some() => {
                    let _ = p.reply.send(poke(&mut loops, &p.app));
                }
                Some(_) = async { changes.as_mut()?.changed().await.ok() }, if changes.is_some() => {
                    loops.retain(|_, t| !t.task.is_finished());
                    if self.spawn_owned(&names, &mut loops, &ctx, &stop, !spread) > 0 {
                        spread = false;
                    }
                }
                _ = heal.tick(), if changes.is_some() && !spread => {
                    loops.retain(|_, t| !t.task.is_finished());
                    let started = self.spawn_owned(&names, &mut loops, &ctx, &stop, true);
                    if started > 0 {
                        tracing::debug!(started, "loops started for owned apps that had none");
                    }
                }
                _ = shutdown.wait_for(|stop| *stop) => break,
            }
        }
        for (_, t) in loops {
            let _ = t.task.await;
        }
    }

    /// Starts a loop for each app of `names` this instance owns (all of them without
    /// clustering) that has none; `at_once`: its first round now, then back at its
    /// offset (an app taken over). Returns how many were started.
    fn spawn_owned(
        &self,
        names: &[String],
        loops: &mut HashMap<String, AppTask>,
        ctx: &Arc<LoopCtx>,
        shutdown: &watch::Receiver<bool>,
        at_once: bool,
    ) -> usize {
        let gate = self.reconciler.cluster.as_deref();
        let mut started = 0;
        for name in names.iter().filter(|n| gate.is_none_or(|g| g.owns(n))) {
            if let Entry::Vacant(slot) = loops.entry(name.clone()) {
                let poked = Arc::new(Notify::new());
                let task = tokio::spawn(app_loop(
                    ctx.clone(),
                    name.clone(),
                    self.offset(name),
                    at_once,
                    poked.clone(),
                    shutdown.clone(),
                ));
                slot.insert(AppTask {
                    task,
                    poked,
                    last_poke: None,
                });
                started += 1;
            }
        }
        // The apps this instance reconciles (the watch budget is shared among them).
        ctx.apps.store(loops.len(), Ordering::Relaxed);
        self.reconciler
            .metrics
            .set("fas_apps", &[], loops.len() as f64);
        started
    }

    /// Drops the loops of apps no longer in `names`; forgets the policy state of
    /// apps gone for longer than the grace period.
    fn drop_gone(
        &self,
        names: &[String],
        loops: &mut HashMap<String, AppTask>,
        gone: &mut HashMap<String, Instant>,
    ) {
        let r = &self.reconciler;
        loops.retain(|name, t| {
            let keep = names.contains(name);
            if !keep {
                gone.insert(name.clone(), Instant::now());
                t.task.abort();
                r.forget_app(name);
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
                r.policy.forget(name);
            }
            !expired
        });
    }

    /// Says whether apps get watch steps, and how often, where it is seen. Listings
    /// are kept for watch steps while there are any, or pokes may ask for one.
    fn publish_watch_period(&self, apps: usize, poked: bool) {
        let r = &self.reconciler;
        let period = self.watch.period(apps, r.reads_per_step(), self.interval);
        r.watching
            .store(period.is_some() || poked, Ordering::Relaxed);
        if period.is_none() && !poked {
            r.known.clear();
        }
        let secs = period.map(|p| p.as_secs_f64());
        r.status.set_watch_period(secs);
        r.metrics
            .set("fas_watch_period_seconds", &[], secs.unwrap_or(0.0));
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

/// A poke for `app`: wakes its loop, unless it is unknown or was poked just now.
fn poke(loops: &mut HashMap<String, AppTask>, app: &str) -> PokeAnswer {
    let Some(t) = loops.get_mut(app) else {
        return PokeAnswer::Unknown;
    };
    if let Some(last) = t.last_poke {
        let since = last.elapsed();
        if since < POKE_GAP {
            return PokeAnswer::TooSoon(POKE_GAP - since);
        }
    }
    t.last_poke = Some(Instant::now());
    t.poked.notify_one();
    PokeAnswer::Queued
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
