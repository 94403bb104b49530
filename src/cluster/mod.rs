//! Several fas instances sharing an org through PostgreSQL: the schema, shard
//! ownership with leases and epochs, the fencing check, the gate rounds pass before
//! acting (gate.rs) and the membership task of `fas serve` (membership.rs).
//!
//! Apps map to `shards` virtual shards by a stable hash of their name. Each instance
//! renews the leases of the shards it owns and claims its fair share of the rest;
//! an expired lease's shard is claimable by anyone, and an instance holding more than
//! its share releases the surplus for those that hold less, so a shard never has two
//! owners at once. Every change of owner bumps the shard's epoch; before acting, an
//! instance proves in the database that it still owns the shard at the epoch it holds.
//!
//! Time is the database's: leases expire by the server's `now()`, so the instances'
//! clocks never meet. An instance acts on its shards only until its own clock says a
//! lease, counted from *before* the renewal was sent, has passed: its deadline can only
//! come before the server's expiry (clock rates, not clock values, must agree: a drift
//! of a few parts per million over a 30 s lease is microseconds).

mod gate;
mod membership;
mod schema;
mod state;

pub use gate::{Gate, NotOwner};
pub use membership::{Held, Membership};
pub use state::{AppMemory, Kept};

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::collect::pg_frames::Bounds;

pub use schema::SCHEMA_VERSION;

/// A plain session on the cluster database (TLS as `cluster-url` says), for tools
/// such as `fas bench cluster`.
pub async fn admin_connect(url: &str) -> Result<tokio_postgres::Client, ClusterError> {
    schema::connect(url, Duration::from_secs(60), &schema::bounds()).await
}

/// One use of a checked connection (pg_frames.rs): the whole budget again, and an
/// error the checking layer caused named as its refusal, not as a closed connection.
async fn checked<T>(
    bounds: &Bounds,
    work: impl std::future::Future<Output = Result<T, ClusterError>>,
) -> Result<T, ClusterError> {
    bounds.budget.refill();
    work.await.map_err(|e| match bounds.budget.refused() {
        Some(why) => ClusterError::Db(why),
        None => e,
    })
}

/// Which virtual shard an app belongs to: 64-bit FNV-1a of its name, modulo `shards`.
/// Stable across versions and platforms (it decides ownership in a shared database).
pub fn shard_of(app: &str, shards: u32) -> u32 {
    (fnv1a(app.as_bytes()) % u64::from(shards.max(1))) as u32
}

/// Statements this process sent to the cluster database (`fas_cluster_queries_total`).
static SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn count_sent(n: u64) {
    SENT.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
}

pub fn queries_sent() -> u64 {
    SENT.load(std::sync::atomic::Ordering::Relaxed)
}

/// 64-bit FNV-1a.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster database: {0}")]
    Db(String),
    #[error("cluster database: {0}")]
    Refused(String),
}

impl From<tokio_postgres::Error> for ClusterError {
    fn from(e: tokio_postgres::Error) -> ClusterError {
        // The server's own message; never the URL (it holds the password).
        ClusterError::Db(match e.as_db_error() {
            Some(db) => db.message().to_string(),
            None => crate::error_chain(&e),
        })
    }
}

/// This instance as the others see it.
#[derive(Debug, Clone)]
pub struct Member {
    /// The Fly Machine id where it runs (`FLY_MACHINE_ID`), else `host:pid`.
    pub id: String,
    /// `FLY_REGION`, or "".
    pub region: String,
}

impl Member {
    /// This process: on Fly, its Machine (a restart keeps the id and resumes its
    /// shards at once); elsewhere its host and process id, so two processes on one
    /// host are two members.
    pub fn this_process(env: crate::config::Env) -> Member {
        let id = env("FLY_MACHINE_ID")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| {
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .or_else(|| env("HOSTNAME"))
                    .unwrap_or_else(|| "localhost".into());
                format!("{}:{}", host.trim(), std::process::id())
            });
        Member {
            id,
            region: env("FLY_REGION").unwrap_or_default(),
        }
    }
}

/// The shards this instance owns after a renewal, with their epochs, and until when
/// (by its own clock) it may act on them.
#[derive(Debug, Clone, Default)]
pub struct Owned {
    pub shards: BTreeMap<u32, i64>,
    pub act_until: Option<Instant>,
    /// When the next shard this instance does not own becomes claimable (a lease
    /// running out, a release's grace ending): renewing then, not half a lease
    /// later, takes a lost instance's apps over a lease after its last renewal.
    pub next_free_in: Option<Duration>,
}

impl Owned {
    /// The epoch this instance holds `shard` at, while its lease may still run.
    pub fn epoch(&self, shard: u32, now: Instant) -> Option<i64> {
        self.act_until.filter(|until| now < *until)?;
        self.shards.get(&shard).copied()
    }
}

