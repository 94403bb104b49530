//! The gate every round passes before acting, with clustering on: which apps this
//! instance owns now (published by the membership task after each renewal), the
//! proof in the database that it still owns an app's shard at the epoch it holds
//! (asked once per shard per interval, only by rounds about to change a Machine), and
//! the deadline its calls must be sent by.
//!
//! Skew budget: an instance acts until its lease, counted on its own clock from
//! before the renewal was sent, less a tenth of the lease. The database's lease runs
//! from a later instant, so only the clocks' rates must agree (parts per million);
//! the tenth covers a call sent just before the deadline reaching Fly — while the
//! next owner must first see the lease expire, claim the shard at its next renewal,
//! list the app, decide and pass this same gate.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::{shard_of, Cluster, Owned};
use crate::telemetry::Metrics;

pub struct Gate {
    pub me: super::Member,
    pub shards: u32,
    pub lease: Duration,
    /// How long a fence holds before it is asked again.
    fence_for: Duration,
    owned: RwLock<Owned>,
    /// The connection rounds share (fences, state, the status page); None while the
    /// database is unreachable.
    db: RwLock<Option<Arc<Cluster>>>,
    fenced: Mutex<HashMap<u32, (i64, Instant)>>,
    /// Bumped when the shards owned change: loops of apps not owned wait on it.
    changed: watch::Sender<u64>,
    /// The apps scheduled now, for `/api/cluster`.
    apps: Mutex<Vec<String>>,
    /// When this instance's last calls for any app ended (to hand over at shutdown
    /// no sooner than an interval after them).
    last_acted: Mutex<Option<Instant>>,
    metrics: Arc<Metrics>,
}

/// Why a round may not act on its app.
#[derive(Debug, Clone, thiserror::Error)]
#[error("this instance ({member}) does not own app {app}'s shard {shard} now: {why}; another instance acts on it")]
pub struct NotOwner {
    pub member: String,
    pub app: String,
    pub shard: u32,
    pub why: String,
}

impl Gate {
    pub fn new(
        me: super::Member,
        shards: u32,
        lease: Duration,
        interval: Duration,
        metrics: Arc<Metrics>,
    ) -> Gate {
        Gate {
            me,
            shards,
            lease,
            fence_for: interval.min(lease / 2),
            owned: RwLock::default(),
            db: RwLock::default(),
            fenced: Mutex::default(),
            changed: watch::Sender::new(0),
            apps: Mutex::default(),
            last_acted: Mutex::default(),
            metrics,
        }
    }

    /// How long one call to the database may take: half a lease, the renewal
    /// period, so a hung connection never holds renewals up for longer. Safety never
    /// rests on it: acting ends by the lease counted from when a renewal was sent.
    pub fn budget(&self) -> Duration {
        self.lease / 2
    }

    pub fn shard_of(&self, app: &str) -> u32 {
        shard_of(app, self.shards)
    }

    /// Whether this instance owns `app` now (its own view; no query).
    pub fn owns(&self, app: &str) -> bool {
        read(&self.owned)
            .epoch(self.shard_of(app), Instant::now())
            .is_some()
    }

    /// Proves, in the database, that this instance still owns `app`'s shard at the
    /// epoch it holds, and returns the instant its calls for this round must be sent
    /// by. A shard the database refuses is dropped at once, and said.
    pub async fn may_act(&self, app: &str) -> Result<Instant, NotOwner> {
        let shard = self.shard_of(app);
        let refuse = |why: String| NotOwner {
            member: self.me.id.clone(),
            app: app.to_string(),
            shard,
            why,
        };
        let now = Instant::now();
        let (epoch, until) = {
            let owned = read(&self.owned);
            let epoch = owned
                .epoch(shard, now)
                .ok_or_else(|| refuse("its lease is not renewed".into()))?;
            (epoch, owned.act_until.unwrap_or(now))
        };
        let deadline = until.checked_sub(self.lease / 10).unwrap_or(now);
        if deadline <= now {
            return Err(refuse("its lease ends before a call could land".into()));
        }
        let fresh = lock(&self.fenced)
            .get(&shard)
            .is_some_and(|(e, at)| *e == epoch && at.elapsed() < self.fence_for);
        if fresh {
            return Ok(deadline);
        }
        let db = read(&self.db)
            .clone()
            .ok_or_else(|| refuse("the cluster database is unreachable".into()))?;
        // The answer is of use only while calls may still be sent.
        let asked = tokio::time::timeout_at(deadline.into(), db.fence(shard, epoch)).await;
        match asked {
            Ok(Ok(true)) => {
                lock(&self.fenced).insert(shard, (epoch, now));
                Ok(deadline)
            }
            Ok(Ok(false)) => {
                self.metrics.inc("fas_cluster_fencing_refusals_total", &[]);
                write(&self.owned).shards.remove(&shard);
                self.changed.send_modify(|n| *n += 1);
                tracing::warn!(app, shard, epoch, member = %self.me.id,
                    "the cluster database says another instance owns this shard now: acting on none of its apps");
                Err(refuse(format!(
                    "the database holds it at another epoch than {epoch}"
                )))
            }
            Ok(Err(e)) => Err(refuse(format!("the fence query failed: {e}"))),
            Err(_) => Err(refuse("the fence query timed out".into())),
        }
    }

    /// The shards owned after a renewal (their states already restored).
    /// Wakes the loops of apps not owned only when that may have changed (other
    /// shards or epochs, or a lease that had run out): not at every renewal.
    pub fn publish(&self, owned: Owned) {
        let mut fenced = lock(&self.fenced);
        fenced.retain(|s, (e, _)| owned.shards.get(s) == Some(e));
        drop(fenced);
        let mut held = write(&self.owned);
        let lapsed = held.act_until.is_none_or(|u| u <= Instant::now());
        let changed = lapsed || held.shards != owned.shards;
        *held = owned;
        drop(held);
        if changed {
            self.changed.send_modify(|n| *n += 1);
        }
    }

    pub fn owned(&self) -> Owned {
        read(&self.owned).clone()
    }

    pub fn set_db(&self, db: Option<Arc<Cluster>>) {
        *write(&self.db) = db;
    }

    pub fn db(&self) -> Option<Arc<Cluster>> {
        read(&self.db).clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// A round's calls ended.
    pub fn acted(&self) {
        *lock(&self.last_acted) = Some(Instant::now());
    }

    /// How long ago this instance's last calls ended; None: it never acted.
    pub fn since_acted(&self) -> Option<Duration> {
        lock(&self.last_acted).map(|at| at.elapsed())
    }

    pub fn set_apps(&self, apps: &[String]) {
        *lock(&self.apps) = apps.to_vec();
    }

    /// Each scheduled app with its shard.
    pub fn apps_by_shard(&self) -> BTreeMap<String, u32> {
        lock(&self.apps)
            .iter()
            .map(|a| (a.clone(), self.shard_of(a)))
            .collect()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}
