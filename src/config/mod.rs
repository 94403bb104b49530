//! Configuration: fly-autoscaler's `FAS_*` environment variables and YAML keys with
//! their meanings and defaults, fas's own keys (`policy`, `policy-params`), and
//! upstream's validation rules with messages that name the key to fix.

pub mod cluster;
mod env;
pub mod fallback;
mod file;
mod secret;
pub mod text;
mod validate;
pub mod watch;

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use crate::policy::expr::CountExprs;
pub use cluster::ClusterSettings;
pub use fallback::Fallback;
pub use secret::Secret;
pub use validate::Needs;
pub use watch::Watch;

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("config file {path}: {msg}")]
    File { path: String, msg: String },
}

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CollectorConfig {
    /// `prometheus`, `temporal` or `http`.
    pub kind: String,
    pub metric_name: String,
    pub query: String,
    pub address: String,
    pub token: Secret,
    pub namespace: String,
    pub cert_data: Secret,
    pub key_data: Secret,
    /// Prometheus: `error` (default, as upstream) or `zero` for an empty result.
    pub on_empty: String,
    /// Temporal Cloud API key, sent as a bearer token (turns TLS on).
    pub api_key: Secret,
    /// Temporal: TLS server name, when it differs from the address's host.
    pub server_name: String,
    /// Temporal: a private CA (PEM) to trust besides the system roots.
    pub ca_data: String,
    /// Temporal: force TLS on or off (default: on with a certificate or an API key).
    pub tls: Option<bool>,
    /// Redis: the read-only command whose answer is the count (`LLEN queue:default`).
    pub command: String,
    /// NATS: the JetStream stream and consumer whose backlog is counted.
    pub stream: String,
    pub consumer: String,
    /// NATS: a `.creds` file (user JWT + nkey seed) or a bare nkey seed, as content or path.
    pub credentials: Secret,
    /// HTTP: the URL to GET (`$APP_NAME` and `$VARS` expanded, as a query is).
    pub url: String,
    /// HTTP: an RFC 6901 JSON Pointer to the number in the answer (`/queue/depth`).
    pub json_pointer: String,
    /// HTTP: extra request headers; values are secrets (API keys), never printed.
    pub headers: Vec<(String, Secret)>,
    /// Prometheus: the label holding the Machine ID (per-Machine values), and how they
    /// make the app's value (`sum`, `max`, `avg`).
    pub machine_label: String,
    pub aggregate: String,
    /// `watch: false`: read only in full rounds, never by a watch step (an
    /// expensive query); watch steps reuse the last full round's value.
    pub full_rounds_only: bool,
    /// Where it was defined, for error messages: `FAS_PROMETHEUS_*`, `metric-collectors[0]`.
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub app_name: String,
    pub org: String,
    pub regions: Vec<String>,
    pub process_group: String,
    pub created_machine_count: String,
    pub min_created_machine_count: String,
    pub max_created_machine_count: String,
    pub started_machine_count: String,
    pub min_started_machine_count: String,
    pub max_started_machine_count: String,
    pub initial_machine_state: String,
    /// How scale-down stops a Machine: `stop` (upstream) or `suspend`.
    pub stop_mode: String,
    /// `text`, `json` or `logfmt` (Go slog's text format, upstream's).
    pub log_format: String,
    /// Scale-down's stop signal and timeout ("" / zero: the Machine's `stop_config`).
    pub stop_signal: String,
    pub stop_timeout: Duration,
    /// Cordon a Machine (no new requests from Fly's proxy) before stopping it.
    pub cordon_before_stop: bool,
    /// `none`, `all`, `scale-in` or `scale-out`: which actions are held back.
    pub pause: String,
    /// What an app does once a metric keeps failing (None: it holds, as upstream).
    pub fallback: Option<Fallback>,
    /// Call the policy even when a metric failed (nil there, `app.errors[name]` set).
    pub policy_sees_errors: bool,
    pub concurrency: usize,
    pub interval: Duration,
    pub timeout: Duration,
    pub app_list_refresh_interval: Duration,
    pub api_token: Secret,
    pub verbose: bool,
    /// Shadow mode: collect, decide and plan, but send nothing that changes a Machine.
    pub dry_run: bool,
    /// Reload when the config or policy file changes on disk, as on SIGHUP.
    pub reload_on_change: bool,
    pub metric_collectors: Vec<CollectorConfig>,
    pub policy: Option<PathBuf>,
    pub policy_params: serde_json::Value,
    /// Where `app.state` is kept across restarts (none: memory only).
    pub state_path: Option<PathBuf>,
    /// Listen address of `/metrics` and `/healthz`.
    pub metrics_addr: String,
    /// The fast path: watch steps between rounds, the read budget, pokes.
    pub watch: Watch,
    /// Several instances sharing the apps through PostgreSQL (off without a URL).
    pub cluster: ClusterSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            app_name: String::new(),
            org: String::new(),
            regions: Vec::new(),
            process_group: "app".into(),
            created_machine_count: String::new(),
            min_created_machine_count: String::new(),
            max_created_machine_count: String::new(),
            started_machine_count: String::new(),
            min_started_machine_count: String::new(),
            max_started_machine_count: String::new(),
            initial_machine_state: "started".into(),
            stop_mode: "stop".into(),
            log_format: "text".into(),
            stop_signal: String::new(),
            stop_timeout: Duration::ZERO,
            cordon_before_stop: false,
            pause: "none".into(),
            fallback: None,
            policy_sees_errors: false,
            concurrency: 1,
            interval: Duration::from_secs(15),
            timeout: Duration::from_secs(30),
            app_list_refresh_interval: Duration::from_secs(60),
            api_token: Secret::default(),
            verbose: false,
            dry_run: false,
            reload_on_change: false,
            metric_collectors: Vec::new(),
            policy: None,
            policy_params: serde_json::json!({}),
            state_path: None,
            metrics_addr: "0.0.0.0:9090".into(),
            watch: Watch::default(),
            cluster: ClusterSettings::default(),
        }
    }
}

