//! Several instances through PostgreSQL: `cluster-url` turns it on (a secret: it
//! holds the password), `cluster-shards` fixes how finely apps are split, and
//! `cluster-lease` how long an instance may act on its shards without renewing.

use std::time::Duration;

use super::{invalid, text, ConfigError, Env, Secret};

/// Virtual shards per database: fine enough that 10 instances split apps within 1%.
pub const DEFAULT_SHARDS: u32 = 1024;
const MAX_SHARDS: u32 = 65_536;

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSettings {
    /// A libpq URL (`postgres://user:password@host/db?sslmode=require`); empty: alone.
    pub url: Secret,
    pub shards: u32,
    /// None: twice the interval.
    pub lease: Option<Duration>,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            url: Secret::default(),
            shards: DEFAULT_SHARDS,
            lease: None,
        }
    }
}

/// The YAML keys, as read from the file.
#[derive(Default)]
pub struct ClusterKeys {
    pub url: Option<String>,
    pub shards: Option<String>,
    pub lease: Option<String>,
}

impl ClusterSettings {
    /// `FAS_CLUSTER_URL`, `FAS_CLUSTER_SHARDS`, `FAS_CLUSTER_LEASE`.
    pub fn from_env(env: Env) -> Result<ClusterSettings, ConfigError> {
        let get = |n: &str| env(n).filter(|s| !s.trim().is_empty());
        let mut c = ClusterSettings::default();
        c.apply(
            ClusterKeys {
                url: get("FAS_CLUSTER_URL"),
                shards: get("FAS_CLUSTER_SHARDS"),
                lease: get("FAS_CLUSTER_LEASE"),
            },
            ["FAS_CLUSTER_SHARDS", "FAS_CLUSTER_LEASE"],
        )?;
        Ok(c)
    }

    /// Sets what is given; `names` name the shards and lease keys in errors.
    pub fn apply(&mut self, k: ClusterKeys, names: [&str; 2]) -> Result<(), ConfigError> {
        if let Some(u) = k.url {
            self.url = Secret::new(u.trim());
        }
        if let Some(s) = k.shards {
            self.shards = s.trim().parse().map_err(|_| {
                invalid(format!(
                    "cannot parse {} as a whole number of shards: {s:?}",
                    names[0]
                ))
            })?;
        }
        if let Some(s) = k.lease {
            self.lease = Some(
                text::parse_duration(&s)
                    .map_err(|e| invalid(format!("cannot parse {} as duration: {e}", names[1])))?,
            );
        }
        Ok(())
    }

    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    /// The lease in force: as set, else twice the interval.
    pub fn lease_for(&self, interval: Duration) -> Duration {
        self.lease.unwrap_or(interval * 2)
    }

    pub fn validate(&self, interval: Duration) -> Result<(), ConfigError> {
        if !self.enabled() {
            return Ok(());
        }
        let url = self.url.expose();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(invalid(
                "cluster URL must be a postgres:// URL, such as postgres://fas:PASSWORD@my-db.flycast:5432/fas?sslmode=disable (FAS_CLUSTER_URL / cluster-url)",
            ));
        }
        if !(1..=MAX_SHARDS).contains(&self.shards) {
            return Err(invalid(format!(
                "cluster shards must be between 1 and {MAX_SHARDS} (FAS_CLUSTER_SHARDS / cluster-shards), got {}",
                self.shards
            )));
        }
        let lease = self.lease_for(interval);
        if lease < Duration::from_secs(1) {
            return Err(invalid(format!(
                "cluster lease must be at least 1s (FAS_CLUSTER_LEASE / cluster-lease), got {lease:?}: it is renewed every half lease"
            )));
        }
        Ok(())
    }
}
