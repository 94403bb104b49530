//! The Machine object as the Machines API returns it: the fields fas reads, typed,
//! and `config` kept whole as JSON, so a cloned config loses nothing the user set.
//! The rest (events, addresses, timestamps fas does not read) is skipped while
//! parsing: a listing is parsed for every app each round, and keeping every unknown
//! field (serde's `flatten`) buffered each Machine twice.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageRef {
    #[serde(default)]
    pub registry: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub digest: String,
}

impl ImageRef {
    /// fly-go's `FullImageRef()`: `registry/repository[:tag][@digest]`, so a clone is
    /// pinned to the source Machine's exact image.
    pub fn full(&self) -> String {
        let mut s = format!("{}/{}", self.registry, self.repository);
        if !self.tag.is_empty() {
            s.push(':');
            s.push_str(&self.tag);
        }
        if !self.digest.is_empty() {
            s.push('@');
            s.push_str(&self.digest);
        }
        s
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub host_status: String,
    /// Removed from Fly's proxy routing (fly-go since mid-2026; absent means no).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cordoned: bool,
    /// The whole MachineConfig, kept as JSON: cloning must preserve unknown keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// What Fly sends instead of `config` when the host is unreachable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incomplete_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_ref: Option<ImageRef>,
    /// The Machine's version: a deploy changes it (and discards a suspend snapshot).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub created_at: String,
}

/// The metadata key a Machine sets to protect itself from scale-down.
pub const PROTECT_KEY: &str = "fas-protect";
/// The metadata key that pauses scaling of the Machine's app (`all`, `scale-in`, `scale-out`).
pub const PAUSE_KEY: &str = "fas-pause";

/// What a `fas-protect` value says: (protected, understood). Read trimmed, in any
/// case; `true`, `yes`, `on`, `1` protect, absent, `false`, `no`, `off`, `0` do not.
/// Anything else fails closed: the Machine counts as protected.
pub fn protect_meaning(value: &str) -> (bool, bool) {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "off" | "0" => (false, true),
        "true" | "yes" | "on" | "1" => (true, true),
        _ => (true, false),
    }
}

/// What a `fas-pause` value holds back: (scale-out, scale-in, understood). Read
/// trimmed, in any case, as a comma list of `all`, `scale-out`, `scale-in`, `none`
/// (also `true`/`yes`/`on`/`1` for all, `false`/`no`/`off`/`0` for none). Anything
/// else fails closed: both directions paused.
pub fn pause_meaning(value: &str) -> (bool, bool, bool) {
    let (mut out, mut r#in, mut understood) = (false, false, true);
    for part in value.split(',') {
        match part.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "false" | "no" | "off" | "0" => {}
            "all" | "true" | "yes" | "on" | "1" => (out, r#in) = (true, true),
            "scale-out" => out = true,
            "scale-in" => r#in = true,
            _ => (out, r#in, understood) = (true, true, false),
        }
    }
    (out, r#in, understood)
}

impl Machine {
    /// fly-go's `ProcessGroup()`: `fly_process_group`, else the legacy
    /// `process_group`, read from `config` (or `incomplete_config`); never defaults.
    pub fn process_group(&self) -> &str {
        match self.metadata("fly_process_group") {
            "" => self.metadata("process_group"),
            g => g,
        }
    }

    /// One `config.metadata` value ("" when absent).
    pub fn metadata(&self, key: &str) -> &str {
        self.config
            .as_ref()
            .or(self.incomplete_config.as_ref())
            .and_then(|c| c.get("metadata"))
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// A worker busy with a job marks itself `fas-protect=true` (metadata, set without
    /// a restart): never stopped, suspended or destroyed while it says so.
    pub fn protected(&self) -> bool {
        protect_meaning(self.metadata(PROTECT_KEY)).0
    }

    /// Reachable: fly-autoscaler counts only Machines whose host says `ok`.
    pub fn is_reachable(&self) -> bool {
        self.host_status == "ok"
    }

    /// The config to create a copy of this Machine with: everything as listed, with
    /// `image` pinned to the full image reference.
    pub fn clone_config(&self) -> Option<Value> {
        let mut config = self.config.clone()?;
        if let (Some(obj), Some(image)) = (config.as_object_mut(), self.image_ref.as_ref()) {
            obj.insert("image".into(), Value::String(image.full()));
        }
        Some(config)
    }
}

/// Body of `POST /v1/apps/{app}/machines`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateMachine {
    pub config: Value,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_launch: bool,
}

/// An app as `GET /v1/apps?org_slug=` lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AppInfo {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub machine_count: u64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protect_and_pause_values_fail_closed() {
        for v in [" true", "TRUE", "1", "yes", "On"] {
            assert_eq!(protect_meaning(v), (true, true), "{v:?}");
        }
        for v in ["", "false", " No ", "0", "off"] {
            assert_eq!(protect_meaning(v), (false, true), "{v:?}");
        }
        assert_eq!(protect_meaning("maybe"), (true, false));
        assert_eq!(pause_meaning("ALL"), (true, true, true));
        assert_eq!(pause_meaning(" all"), (true, true, true));
        assert_eq!(pause_meaning("scale-in,scale-out"), (true, true, true));
        assert_eq!(pause_meaning("Scale-In"), (false, true, true));
        assert_eq!(pause_meaning("none"), (false, false, true));
        assert_eq!(pause_meaning(""), (false, false, true));
        assert_eq!(pause_meaning("scale_in"), (true, true, false));
    }
    use serde_json::json;

    #[test]
    fn full_image_ref_follows_fly_go() {
        let r = |tag: &str, digest: &str| {
            ImageRef {
                registry: "registry.fly.io".into(),
                repository: "app".into(),
                tag: tag.into(),
                digest: digest.into(),
            }
            .full()
        };
        assert_eq!(r("v1", "sha256:ab"), "registry.fly.io/app:v1@sha256:ab");
        assert_eq!(r("", "sha256:ab"), "registry.fly.io/app@sha256:ab");
        assert_eq!(r("v1", ""), "registry.fly.io/app:v1");
        assert_eq!(r("", ""), "registry.fly.io/app");
    }

    #[test]
    fn process_group_never_defaults_and_clone_keeps_unknown_keys() {
        let m: Machine = serde_json::from_value(json!({
            "id": "1", "state": "started", "host_status": "ok",
            "config": {"image": "x:1", "metadata": {"process_group": "worker"}, "brand_new_key": {"a": 1}},
            "image_ref": {"registry": "r", "repository": "x", "tag": "1", "digest": "sha256:f"},
            "instance_id": "01J", "future_field": true, "events": [{"type": "launch"}]
        }))
        .unwrap();
        assert_eq!(m.process_group(), "worker");
        assert_eq!(m.instance_id, "01J");
        let c = m.clone_config().unwrap();
        assert_eq!(c["image"], "r/x:1@sha256:f");
        assert_eq!(c["brand_new_key"], json!({"a": 1}));
        let bare: Machine =
            serde_json::from_value(json!({"id": "2", "config": {"image": "x"}})).unwrap();
        assert_eq!(bare.process_group(), "");
    }
}