/// Reads one environment variable; injected so tests need not touch the process env.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

impl Config {
    /// Applies a YAML file over this config (keys in the file win, as upstream).
    pub fn apply_file(&mut self, path: &Path, env: Env) -> Result<(), ConfigError> {
        let ferr = |msg: String| ConfigError::File {
            path: path.display().to_string(),
            msg,
        };
        let raw = crate::fileread::read(path, crate::fileread::Kind::Config)
            .map_err(|e| ferr(e.to_string()))?;
        let lookup = |name: &str| {
            let v = env(name).unwrap_or_default();
            if crate::redact::secret_name(name) || name.starts_with("FAS_API") {
                crate::redact::register(&v);
            }
            v
        };
        let text = text::expand(&raw, &lookup, &|n| n == "APP_NAME");
        let f = file::parse(&text).map_err(ferr)?;
        let set = |into: &mut String, v: Option<file::Scalar>| {
            if let Some(v) = v {
                *into = v.0;
            }
        };
        set(&mut self.app_name, f.app_name);
        set(&mut self.org, f.org);
        set(&mut self.process_group, f.process_group);
        set(&mut self.created_machine_count, f.created_machine_count);
        set(
            &mut self.min_created_machine_count,
            f.min_created_machine_count,
        );
        set(
            &mut self.max_created_machine_count,
            f.max_created_machine_count,
        );
        set(&mut self.started_machine_count, f.started_machine_count);
        set(
            &mut self.min_started_machine_count,
            f.min_started_machine_count,
        );
        set(
            &mut self.max_started_machine_count,
            f.max_started_machine_count,
        );
        set(&mut self.initial_machine_state, f.initial_machine_state);
        set(&mut self.stop_mode, f.stop_mode);
        set(&mut self.log_format, f.log_format);
        set(&mut self.stop_signal, f.stop_signal);
        set(&mut self.pause, f.pause);
        if let Some(v) = f.cordon_before_stop {
            self.cordon_before_stop = v;
        }
        if let Some(v) = f.policy_sees_errors {
            self.policy_sees_errors = v;
        }
        if let Some(fb) = f.fallback {
            self.fallback = Some(fb.into());
        }
        if let Some(r) = f.regions {
            self.regions = r
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        for (key, value, into) in [
            ("interval", f.interval, &mut self.interval),
            ("timeout", f.timeout, &mut self.timeout),
            ("stop-timeout", f.stop_timeout, &mut self.stop_timeout),
            (
                "app-list-refresh-interval",
                f.app_list_refresh_interval,
                &mut self.app_list_refresh_interval,
            ),
        ] {
            if let Some(v) = value {
                *into = text::parse_duration(&v.0).map_err(|e| ferr(format!("{key}: {e}")))?;
            }
        }
        if let Some(n) = f.concurrency {
            self.concurrency = n;
        }
        if let Some(t) = f.api_token {
            self.api_token = Secret::new(t.0);
        }
        if let Some(v) = f.verbose {
            self.verbose = v;
        }
        if let Some(v) = f.dry_run {
            self.dry_run = v;
        }
        if let Some(v) = f.reload_on_change {
            self.reload_on_change = v;
        }
        if let Some(p) = f.policy {
            // A relative policy path is relative to the config file.
            let base = path.parent().unwrap_or(Path::new(""));
            self.policy = Some(base.join(p));
        }
        if let Some(p) = f.state_path {
            self.state_path = Some(path.parent().unwrap_or(Path::new("")).join(p));
        }
        if let Some(a) = f.metrics_addr {
            self.metrics_addr = a;
        }
        let keys = watch::WatchKeys {
            interval: f.watch_interval.map(|v| v.0),
            budget: f.watch_budget.map(|v| v.0),
            poke_token: f.poke_token.map(|v| v.0),
            alert_label: f.alertmanager_label,
        };
        self.watch
            .apply(keys, ["watch-interval", "watch-budget"])
            .map_err(|e| ferr(e.to_string()))?;
        let keys = cluster::ClusterKeys {
            url: f.cluster_url.map(|v| v.0),
            shards: f.cluster_shards.map(|v| v.0),
            lease: f.cluster_lease.map(|v| v.0),
        };
        self.cluster
            .apply(keys, ["cluster-shards", "cluster-lease"])
            .map_err(|e| ferr(e.to_string()))?;
        if let Some(p) = f.policy_params {
            self.policy_params = serde_json::Value::Object(p.into_iter().collect());
        }
        if let Some(list) = f.metric_collectors {
            self.metric_collectors = list
                .into_iter()
                .enumerate()
                .map(|(i, c)| CollectorConfig {
                    kind: c.kind.unwrap_or_default(),
                    metric_name: c.metric_name.unwrap_or_default(),
                    query: c.query.unwrap_or_default(),
                    address: c.address.unwrap_or_default(),
                    token: Secret::new(c.token.unwrap_or_default()),
                    namespace: c.namespace.unwrap_or_default(),
                    cert_data: Secret::new(c.cert_data.unwrap_or_default()),
                    key_data: Secret::new(c.key_data.unwrap_or_default()),
                    on_empty: c.on_empty.unwrap_or_default(),
                    api_key: Secret::new(c.api_key.unwrap_or_default()),
                    server_name: c.server_name.unwrap_or_default(),
                    ca_data: c.ca_data.unwrap_or_default(),
                    tls: c.tls,
                    command: c.command.unwrap_or_default(),
                    stream: c.stream.unwrap_or_default(),
                    consumer: c.consumer.unwrap_or_default(),
                    credentials: Secret::new(c.credentials.unwrap_or_default()),
                    machine_label: c.machine_label.unwrap_or_default(),
                    aggregate: c.aggregate.unwrap_or_default(),
                    url: c.url.unwrap_or_default(),
                    json_pointer: c.json_pointer.unwrap_or_default(),
                    headers: c
                        .headers
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, Secret::new(v)))
                        .collect(),
                    full_rounds_only: c.watch == Some(false),
                    origin: format!("metric-collectors[{i}]"),
                })
                .collect();
        }
        Ok(())
    }

    /// Environment, then `--config FILE` over it.
    pub fn load(config_path: Option<&Path>, env: Env) -> Result<Config, ConfigError> {
        let mut c = Config::from_env(env)?;
        if let Some(p) = config_path {
            c.apply_file(p, env)?;
        }
        Ok(c)
    }

    /// Upstream's count expressions resolved to min/max (a single count fills both).
    pub fn count_exprs(&self) -> CountExprs {
        let pick = |single: &str, one: &str| {
            let s = if single.is_empty() { one } else { single };
            (!s.is_empty()).then(|| s.to_string())
        };
        CountExprs {
            min_created: pick(&self.created_machine_count, &self.min_created_machine_count),
            max_created: pick(&self.created_machine_count, &self.max_created_machine_count),
            min_started: pick(&self.started_machine_count, &self.min_started_machine_count),
            max_started: pick(&self.started_machine_count, &self.max_started_machine_count),
        }
    }

    /// Metric names the collectors produce (the names expressions may use).
    pub fn metric_names(&self) -> Vec<String> {
        self.metric_collectors
            .iter()
            .map(|c| c.metric_name.clone())
            .collect()
    }
}

/// A listen address as Go reads it: `:9090` is every interface (`0.0.0.0:9090`).
pub fn listen_addr(addr: &str) -> String {
    match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_string(),
    }
}
