//! `Config::from_env`: upstream's `NewConfigFromEnv` (every `FAS_*` variable and the
//! collectors' env twins), plus fas's own variables.

use std::path::PathBuf;
use std::time::Duration;

use super::{fallback, invalid, text, CollectorConfig, Config, ConfigError, Env, Secret};

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
        if let Some(s) = env("FAS_LOG_FORMAT").filter(|s| !s.is_empty()) {
            c.log_format = s;
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
        c.watch = super::Watch::from_env(env)?;
        c.cluster = super::ClusterSettings::from_env(env)?;
        if let Some(p) = env("FAS_POLICY_PARAMS").filter(|s| !s.is_empty()) {
            c.policy_params = serde_json::from_str(&p)
                .ok()
                .filter(serde_json::Value::is_object)
                .ok_or_else(|| invalid("cannot parse FAS_POLICY_PARAMS: give a JSON object such as {\"per_machine\": 10}"))?;
        }
        Ok(c)
    }
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

fn split_regions(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect()
}

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
