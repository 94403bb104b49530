//! Configuration: fly-autoscaler's `FAS_*` environment variables and YAML keys with
//! their meanings and defaults, fas's own keys (`policy`, `policy-params`), and
//! upstream's validation rules with messages that name the key to fix.

pub mod fallback;
mod file;
mod secret;
pub mod text;

use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use crate::policy::expr::CountExprs;
pub use fallback::Fallback;
pub use secret::Secret;

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
        }
    }
}

/// Reads one environment variable; injected so tests need not touch the process env.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn bool_var(env: Env, name: &str, into: &mut bool) -> Result<(), ConfigError> {
    if let Some(s) = env(name).filter(|s| !s.is_empty()) {
        *into = match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => {
                return Err(invalid(format!(
                    "cannot parse {name} as a boolean: {s:?} (use true or false)"
                )))
            }
        };
    }
    Ok(())
}

fn duration_var(env: Env, name: &str, into: &mut Duration) -> Result<(), ConfigError> {
    if let Some(s) = env(name).filter(|s| !s.is_empty()) {
        *into = text::parse_duration(&s)
            .map_err(|e| invalid(format!("cannot parse {name} as duration: {e}")))?;
    }
    Ok(())
}

impl Config {
    /// Upstream's `NewConfigFromEnv`, plus `FAS_POLICY` and `FAS_POLICY_PARAMS` (JSON).
    pub fn from_env(env: Env) -> Result<Config, ConfigError> {
        let get = |name: &str| env(name).unwrap_or_default();
        let mut c = Config {
            app_name: get("FAS_APP_NAME"),
            org: get("FAS_ORG"),
            created_machine_count: get("FAS_CREATED_MACHINE_COUNT"),
            min_created_machine_count: get("FAS_MIN_CREATED_MACHINE_COUNT"),
            max_created_machine_count: get("FAS_MAX_CREATED_MACHINE_COUNT"),
            started_machine_count: get("FAS_STARTED_MACHINE_COUNT"),
            min_started_machine_count: get("FAS_MIN_STARTED_MACHINE_COUNT"),
            max_started_machine_count: get("FAS_MAX_STARTED_MACHINE_COUNT"),
            api_token: Secret::new(get("FAS_API_TOKEN")),
            ..Config::default()
        };
        if let Some(s) = env("FAS_INITIAL_MACHINE_STATE").filter(|s| !s.is_empty()) {
            c.initial_machine_state = s;
        }
        if let Some(s) = env("FAS_STOP_MODE").filter(|s| !s.is_empty()) {
            c.stop_mode = s;
        }
        c.stop_signal = get("FAS_STOP_SIGNAL");
        if let Some(s) = env("FAS_PAUSE").filter(|s| !s.is_empty()) {
            c.pause = s;
        }
        duration_var(env, "FAS_STOP_TIMEOUT", &mut c.stop_timeout)?;
        bool_var(env, "FAS_CORDON_BEFORE_STOP", &mut c.cordon_before_stop)?;
        bool_var(env, "FAS_POLICY_SEES_ERRORS", &mut c.policy_sees_errors)?;
        c.fallback = fallback::from_env(env)?;
        if let Some(s) = env("FAS_PROCESS_GROUP").filter(|s| !s.is_empty()) {
            c.process_group = s;
        }
        if let Some(s) = env("FAS_REGIONS").filter(|s| !s.is_empty()) {
            c.regions = split_regions(&s);
        }
        if let Some(s) = env("FAS_CONCURRENCY").filter(|s| !s.is_empty()) {
            c.concurrency = s
                .trim()
                .parse()
                .map_err(|_| invalid(format!("cannot parse FAS_CONCURRENCY as integer: {s:?}")))?;
        }
        bool_var(env, "FAS_DRY_RUN", &mut c.dry_run)?;
        bool_var(env, "FAS_RELOAD_ON_CHANGE", &mut c.reload_on_change)?;
        duration_var(env, "FAS_INTERVAL", &mut c.interval)?;
        duration_var(env, "FAS_TIMEOUT", &mut c.timeout)?;
        duration_var(
            env,
            "FAS_APP_LIST_REFRESH_INTERVAL",
            &mut c.app_list_refresh_interval,
        )?;
        if let Some(addr) = env("FAS_PROMETHEUS_ADDRESS").filter(|s| !s.is_empty()) {
            c.metric_collectors.push(CollectorConfig {
                kind: "prometheus".into(),
                address: addr,
                metric_name: get("FAS_PROMETHEUS_METRIC_NAME"),
                query: get("FAS_PROMETHEUS_QUERY"),
                token: Secret::new(get("FAS_PROMETHEUS_TOKEN")),
                on_empty: get("FAS_PROMETHEUS_ON_EMPTY"),
                machine_label: get("FAS_PROMETHEUS_MACHINE_LABEL"),
                aggregate: get("FAS_PROMETHEUS_AGGREGATE"),
                origin: "FAS_PROMETHEUS_*".into(),
                ..CollectorConfig::default()
            });
        }
        if let Some(addr) = env("FAS_TEMPORAL_ADDRESS").filter(|s| !s.is_empty()) {
            // Temporal's own variable names win, as upstream reads them first.
            let either =
                |a: &str, b: &str| env(a).filter(|s| !s.is_empty()).unwrap_or_else(|| get(b));
            c.metric_collectors.push(CollectorConfig {
                kind: "temporal".into(),
                address: addr,
                metric_name: get("FAS_TEMPORAL_METRIC_NAME"),
                query: get("FAS_TEMPORAL_QUERY"),
                namespace: get("FAS_TEMPORAL_NAMESPACE"),
                cert_data: Secret::new(either("TEMPORAL_TLS_CERT_DATA", "FAS_TEMPORAL_CERT_DATA")),
                key_data: Secret::new(either("TEMPORAL_TLS_KEY_DATA", "FAS_TEMPORAL_KEY_DATA")),
                api_key: Secret::new(get("FAS_TEMPORAL_API_KEY")),
                server_name: get("FAS_TEMPORAL_SERVER_NAME"),
                ca_data: get("FAS_TEMPORAL_CA_DATA"),
                origin: "FAS_TEMPORAL_*".into(),
                ..CollectorConfig::default()
            });
        }
        if let Some(url) = env("FAS_HTTP_URL").filter(|s| !s.is_empty()) {
            let headers = match env("FAS_HTTP_HEADERS").filter(|s| !s.trim().is_empty()) {
                Some(text) => parse_headers(&text)?,
                None => Vec::new(),
            };
            c.metric_collectors.push(CollectorConfig {
                kind: "http".into(),
                url,
                metric_name: get("FAS_HTTP_METRIC_NAME"),
                token: Secret::new(get("FAS_HTTP_TOKEN")),
                json_pointer: get("FAS_HTTP_JSON_POINTER"),
                on_empty: get("FAS_HTTP_ON_EMPTY"),
                headers,
                origin: "FAS_HTTP_*".into(),
                ..CollectorConfig::default()
            });
        }
        if let Some(addr) = env("FAS_REDIS_ADDRESS").filter(|s| !s.is_empty()) {
            c.metric_collectors.push(CollectorConfig {
                kind: "redis".into(),
                address: addr,
                metric_name: get("FAS_REDIS_METRIC_NAME"),
                command: get("FAS_REDIS_COMMAND"),
                on_empty: get("FAS_REDIS_ON_EMPTY"),
                ca_data: get("FAS_REDIS_CA_DATA"),
                origin: "FAS_REDIS_*".into(),
                ..CollectorConfig::default()
            });
        }
        if let Some(addr) = env("FAS_POSTGRES_ADDRESS").filter(|s| !s.is_empty()) {
            c.metric_collectors.push(CollectorConfig {
                kind: "postgres".into(),
                address: addr,
                metric_name: get("FAS_POSTGRES_METRIC_NAME"),
                query: get("FAS_POSTGRES_QUERY"),
                on_empty: get("FAS_POSTGRES_ON_EMPTY"),
                ca_data: get("FAS_POSTGRES_CA_DATA"),
                origin: "FAS_POSTGRES_*".into(),
                ..CollectorConfig::default()
            });
        }
        if let Some(addr) = env("FAS_NATS_ADDRESS").filter(|s| !s.is_empty()) {
            c.metric_collectors.push(CollectorConfig {
                kind: "nats".into(),
                address: addr,
                metric_name: get("FAS_NATS_METRIC_NAME"),
                stream: get("FAS_NATS_STREAM"),
                consumer: get("FAS_NATS_CONSUMER"),
                ca_data: get("FAS_NATS_CA_DATA"),
                credentials: Secret::new(get("FAS_NATS_CREDENTIALS")),
                origin: "FAS_NATS_*".into(),
                ..CollectorConfig::default()
            });
        }
        if let Some(p) = env("FAS_POLICY").filter(|s| !s.is_empty()) {
            c.policy = Some(PathBuf::from(p));
        }
        if let Some(p) = env("FAS_STATE_PATH").filter(|s| !s.is_empty()) {
            c.state_path = Some(PathBuf::from(p));
        }
        if let Some(a) = env("FAS_METRICS_ADDR").filter(|s| !s.is_empty()) {
            c.metrics_addr = a;
        }
        if let Some(p) = env("FAS_POLICY_PARAMS").filter(|s| !s.is_empty()) {
            c.policy_params = serde_json::from_str(&p)
                .ok()
                .filter(serde_json::Value::is_object)
                .ok_or_else(|| invalid("cannot parse FAS_POLICY_PARAMS: give a JSON object such as {\"per_machine\": 10}"))?;
        }
        Ok(c)
    }

    /// Applies a YAML file over this config (keys in the file win, as upstream).
    pub fn apply_file(&mut self, path: &Path, env: Env) -> Result<(), ConfigError> {
        let ferr = |msg: String| ConfigError::File {
            path: path.display().to_string(),
            msg,
        };
        let raw = std::fs::read_to_string(path).map_err(|e| ferr(format!("cannot read: {e}")))?;
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

fn split_regions(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect()
}

mod validate;
pub use validate::Needs;

/// `FAS_HTTP_HEADERS`: a JSON object of header names to values. Values are secrets;
/// an error names the variable, never a value.
fn parse_headers(text: &str) -> Result<Vec<(String, Secret)>, ConfigError> {
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(text).map_err(|_| {
            invalid(
                r#"FAS_HTTP_HEADERS must be a JSON object of strings, e.g. {"X-Api-Key": "..."}"#,
            )
        })?;
    Ok(map.into_iter().map(|(k, v)| (k, Secret::new(v))).collect())
}
