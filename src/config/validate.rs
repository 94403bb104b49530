//! Upstream's validation rules, each message naming the environment variable and the
//! YAML key to fix.

use super::{invalid, Config, ConfigError};

/// What the command about to run needs from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// An app to scale (false for `fas eval --set`, which only evaluates).
    pub app: bool,
}

fn pair(what: &str, single: &str, min: &str, max: &str) -> Result<(), ConfigError> {
    let up = what.to_uppercase();
    let keys = format!(
        "FAS_MIN_{up}_MACHINE_COUNT / min-{what}-machine-count, \
         FAS_MAX_{up}_MACHINE_COUNT / max-{what}-machine-count"
    );
    if !single.is_empty() && (!min.is_empty() || !max.is_empty()) {
        return Err(invalid(format!(
            "cannot define {what} machine count and min/max {what} machine count: set either \
             FAS_{up}_MACHINE_COUNT ({what}-machine-count) or the min/max pair ({keys})"
        )));
    }
    if !min.is_empty() && max.is_empty() {
        return Err(invalid(format!(
            "max {what} machine count required if min {what} machine count is defined: set FAS_MAX_{up}_MACHINE_COUNT (max-{what}-machine-count)"
        )));
    }
    if min.is_empty() && !max.is_empty() {
        return Err(invalid(format!(
            "min {what} machine count required if max {what} machine count is defined: set FAS_MIN_{up}_MACHINE_COUNT (min-{what}-machine-count)"
        )));
    }
    Ok(())
}

/// `metrics-addr` must be `host:port` (a name is resolved when fas binds it, so a
/// name only has to look like one here).
fn check_listen_addr(addr: &str) -> Result<(), ConfigError> {
    let bound = super::listen_addr(addr);
    if bound.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let looks_right = bound.rsplit_once(':').is_some_and(|(host, port)| {
        port.parse::<u16>().is_ok()
            && !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    });
    if looks_right {
        return Ok(());
    }
    Err(invalid(format!(
        "metrics address {addr:?} is not host:port: set FAS_METRICS_ADDR (metrics-addr), e.g. 0.0.0.0:9090 or :9090"
    )))
}

/// More rounds in flight than this cannot be served by Fly's per-app rate limits
/// anyway, and a number far beyond it would overflow the scheduler's semaphore.
pub const MAX_CONCURRENCY: usize = 10_000;
/// Longer intervals and timeouts are mistakes (and overflow timers).
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

impl Config {
    pub fn has_created_count(&self) -> bool {
        [
            &self.created_machine_count,
            &self.min_created_machine_count,
            &self.max_created_machine_count,
        ]
        .iter()
        .any(|s| !s.is_empty())
    }

    pub fn has_started_count(&self) -> bool {
        [
            &self.started_machine_count,
            &self.min_started_machine_count,
            &self.max_started_machine_count,
        ]
        .iter()
        .any(|s| !s.is_empty())
    }

