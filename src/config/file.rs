//! The YAML config file (`--config FILE`): fly-autoscaler's keys plus fas's own, read
//! after `$VAR`/`${VAR}` expansion, unknown keys rejected with their line.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A scalar that Go's yaml.v3 would accept into a string field (`2` as well as `"2"`).
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Any {
            S(String),
            I(i64),
            F(f64),
            B(bool),
        }
        Ok(Scalar(match Any::deserialize(d)? {
            Any::S(s) => s,
            Any::I(i) => i.to_string(),
            Any::F(f) => f.to_string(),
            Any::B(b) => b.to_string(),
        }))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    pub app_name: Option<Scalar>,
    pub org: Option<Scalar>,
    pub regions: Option<Vec<String>>,
    pub process_group: Option<Scalar>,
    pub created_machine_count: Option<Scalar>,
    pub min_created_machine_count: Option<Scalar>,
    pub max_created_machine_count: Option<Scalar>,
    pub initial_machine_state: Option<Scalar>,
    pub stop_mode: Option<Scalar>,
    pub log_format: Option<Scalar>,
    pub stop_signal: Option<Scalar>,
    pub stop_timeout: Option<Scalar>,
    pub cordon_before_stop: Option<bool>,
    pub pause: Option<Scalar>,
    pub fallback: Option<super::fallback::FileFallback>,
    pub policy_sees_errors: Option<bool>,
    pub started_machine_count: Option<Scalar>,
    pub min_started_machine_count: Option<Scalar>,
    pub max_started_machine_count: Option<Scalar>,
    pub concurrency: Option<usize>,
    pub interval: Option<Scalar>,
    pub timeout: Option<Scalar>,
    pub app_list_refresh_interval: Option<Scalar>,
    pub api_token: Option<Scalar>,
    pub verbose: Option<bool>,
    pub dry_run: Option<bool>,
    pub reload_on_change: Option<bool>,
    pub metric_collectors: Option<Vec<FileCollector>>,
    pub policy: Option<String>,
    pub policy_params: Option<BTreeMap<String, serde_json::Value>>,
    pub state_path: Option<String>,
    pub metrics_addr: Option<String>,
    pub watch_interval: Option<Scalar>,
    pub watch_budget: Option<Scalar>,
    pub poke_token: Option<Scalar>,
    pub alertmanager_label: Option<String>,
    pub cluster_url: Option<Scalar>,
    pub cluster_shards: Option<Scalar>,
    pub cluster_lease: Option<Scalar>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileCollector {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub metric_name: Option<String>,
    pub query: Option<String>,
    pub address: Option<String>,
    pub token: Option<String>,
    pub namespace: Option<String>,
    pub cert_data: Option<String>,
    pub key_data: Option<String>,
    pub on_empty: Option<String>,
    pub api_key: Option<String>,
    pub server_name: Option<String>,
    pub ca_data: Option<String>,
    pub tls: Option<bool>,
    pub command: Option<String>,
    pub stream: Option<String>,
    pub consumer: Option<String>,
    pub credentials: Option<String>,
    pub machine_label: Option<String>,
    pub aggregate: Option<String>,
    pub url: Option<String>,
    pub json_pointer: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub watch: Option<bool>,
}

/// Parses YAML text (already expanded). Errors carry the line and column, and no
/// value from the file: the parser's snippet and any quoted value are dropped, since
/// the line could hold a token.
pub fn parse(text: &str) -> Result<FileConfig, String> {
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    serde_saphyr::from_str::<FileConfig>(text).map_err(|e| scrub(&e.to_string()))
}

fn scrub(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut out = String::new();
    for (i, part) in first.split('"').enumerate() {
        if i % 2 == 1 {
            out.push_str("\"<value hidden>\"");
        } else {
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line_and_key_but_no_value() {
        let e = parse("app-name: a\napi-token: FlyV1 secret\nbogus: 1\n").unwrap_err();
        assert!(
            e.starts_with("line 3 column 1: unknown field `bogus`"),
            "{e}"
        );
        assert!(!e.contains("secret"), "{e}");
        let e = parse("concurrency: \"FlyV1 secret\"\n").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn counts_may_be_numbers_or_strings() {
        let f = parse("created-machine-count: 2\nstarted-machine-count: \"min(5, q)\"\n").unwrap();
        assert_eq!(f.created_machine_count, Some(Scalar("2".into())));
        assert_eq!(f.started_machine_count, Some(Scalar("min(5, q)".into())));
    }
}
