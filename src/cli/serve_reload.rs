//! Live reload for `fas serve`: on SIGHUP the configuration (the `--config` file and
//! the environment) and the policy are read again. A new configuration that does not
//! load, validate or build (a collector, the policy) is rejected with one log line and
//! `fas_config_reloads_total{result="rejected"}`, and the running one goes on. A valid
//! one takes effect at each app's next round; every app's `app.state` carries over
//! (policy.rs swaps the policy between two decisions). Settings that shape the process
//! itself (app, org, interval, …) need a restart: a change there is named and left.

use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{process_env, Config, Needs};
use crate::policy::{Limits, Policy, PolicyHandle};
use crate::reconcile::status::Mode;
use crate::reconcile::{PlanOptions, Reconciler, Settings};

/// What the reconciler takes from a configuration, built (collectors connect lazily).
pub fn settings(cfg: &Config) -> anyhow::Result<Settings> {
    Ok(Settings {
        // A collector that cannot be set up (a bad TLS key) fails as collecting fails,
        // with the same prefix, in `serve`, `eval` and a reload alike.
        collectors: crate::collect::build(&cfg.metric_collectors, cfg.timeout)
            .context("metrics collection failed")?,
        full_rounds_only: cfg
            .metric_collectors
            .iter()
            .map(|c| c.full_rounds_only)
            .collect(),
        plan: PlanOptions {
            process_group: cfg.process_group.clone(),
            regions: cfg.regions.clone(),
            create_stopped: cfg.initial_machine_state == "stopped",
            suspend: cfg.stop_mode == "suspend",
        },
        dry_run: cfg.dry_run,
        drain: crate::fly::Drain {
            signal: Some(cfg.stop_signal.clone()).filter(|s| !s.is_empty()),
            timeout: Some(cfg.stop_timeout).filter(|t| !t.is_zero()),
            cordon: cfg.cordon_before_stop,
        },
        pause: cfg.pause.clone(),
        fallback: cfg.fallback.clone(),
        policy_sees_errors: cfg.policy_sees_errors,
        warm_pool: cfg.initial_machine_state == "suspended",
    })
}

/// The policy's name for logs and the status page.
pub fn policy_name(cfg: &Config) -> String {
    cfg.policy
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "count expressions".into())
}

pub fn mode(cfg: &Config, now: f64) -> Mode {
    Mode {
        dry_run: cfg.dry_run,
        policy: policy_name(cfg),
        loaded_at: now,
        reloads: 0,
        last_reload_error: None,
        cluster: None,
    }
}

/// The policy as `cfg` describes it, built on the policy thread.
pub fn build_policy(
    cfg: &Config,
) -> impl Fn() -> Result<Policy, crate::policy::PolicyError> + Send + Sync + 'static {
    let (cfg, names) = (cfg.clone(), cfg.metric_names());
    move || Policy::from_config(&cfg, &names, Limits::default())
}

/// Settings only a restart applies, named when a reload changes them.
fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    let mut check = |changed: bool, key| {
        if changed {
            keys.push(key);
        }
    };
    check(old.app_name != new.app_name, "app-name");
    check(old.org != new.org, "org");
    check(old.interval != new.interval, "interval");
    check(old.timeout != new.timeout, "timeout");
    check(old.concurrency != new.concurrency, "concurrency");
    check(
        old.app_list_refresh_interval != new.app_list_refresh_interval,
        "app-list-refresh-interval",
    );
    check(old.api_token != new.api_token, "api-token");
    check(old.state_path != new.state_path, "state-path");
    check(old.metrics_addr != new.metrics_addr, "metrics-addr");
    check(
        old.reload_on_change != new.reload_on_change,
        "reload-on-change",
    );
    keys
}

pub struct Reloader {
    pub config_path: Option<PathBuf>,
    /// The configuration fas started with: restart-only settings keep its values.
    pub started_with: Config,
    pub reconciler: Arc<Reconciler>,
    pub policy: PolicyHandle,
    pub clock: Arc<dyn Clock>,
}