    pub fn validate(&self, needs: Needs) -> Result<(), ConfigError> {
        if needs.app && self.app_name.is_empty() {
            return Err(invalid(
                "app name required: set FAS_APP_NAME (app-name), e.g. my-app or my-app-*",
            ));
        }
        // A name given is checked as `serve` checks it, even where it is not needed
        // (`eval --set`): `eval` is how people check a configuration.
        let pattern = crate::reconcile::scheduler::is_pattern(&self.app_name);
        if pattern {
            crate::reconcile::Apps::from_config(&self.app_name, &self.org).map_err(invalid)?;
        }
        if pattern && self.org.is_empty() {
            return Err(invalid(format!(
                "app name {:?} has a wildcard, so an org is required: set FAS_ORG (org) to the org whose apps to scale",
                self.app_name
            )));
        }
        check_listen_addr(&self.metrics_addr)?;
        let counts = self.has_created_count() || self.has_started_count();
        match (&self.policy, counts) {
            (Some(p), true) => {
                return Err(invalid(format!(
                    "policy {} and machine count expressions are exclusive: set FAS_POLICY (policy) or the \
                     FAS_*_MACHINE_COUNT expressions (*-machine-count), not both",
                    p.display()
                )))
            }
            (None, false) => {
                return Err(invalid(
                    "must define either created machine count or started machine count: set FAS_CREATED_MACHINE_COUNT \
                     (created-machine-count) or FAS_STARTED_MACHINE_COUNT (started-machine-count), their min/max pairs, \
                     or a Lua policy with FAS_POLICY (policy)",
                ))
            }
            _ => {}
        }
        pair(
            "created",
            &self.created_machine_count,
            &self.min_created_machine_count,
            &self.max_created_machine_count,
        )?;
        pair(
            "started",
            &self.started_machine_count,
            &self.min_started_machine_count,
            &self.max_started_machine_count,
        )?;
        if !matches!(
            self.initial_machine_state.as_str(),
            "started" | "stopped" | "suspended"
        ) {
            return Err(invalid(format!(
                "initial machine state must be 'started', 'stopped' or 'suspended' (FAS_INITIAL_MACHINE_STATE / initial-machine-state), got {:?}",
                self.initial_machine_state
            )));
        }
        if !crate::telemetry::log::FORMATS.contains(&self.log_format.as_str()) {
            return Err(invalid(format!(
                "log format must be text, json or logfmt (FAS_LOG_FORMAT / log-format), got {:?}",
                self.log_format
            )));
        }
        if !matches!(self.stop_mode.as_str(), "stop" | "suspend") {
            return Err(invalid(format!(
                "stop mode must be either 'stop' or 'suspend' (FAS_STOP_MODE / stop-mode), got {:?}",
                self.stop_mode
            )));
        }
        if !self.stop_signal.is_empty() && !crate::fly::SIGNALS.contains(&self.stop_signal.as_str())
        {
            return Err(invalid(format!(
                "stop signal must be one of {} (FAS_STOP_SIGNAL / stop-signal), got {:?}",
                crate::fly::SIGNALS.join(", "),
                self.stop_signal
            )));
        }
        if self.stop_timeout > std::time::Duration::from_secs(300) {
            return Err(invalid(format!(
                "stop timeout must be at most 5m, Fly's longest (FAS_STOP_TIMEOUT / stop-timeout), got {:?}",
                self.stop_timeout
            )));
        }
        if !matches!(
            self.pause.as_str(),
            "none" | "all" | "scale-in" | "scale-out"
        ) {
            return Err(invalid(format!(
                "pause must be none, all, scale-in or scale-out (FAS_PAUSE / pause), got {:?}",
                self.pause
            )));
        }
        if let Some(fb) = &self.fallback {
            fb.validate()?;
            if self.policy_sees_errors {
                return Err(invalid(
                    "fallback and policy-sees-errors exclude each other: with policy-sees-errors the policy decides what a failing metric means; remove one",
                ));
            }
        }
        self.watch.validate()?;
        self.cluster.validate(self.interval)?;
        if self.cluster.enabled() && self.state_path.is_some() {
            return Err(invalid(
                "state-path (FAS_STATE_PATH) and cluster-url (FAS_CLUSTER_URL) exclude each other: with a cluster, policy state is kept in its database; remove state-path",
            ));
        }
        if self.concurrency == 0 {
            return Err(invalid(
                "concurrency must be at least 1 (FAS_CONCURRENCY / concurrency)",
            ));
        }
        if self.concurrency > MAX_CONCURRENCY {
            return Err(invalid(format!(
                "concurrency must be at most {MAX_CONCURRENCY} (FAS_CONCURRENCY / concurrency), got {}: Fly's rate limits allow far fewer calls at once",
                self.concurrency
            )));
        }
        for (d, what) in [
            (self.interval, "interval (FAS_INTERVAL / interval)"),
            (self.timeout, "timeout (FAS_TIMEOUT / timeout)"),
            (
                self.app_list_refresh_interval,
                "app list refresh interval (FAS_APP_LIST_REFRESH_INTERVAL / app-list-refresh-interval)",
            ),
        ] {
            if d > MAX_DURATION {
                return Err(invalid(format!("{what} must be at most 168h (a week)")));
            }
        }
        if self.interval.is_zero() {
            return Err(invalid(
                "interval must be greater than 0 (FAS_INTERVAL / interval), e.g. 15s",
            ));
        }
        if self.timeout.is_zero() {
            return Err(invalid(
                "timeout must be greater than 0 (FAS_TIMEOUT / timeout), e.g. 30s",
            ));
        }
        for c in &self.metric_collectors {
            let fail = |m: String| Err(invalid(format!("{}: {m}", c.origin)));
            if c.metric_name.is_empty() {
                return fail("metric name required (metric-name, or FAS_PROMETHEUS_METRIC_NAME / FAS_TEMPORAL_METRIC_NAME / FAS_HTTP_METRIC_NAME / FAS_REDIS_METRIC_NAME / FAS_POSTGRES_METRIC_NAME / FAS_NATS_METRIC_NAME)".into());
            }
            if !c.machine_label.is_empty() && c.kind != "prometheus" {
                return fail(
                    "machine-label is for prometheus collectors (one series per Machine)".into(),
                );
            }
            if !matches!(c.aggregate.as_str(), "" | "sum" | "max" | "avg") {
                return fail(format!(
                    "aggregate must be sum, max or avg (aggregate / FAS_PROMETHEUS_AGGREGATE), got {:?}",
                    c.aggregate
                ));
            }
            match c.kind.as_str() {
                "prometheus" if c.address.is_empty() => {
                    return fail(
                        "prometheus address required (address / FAS_PROMETHEUS_ADDRESS)".into(),
                    )
                }
                "prometheus" if c.query.is_empty() => {
                    return fail("prometheus query required (query / FAS_PROMETHEUS_QUERY)".into())
                }
                "temporal" if c.address.is_empty() => {
                    return fail(
                        "temporal address required (address / FAS_TEMPORAL_ADDRESS)".into(),
                    )
                }
                "temporal" if c.namespace.is_empty() => {
                    return fail(
                        "temporal namespace required (namespace / FAS_TEMPORAL_NAMESPACE)".into(),
                    )
                }
                "redis" if !(c.address.starts_with("redis://") || c.address.starts_with("rediss://")) => {
                    return fail(
                        "redis address required: redis://[user:password@]host:port/db or rediss://… (address / FAS_REDIS_ADDRESS)"
                            .into(),
                    )
                }
                "redis" => {
                    if let Err(e) = crate::collect::redis::parse_command(&c.command) {
                        return fail(format!("{e} (command / FAS_REDIS_COMMAND)"));
                    }
                    if !matches!(c.on_empty.as_str(), "" | "error" | "zero") {
                        return fail(format!("on-empty must be error or zero, got {:?}", c.on_empty));
                    }
                }
                "postgres"
                    if !(c.address.starts_with("postgres://")
                        || c.address.starts_with("postgresql://")) =>
                {
                    return fail(
                        "postgres address required: postgres://user:password@host:5432/db?sslmode=require (address / FAS_POSTGRES_ADDRESS)"
                            .into(),
                    )
                }
                "postgres" if c.query.trim().is_empty() => {
                    return fail(
                        "postgres query required: one row, one numeric column (query / FAS_POSTGRES_QUERY)"
                            .into(),
                    )
                }
                "prometheus" | "http" | "postgres"
                    if !matches!(c.on_empty.as_str(), "" | "error" | "zero") =>
                {
                    return fail(format!(
                        "on-empty must be error or zero, got {:?}",
                        c.on_empty
                    ))
                }
                "http" if !(c.url.starts_with("http://") || c.url.starts_with("https://")) => {
                    return fail(
                        "http url required, starting with http:// or https:// (url / FAS_HTTP_URL)"
                            .into(),
                    )
                }
                "http" if !(c.json_pointer.is_empty() || c.json_pointer.starts_with('/')) => {
                    return fail(format!(
                        "json-pointer must start with / (RFC 6901), e.g. /queue/depth, got {:?} (json-pointer / FAS_HTTP_JSON_POINTER)",
                        c.json_pointer
                    ))
                }
                "nats" if !(c.address.starts_with("nats://") || c.address.starts_with("tls://")) => {
                    return fail(
                        "nats address required: nats://[user:password@|token@]host:4222 or tls://… (address / FAS_NATS_ADDRESS)"
                            .into(),
                    )
                }
                "nats" => {
                    for (what, v, var) in [
                        ("stream", &c.stream, "FAS_NATS_STREAM"),
                        ("consumer", &c.consumer, "FAS_NATS_CONSUMER"),
                    ] {
                        let name = crate::collect::expand_query(v, "app");
                        if let Err(e) = crate::collect::nats::check_name(what, &name) {
                            return fail(format!("{e} ({what} / {var})"));
                        }
                    }
                }
                "prometheus" | "temporal" | "http" | "postgres" => {}
                "" => {
                    return fail(
                        "type required: set type to prometheus, temporal, http, redis, postgres or nats".into(),
                    )
                }
                other => {
                    return fail(format!(
                        "invalid type: {other:?}: use prometheus, temporal, http, redis, postgres or nats"
                    ))
                }
            }
        }
        let mut names: Vec<&str> = self
            .metric_collectors
            .iter()
            .map(|c| c.metric_name.as_str())
            .collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid(format!(
                "two metric collectors produce the metric {:?}: give each a distinct metric-name",
                w[0]
            )));
        }
        Ok(())
    }
}
