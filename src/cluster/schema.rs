//! The cluster's tables, created at start (idempotent, versioned, serialized by an
//! advisory lock so instances starting together do not race), and the connection.

use std::time::Duration;

use super::ClusterError;
use crate::collect::bounded::Budget;
use crate::collect::pg_frames::{self, Bounds};

/// The schema this fas writes. A database at a newer version is refused: an older fas
/// must not act on state it does not understand.
pub const SCHEMA_VERSION: i32 = 1;

/// What one use of the cluster connection may read: a kept state is read back whole,
/// so the per-message cap is a state's (16 MiB), and a use (a page of states, a
/// renewal) at most the state file's cap.
pub fn bounds() -> Bounds {
    Bounds {
        budget: Budget::new(crate::fileread::Kind::State.cap() as usize),
        max_message: 16 << 20,
    }
}

/// Connects to `url` (a libpq URL; `sslmode` honoured as the PostgreSQL collector
/// honours it, TLS verified against webpki roots) through the length-checking layer
/// the collector uses.
pub async fn connect(
    url: &str,
    budget: Duration,
    bounds: &Bounds,
) -> Result<tokio_postgres::Client, ClusterError> {
    let config: tokio_postgres::Config = url.parse().map_err(|_| {
        ClusterError::Refused(
            "cluster-url (FAS_CLUSTER_URL) must be a libpq URL: postgres://user:password@host:5432/db?sslmode=require"
                .into(),
        )
    })?;
    if let Some(p) = config.get_password() {
        crate::redact::register(&String::from_utf8_lossy(p));
    }
    let tls = crate::collect::tls_config("").map_err(ClusterError::Refused)?;
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
    let client = match pg_frames::connect(&config, &tls, bounds).await {
        Ok(c) => c,
        Err(pg_frames::ConnectError::Setup(msg)) => return Err(ClusterError::Db(msg)),
        Err(pg_frames::ConnectError::Db(e)) => {
            return Err(bounds
                .budget
                .refused()
                .map_or_else(|| e.into(), ClusterError::Db))
        }
    };
    // A session cut off mid-transaction (a partition: the server sees no error) would
    // hold its row locks, and renewals skip locked shards: the server ends it after
    // the budget instead, and no statement waits on a lock for longer.
    let ms = budget.as_millis().max(1);
    client
        .batch_execute(&format!(
            "SET idle_in_transaction_session_timeout = {ms}; SET statement_timeout = {ms}"
        ))
        .await?;
    Ok(client)
}

/// Creates the tables on a fresh database; checks the version and the shard count on
/// one that has them.
pub async fn migrate(client: &mut tokio_postgres::Client, shards: u32) -> Result<(), ClusterError> {
    // The lock comes first: `CREATE TABLE IF NOT EXISTS` is not safe against a twin
    // running at the same moment (the loser fails on a unique index of the catalog).
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock(7405621)", &[])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS fas_schema (version int NOT NULL, shards int NOT NULL)",
    )
    .await?;
    let found = tx
        .query_opt("SELECT version, shards FROM fas_schema", &[])
        .await?
        .map(|r| (r.get::<_, i32>(0), r.get::<_, i32>(1)));
    match found {
        Some((version, _)) if version > SCHEMA_VERSION => {
            return Err(ClusterError::Refused(format!(
                "the database holds schema version {version}, written by a newer fas; this fas knows version {SCHEMA_VERSION}: upgrade this instance"
            )))
        }
        Some((_, n)) if n as u32 != shards => {
            return Err(ClusterError::Refused(format!(
                "the database is split into {n} shards and cluster-shards (FAS_CLUSTER_SHARDS) says {shards}: the shard count is fixed per database"
            )))
        }
        Some(_) => {}
        None => {
            tx.batch_execute(
                "CREATE TABLE fas_members (
                   id text PRIMARY KEY,
                   region text NOT NULL DEFAULT '',
                   renewed_at timestamptz NOT NULL,
                   expires_at timestamptz NOT NULL);
                 CREATE TABLE fas_shards (
                   shard int PRIMARY KEY,
                   owner text,
                   epoch bigint NOT NULL DEFAULT 0,
                   expires_at timestamptz NOT NULL DEFAULT '-infinity');
                 CREATE INDEX fas_shards_owner ON fas_shards (owner);
                 CREATE TABLE fas_app_state (
                   app text PRIMARY KEY,
                   shard int NOT NULL,
                   epoch bigint NOT NULL,
                   state jsonb NOT NULL,
                   memory jsonb NOT NULL DEFAULT '{}',
                   updated_at timestamptz NOT NULL DEFAULT now());",
            )
            .await?;
            tx.execute(
                "INSERT INTO fas_shards (shard) SELECT generate_series(0, $1 - 1)",
                &[&(shards as i32)],
            )
            .await?;
            tx.execute(
                "INSERT INTO fas_schema (version, shards) VALUES ($1, $2)",
                &[&SCHEMA_VERSION, &(shards as i32)],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