impl Reloader {
    /// Reads everything again and applies it, or says why not and changes nothing.
    /// Returns the configuration applied.
    pub async fn reload(&self) -> Option<Config> {
        let metrics = self.reconciler.metrics.clone();
        let status = self.reconciler.status.clone();
        match self.try_reload().await {
            Ok(cfg) => {
                metrics.inc("fas_config_reloads_total", &[("result", "applied")]);
                metrics.set("fas_config_last_reload_successful", &[], 1.0);
                let now = self.clock.now();
                status.update_mode(|m| {
                    let (reloads, cluster) = (m.reloads + 1, m.cluster.take());
                    *m = mode(&cfg, now);
                    m.reloads = reloads;
                    // The cluster settings need a restart; its line stays.
                    m.cluster = cluster;
                });
                tracing::info!(policy = %policy_name(&cfg), dry_run = cfg.dry_run,
                    "configuration reloaded; each app uses it from its next round");
                Some(cfg)
            }
            Err(e) => {
                let e = crate::redact::quote(&format!("{e:#}"));
                metrics.inc("fas_config_reloads_total", &[("result", "rejected")]);
                metrics.set("fas_config_last_reload_successful", &[], 0.0);
                status.update_mode(|m| m.last_reload_error = Some(e.clone()));
                tracing::error!(error = %e, "reload rejected; the running configuration and policy go on unchanged");
                None
            }
        }
    }

    async fn try_reload(&self) -> anyhow::Result<Config> {
        // Files are read (and collectors built, which may read credentials) off the
        // runtime under a deadline: a FIFO or a hung file system never stalls serving.
        let (path, timeout) = (self.config_path.clone(), self.started_with.timeout);
        let (cfg, settings) = crate::fileread::off_runtime(move || {
            let mut cfg = Config::load(path.as_deref(), &process_env)?;
            cfg.validate(Needs { app: true })?;
            // Collectors keep the running timeout (a restart-only setting).
            cfg.timeout = timeout;
            let settings = settings(&cfg)?;
            anyhow::Ok((cfg, settings))
        })
        .await??;
        let quarantined = self.policy.quarantined();
        self.policy.reload(build_policy(&cfg)).await?;
        for (app, _) in quarantined {
            self.reconciler
                .metrics
                .set("fas_policy_quarantined", &[("app", &app)], 0.0);
        }
        let restart = needs_restart(&self.started_with, &cfg);
        if !restart.is_empty() {
            tracing::warn!(keys = %restart.join(","), "these settings changed but apply only after a restart; the running values are kept");
        }
        self.reconciler
            .metrics
            .set("fas_dry_run", &[], if cfg.dry_run { 1.0 } else { 0.0 });
        self.reconciler.apply(settings);
        Ok(cfg)
    }

    /// Reloads on every SIGHUP, and with `reload-on-change` when the config or policy
    /// file changes on disk (checked every 2 s), until `stop`.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let watch = self.started_with.reload_on_change;
        let mut watched: Vec<PathBuf> = self
            .config_path
            .iter()
            .chain(self.started_with.policy.iter())
            .cloned()
            .collect();
        let mut seen = fingerprint(&watched);
        #[cfg(unix)]
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return;
        };
        loop {
            #[cfg(unix)]
            let hangup = hup.recv();
            #[cfg(not(unix))]
            let hangup = std::future::pending::<Option<()>>();
            let why = tokio::select! {
                _ = hangup => "SIGHUP",
                _ = tokio::time::sleep(WATCH_EVERY), if watch => "a file changed",
                _ = stop.wait_for(|s| *s) => "stop",
            };
            if why == "stop" {
                return;
            }
            if why != "SIGHUP" && fingerprint(&watched) == seen {
                continue;
            }
            tracing::info!(why, "reloading the configuration and the policy");
            if let Some(cfg) = self.reload().await {
                watched = self
                    .config_path
                    .iter()
                    .chain(cfg.policy.iter())
                    .cloned()
                    .collect();
            }
            // A rejected file is not retried until it changes again.
            seen = fingerprint(&watched);
        }
    }
}

const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the watched files look like on disk (modified time and length, or absent).
fn fingerprint(paths: &[PathBuf]) -> Vec<Option<(std::time::SystemTime, u64)>> {
    paths
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}