/// A member as the database lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MemberRow {
    pub id: String,
    pub region: String,
    /// Seconds since its last renewal, by the database's clock.
    pub renewed_secs_ago: f64,
    pub shards: i64,
}

pub struct Cluster {
    client: tokio_postgres::Client,
    /// What one use of the connection may read (each method is one use).
    bounds: Bounds,
    me: Member,
    shards: u32,
    lease: Duration,
    /// How long a shard released for another stays unclaimable: the longest a call
    /// this instance sent just before releasing it may still be in flight.
    release_grace: Duration,
}

/// A member's heartbeat ($1 id, $2 region, $3 lease in ms): at start alone
/// (`register`), and first in every renewal.
const HEARTBEAT: &str = "INSERT INTO fas_members (id, region, renewed_at, expires_at)
     VALUES ($1, $2, now(), now() + ($3::bigint * interval '1 millisecond'))
     ON CONFLICT (id) DO UPDATE SET region = $2, renewed_at = now(), expires_at = now() + ($3::bigint * interval '1 millisecond')";

/// A duration as SQL takes it here: milliseconds, a bigint (`$n * interval '1 ms'`).
fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

impl Cluster {
    /// Connects, creates or checks the schema (refusing a newer one, or another shard
    /// count) and registers this member.
    pub async fn connect(
        url: &str,
        me: Member,
        shards: u32,
        lease: Duration,
        release_grace: Duration,
    ) -> Result<Cluster, ClusterError> {
        // Half a lease, as `Gate::budget`.
        let bounds = schema::bounds();
        let mut client = schema::connect(url, lease / 2, &bounds).await?;
        checked(&bounds, schema::migrate(&mut client, shards)).await?;
        Ok(Cluster {
            client,
            bounds,
            me,
            shards,
            lease,
            release_grace,
        })
    }

    /// One use of the connection sending `statements` (counted for
    /// `fas_cluster_queries_total`), under its bounds.
    async fn one_use<T>(
        &self,
        statements: u64,
        work: impl std::future::Future<Output = Result<T, ClusterError>>,
    ) -> Result<T, ClusterError> {
        count_sent(statements);
        checked(&self.bounds, work).await
    }

    pub fn shards(&self) -> u32 {
        self.shards
    }

    /// One renewal, in one transaction: this member's heartbeat, its live leases
    /// extended, then its fair share (all shards over the live members, rounded up)
    /// claimed from the unowned and expired, or its surplus released. Call it every
    /// half lease; on an error, act only until the last `Owned::act_until`.
    pub async fn renew(&mut self) -> Result<Owned, ClusterError> {
        let bounds = self.bounds.clone();
        checked(&bounds, async {
        let sent = Instant::now();
        let lease = ms(self.lease);
        let tx = self.client.transaction().await?;
        tx.execute(
            HEARTBEAT,
            &[&self.me.id, &self.me.region, &lease],
        )
        .await?;
        tx.execute(
            "UPDATE fas_shards SET expires_at = now() + ($2::bigint * interval '1 millisecond') WHERE owner = $1 AND expires_at > now()",
            &[&self.me.id, &lease],
        )
        .await?;
        let live: i64 = tx
            .query_one(
                "SELECT count(*) FROM fas_members WHERE expires_at > now()",
                &[],
            )
            .await?
            .get(0);
        let fair = (i64::from(self.shards) + live.max(1) - 1) / live.max(1);
        // BEGIN, heartbeat, extend, two counts, the owned rows, next free, COMMIT.
        count_sent(8);
        let held: i64 = tx
            .query_one(
                "SELECT count(*) FROM fas_shards WHERE owner = $1 AND expires_at > now()",
                &[&self.me.id],
            )
            .await?
            .get(0);
        if held != fair {
            count_sent(1);
        }
        if held < fair {
            tx.execute(
                "UPDATE fas_shards SET owner = $1, epoch = epoch + 1, expires_at = now() + ($2::bigint * interval '1 millisecond')
                 WHERE shard IN (SELECT shard FROM fas_shards WHERE expires_at <= now()
                                 ORDER BY shard LIMIT $3 FOR UPDATE SKIP LOCKED)",
                &[&self.me.id, &lease, &(fair - held)],
            )
            .await?;
        } else if held > fair {
            tx.execute(
                "UPDATE fas_shards SET owner = NULL, expires_at = now() + ($2::bigint * interval '1 millisecond')
                 WHERE shard IN (SELECT shard FROM fas_shards WHERE owner = $1 AND expires_at > now()
                                 ORDER BY shard DESC LIMIT $3 FOR UPDATE)",
                &[&self.me.id, &ms(self.release_grace), &(held - fair)],
            )
            .await?;
        }
        let rows = tx
            .query(
                "SELECT shard, epoch FROM fas_shards WHERE owner = $1 AND expires_at > now()",
                &[&self.me.id],
            )
            .await?;
        let next_free: Option<f64> = tx
            .query_one(
                "SELECT extract(epoch FROM min(expires_at) - now())::float8 FROM fas_shards
                 WHERE owner IS DISTINCT FROM $1 AND expires_at > now()",
                &[&self.me.id],
            )
            .await?
            .get(0);
        tx.commit().await?;
        Ok(Owned {
            shards: rows
                .iter()
                .map(|r| (r.get::<_, i32>(0) as u32, r.get::<_, i64>(1)))
                .collect(),
            act_until: Some(sent + self.lease),
            next_free_in: next_free.map(|s| Duration::from_secs_f64(s.max(0.0))),
        })
        })
        .await
    }

