//! The membership task of `fas serve` with clustering on: renews this instance's
//! leases every half lease (reconnecting after the database was lost), takes over the
//! policy state of shards it gains before its rounds may touch them, writes the
//! states that changed once per interval (fenced by epoch), and on shutdown saves
//! them a last time and lets every shard go.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{shard_of, AppMemory, Cluster, ClusterError, Gate, Kept, Owned};
use crate::policy::PolicyHandle;
use crate::reconcile::status::Status;
use crate::telemetry::Metrics;

/// States written per statement (a round of 10,000 changed apps is 20 statements).
const SAVE_BATCH: usize = 500;

/// The first claim comes this fraction of a lease after registering (3 s at the
/// default 15 s interval), at least `JOIN_AT_LEAST` (processes started together on a
/// busy machine registered over 800 ms apart in CI), at most half a lease.
const JOIN_WINDOW: u32 = 10;
const JOIN_AT_LEAST: Duration = Duration::from_secs(1);

/// How long after a shard becomes claimable (by the database's clock) to renew.
const FREE_SLACK: Duration = Duration::from_millis(20);

pub struct Membership {
    pub gate: Arc<Gate>,
    pub url: String,
    pub policy: PolicyHandle,
    /// The rest of what moves with an app (the reconciler's recent actions, streaks).
    pub memory: Arc<dyn AppMemory>,
    pub interval: Duration,
    /// The per-app round timeout (the longest a round may still act).
    pub timeout: Duration,
    pub status: Arc<Status>,
    pub metrics: Arc<Metrics>,
}

/// What the task holds between renewals.
#[derive(Default)]
pub struct Held {
    renewer: Option<Cluster>,
    /// Each shard's epoch at the last renewal.
    known: BTreeMap<u32, i64>,
    /// Each app's state and memory as the database holds them (loaded or written).
    saved: HashMap<String, (Value, Value)>,
    /// Unix seconds since when the database is unreachable.
    down_since: Option<f64>,
    /// Whether the log said this instance stopped acting in this outage.
    said_not_acting: bool,
}

impl Membership {
    /// Connects and registers before anything is scheduled. A URL or schema the
    /// database refuses is an error (exit 1); an unreachable database is not: the
    /// instance starts, acts on nothing, and keeps trying.
    pub async fn start(&self) -> Result<Held, ClusterError> {
        let mut held = Held::default();
        match self.connect().await {
            Ok(c) => {
                // A previous run of this member (a restart of the same Machine) may
                // still hold leases: a new epoch fences anything it had in flight, and
                // makes this run load their states.
                c.bump_own_epochs().await?;
                c.register().await?;
                held.renewer = Some(c);
            }
            Err(e @ ClusterError::Refused(_)) => return Err(e),
            Err(e) => self.down(&mut held, &e),
        }
        // The counters' documented series, at 0 from the first scrape.
        for (name, labels) in [
            (
                "fas_cluster_handoffs_total",
                [("direction", "gained")].as_slice(),
            ),
            ("fas_cluster_handoffs_total", &[("direction", "lost")]),
            ("fas_cluster_renewals_total", &[("result", "ok")]),
            ("fas_cluster_renewals_total", &[("result", "failed")]),
            ("fas_cluster_fencing_refusals_total", &[]),
        ] {
            self.metrics.set_counter(name, labels, 0);
        }
        Ok(held)
    }