    /// This member's heartbeat alone, claiming nothing: at start, so that instances
    /// starting together count one another before any of them claims its share.
    pub async fn register(&self) -> Result<(), ClusterError> {
        self.one_use(1, async {
            self.client
                .execute(HEARTBEAT, &[&self.me.id, &self.me.region, &ms(self.lease)])
                .await?;
            Ok(())
        })
        .await
    }

    /// Whether this member still owns `shard` at `epoch` with a live lease: one query,
    /// asked before acting. False means another may own it now: act on nothing of it.
    pub async fn fence(&self, shard: u32, epoch: i64) -> Result<bool, ClusterError> {
        self.one_use(1, async {
        let row = self
            .client
            .query_opt(
                "SELECT 1 FROM fas_shards WHERE shard = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()",
                &[&(shard as i32), &self.me.id, &epoch],
            )
            .await?;
        Ok(row.is_some())
        })
        .await
    }

    /// A fresh start of this member: a new epoch on every shard a previous run of it
    /// may still hold, so nothing that run sent passes a fence.
    pub async fn bump_own_epochs(&self) -> Result<u64, ClusterError> {
        self.one_use(1, async {
            Ok(self
                .client
                .execute(
                    "UPDATE fas_shards SET epoch = epoch + 1 WHERE owner = $1",
                    &[&self.me.id],
                )
                .await?)
        })
        .await
    }

    /// Lets go of every shard and leaves the member list (SIGTERM, after the rounds
    /// in flight ended): the others claim them at their next renewal after `grace`.
    pub async fn release_all(&self, grace: Duration) -> Result<u64, ClusterError> {
        self.one_use(2, async {
        let n = self
            .client
            .execute(
                "UPDATE fas_shards SET owner = NULL, expires_at = now() + ($2::bigint * interval '1 millisecond') WHERE owner = $1",
                &[&self.me.id, &ms(grace)],
            )
            .await?;
        self.client
            .execute("DELETE FROM fas_members WHERE id = $1", &[&self.me.id])
            .await?;
        Ok(n)
        })
        .await
    }

    /// Each shard's owner while its lease runs.
    pub async fn owners(&self) -> Result<BTreeMap<u32, String>, ClusterError> {
        self.one_use(1, async {
        let rows = self
            .client
            .query(
                "SELECT shard, owner FROM fas_shards WHERE owner IS NOT NULL AND expires_at > now()",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<_, i32>(0) as u32, r.get(1)))
            .collect())
        })
        .await
    }

    /// The live members, with the shards each owns.
    pub async fn members(&self) -> Result<Vec<MemberRow>, ClusterError> {
        self.one_use(1, async {
        let rows = self
            .client
            .query(
                "SELECT m.id, m.region, extract(epoch FROM now() - m.renewed_at)::float8,
                        (SELECT count(*) FROM fas_shards s WHERE s.owner = m.id AND s.expires_at > now())
                 FROM fas_members m WHERE m.expires_at > now() ORDER BY m.id",
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| MemberRow {
                id: r.get(0),
                region: r.get(1),
                renewed_secs_ago: r.get(2),
                shards: r.get(3),
            })
            .collect())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::shard_of;

    #[test]
    fn shards_are_stable_and_spread() {
        // Fixed values: the hash decides ownership in a shared database, so it must
        // never change between versions.
        assert_eq!(shard_of("", 1024), (0xcbf2_9ce4_8422_2325u64 % 1024) as u32);
        assert_eq!(
            shard_of("a", 1024),
            (0xaf63_dc4c_8601_ec8cu64 % 1024) as u32
        );
        let mut counts = vec![0u32; 16];
        for i in 0..16_000 {
            counts[shard_of(&format!("app-{i}"), 16) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }
}