    /// Renews every half lease and saves changed states every interval, until `stop`.
    pub async fn run(&self, mut held: Held, mut stop: watch::Receiver<bool>) -> Held {
        let every = self.gate.lease / 2;
        // The first claim waits for the instances that start together to register
        // (start): otherwise the first to start claims every shard and hands three
        // quarters of them over a renewal later, its loops and memory sized for all.
        let join = (self.gate.lease / JOIN_WINDOW)
            .max(JOIN_AT_LEAST)
            .min(every);
        let (mut renew_at, mut save_at) = (Instant::now() + join, Instant::now() + self.interval);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(renew_at.min(save_at)) => {}
                _ = stop.wait_for(|s| *s) => return held,
            }
            let now = Instant::now();
            if now >= renew_at {
                // Every half lease, or as soon as a shard may be claimed (a little
                // after, and never more often than a twentieth of the lease).
                let free = self.renew(&mut held).await;
                let soon = free.map_or(every, |d| (d + FREE_SLACK).max(self.gate.lease / 20));
                renew_at = Instant::now() + soon.min(every);
            }
            if now >= save_at {
                save_at = now + self.interval;
                self.save_changed(&mut held).await;
            }
        }
    }

    /// Shutdown, after the last rounds ended: the states a last time, then every
    /// shard let go, so the others take them at their next renewal, not a lease later.
    pub async fn leave(&self, mut held: Held) {
        self.save_changed(&mut held).await;
        let Some(c) = held.renewer.as_ref() else {
            return;
        };
        // No two instances act on an app within one interval: the next owner may
        // claim only an interval after this one's last calls.
        let grace = self
            .gate
            .since_acted()
            .map_or(Duration::ZERO, |since| self.interval.saturating_sub(since));
        match tokio::time::timeout(self.gate.budget(), c.release_all(grace)).await {
            Ok(Ok(n)) => {
                tracing::info!(shards = n, member = %self.gate.me.id, "cluster shards released")
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot release the cluster shards; they pass on when the lease ends")
            }
            Err(_) => tracing::warn!(
                "releasing the cluster shards timed out; they pass on when the lease ends"
            ),
        }
    }

    /// Two connections: one for renewals (a transaction at a time), one the rounds
    /// share (fences, states, the status page).
    async fn connect(&self) -> Result<Cluster, ClusterError> {
        let budget = self.gate.budget();
        let open = || async {
            let me = self.gate.me.clone();
            // A shard released for a joiner stays unclaimable while a round that
            // passed the gate before may still act on it (rounds end by the timeout).
            let grace = self.timeout.max(self.interval) + self.gate.lease / 10;
            match tokio::time::timeout(
                budget,
                Cluster::connect(&self.url, me, self.gate.shards, self.gate.lease, grace),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => Err(ClusterError::Db(format!("no answer within {budget:?}"))),
            }
        };
        let renewer = open().await?;
        self.gate.set_db(Some(Arc::new(open().await?)));
        Ok(renewer)
    }

    /// One renewal; returns when the next shard may be claimed, if one will.
    async fn renew(&self, held: &mut Held) -> Option<Duration> {
        match self.try_renew(held).await {
            Ok((owned, gained)) => {
                let free = owned.next_free_in;
                let gained = gained.len();
                let lost = held
                    .known
                    .keys()
                    .filter(|s| !owned.shards.contains_key(s))
                    .count();
                for (dir, n) in [("gained", gained), ("lost", lost)] {
                    let labels = [("direction", dir)];
                    let total = self.metrics.counter("fas_cluster_handoffs_total", &labels);
                    self.metrics.set_counter(
                        "fas_cluster_handoffs_total",
                        &labels,
                        total + n as u64,
                    );
                }
                if gained + lost > 0 {
                    tracing::info!(gained, lost, owned = owned.shards.len(), member = %self.gate.me.id, "cluster shards changed hands");
                }
                held.known = owned.shards.clone();
                let count = owned.shards.len();
                self.gate.publish(owned);
                held.down_since = None;
                held.said_not_acting = false;
                self.metrics
                    .inc("fas_cluster_renewals_total", &[("result", "ok")]);
                self.metrics
                    .set("fas_cluster_shards_owned", &[], count as f64);
                self.describe(count).await;
                free
            }
            Err(e) => {
                held.renewer = None;
                self.gate.set_db(None);
                self.metrics
                    .inc("fas_cluster_renewals_total", &[("result", "failed")]);
                self.down(held, &e);
                // Tried again soon (a connection attempt is cheap), so the apps
                // resume within a round of the database's return.
                Some(self.gate.lease / 10)
            }
        }
    }

    /// One renewal, and the shards it gained; their states are restored before they are
    /// published (on an error nothing new is published, and they count as gained
    /// again next time).
    async fn try_renew(&self, held: &mut Held) -> Result<(Owned, BTreeSet<u32>), ClusterError> {
        if held.renewer.is_none() {
            held.renewer = Some(self.connect().await?);
            tracing::info!(member = %self.gate.me.id, "cluster database reachable again; claiming shards");
        }
        let renewer = held.renewer.as_mut().expect("connected above");
        let owned = tokio::time::timeout(self.gate.budget(), renewer.renew())
            .await
            .map_err(|_| ClusterError::Db("the renewal got no answer in half a lease".into()))??;
        let gained: BTreeSet<u32> = owned
            .shards
            .iter()
            .filter(|(s, e)| held.known.get(s) != Some(e))
            .map(|(s, _)| *s)
            .collect();
        if !gained.is_empty() {
            // Shards let go stop at once; the gained ones only after their states.
            let mut kept = owned.clone();
            kept.shards.retain(|s, _| !gained.contains(s));
            self.gate.publish(kept);
            self.take_over(renewer, &gained, &mut held.saved).await?;
        }
        Ok((owned, gained))
    }

    /// Restores the kept states and memories of the apps of `gained` shards, and
    /// forgets what this instance held for their other apps (an earlier ownership).
    async fn take_over(
        &self,
        db: &Cluster,
        gained: &BTreeSet<u32>,
        saved: &mut HashMap<String, (Value, Value)>,
    ) -> Result<(), ClusterError> {
        let shards: Vec<u32> = gained.iter().copied().collect();
        let rows = db.load_states_of(&shards).await?;
        let policy = |e: crate::policy::PolicyError| ClusterError::Db(format!("policy: {e}"));
        let local = self.policy.states().await.map_err(policy)?;
        for app in local.keys() {
            if gained.contains(&shard_of(app, self.gate.shards)) && !rows.contains_key(app) {
                self.policy.forget(app);
                saved.remove(app);
            }
        }
        let mut states = BTreeMap::new();
        for (app, (state, memory)) in rows {
            let object = |text: &str| {
                serde_json::from_str::<Value>(text)
                    .ok()
                    .filter(Value::is_object)
            };
            let (Some(state), Some(memory)) = (object(&state), object(&memory)) else {
                tracing::warn!(app = %app, "the kept state of this app is not a JSON object; it starts from empty state");
                continue;
            };
            self.memory.import(&app, &memory);
            states.insert(app.clone(), state.clone());
            saved.insert(app, (state, memory));
        }
        let n = states.len();
        self.policy.restore(states).await.map_err(policy)?;
        tracing::debug!(
            shards = gained.len(),
            states = n,
            "took over the state of shards gained"
        );
        Ok(())
    }

    /// Writes the records that changed since they were loaded or last written, for
    /// the shards owned now (the statement itself refuses any lost meanwhile).
    async fn save_changed(&self, held: &mut Held) {
        let owned = self.gate.owned();
        let Some(db) = self.gate.db().filter(|_| !owned.shards.is_empty()) else {
            return;
        };
        let states = match self.policy.states().await {
            Ok(s) => s,
            Err(e) => return tracing::warn!(error = %e, "cannot read policy state"),
        };
        let mut apps: BTreeSet<String> = states.keys().cloned().collect();
        apps.extend(self.memory.apps());
        apps.extend(held.saved.keys().cloned());
        let empty = || Value::Object(Default::default());
        let changed: Vec<(String, (Value, Value))> = apps
            .into_iter()
            .filter(|app| owned.shards.contains_key(&shard_of(app, self.gate.shards)))
            .map(|app| {
                let state = states.get(&app).cloned().unwrap_or_else(empty);
                let memory = self.memory.export(&app);
                (app, (state, memory))
            })
            .filter(|(app, record)| held.saved.get(app) != Some(record))
            .collect();
        for batch in changed.chunks(SAVE_BATCH) {
            let records: Vec<Kept> = batch
                .iter()
                .map(|(app, (state, memory))| Kept {
                    app: app.clone(),
                    state: state.to_string(),
                    memory: memory.to_string(),
                })
                .collect();
            match tokio::time::timeout(self.gate.budget(), db.save_states(&owned, &records)).await {
                Ok(Ok(n)) if n as usize == batch.len() => held.saved.extend(batch.iter().cloned()),
                Ok(Ok(n)) => tracing::info!(
                    written = n,
                    refused = batch.len() - n as usize,
                    "some policy states were not written: their shards changed hands"
                ),
                Ok(Err(e)) => {
                    return tracing::warn!(error = %e, "cannot write policy state to the cluster database")
                }
                Err(_) => {
                    return tracing::warn!("writing policy state to the cluster database timed out")
                }
            }
        }
    }

    /// The status page's and `/healthz`'s line, and the members gauge.
    async fn describe(&self, owned: usize) {
        let members = match self.gate.db() {
            Some(db) => db.members().await.unwrap_or_default(),
            None => Vec::new(),
        };
        self.metrics
            .set("fas_cluster_members", &[], members.len() as f64);
        self.metrics
            .set_counter("fas_cluster_queries_total", &[], super::queries_sent());
        let me = &self.gate.me;
        let line = format!(
            "member {} ({}), {} live member{}, {owned} of {} shards owned, acting",
            me.id,
            if me.region.is_empty() {
                "no region"
            } else {
                &me.region
            },
            members.len(),
            if members.len() == 1 { "" } else { "s" },
            self.gate.shards,
        );
        self.status.update_mode(|m| m.cluster = Some(line));
    }

    fn down(&self, held: &mut Held, e: &ClusterError) {
        use crate::clock::{timestamp, Clock, SystemClock};
        let now = SystemClock.now();
        let first = held.down_since.is_none();
        let since = *held.down_since.get_or_insert(now);
        let left = self.gate.owned().act_until.map_or(0.0, |u| {
            u.saturating_duration_since(std::time::Instant::now())
                .as_secs_f64()
        });
        let acting = if left > 0.0 {
            format!(
                "it acts on its shards until its lease ends at {}, then on nothing",
                timestamp((now + left) as u64)
            )
        } else {
            "NOT ACTING: this instance scales nothing".into()
        };
        let line = format!(
            "cluster database unreachable since {} ({e}); {acting} until it reaches the database again",
            timestamp(since as u64)
        );
        // Said when it starts and when it stops acting; each retry in between, at debug.
        if first || left <= 0.0 && !held.said_not_acting {
            held.said_not_acting = left <= 0.0;
            tracing::warn!(member = %self.gate.me.id, "{line}");
        } else {
            tracing::debug!(member = %self.gate.me.id, "{line}");
        }
        self.status.update_mode(|m| m.cluster = Some(line));
    }
}
