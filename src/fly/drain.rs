//! Letting a Machine finish before it stops: the stop's signal and timeout (sent in
//! the stop body; without them the Machine's own `stop_config` applies), cordoning it
//! first so Fly's proxy sends it no new requests, and the metadata calls a worker uses
//! to protect itself (`fas-protect`) or an operator to pause an app (`fas-pause`).

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::limit::Action;
use super::{FlyClient, FlyError};

/// The signals Fly's stop accepts (reference §2.5).
pub const SIGNALS: &[&str] = &[
    "SIGHUP", "SIGINT", "SIGKILL", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2",
];

/// How a scale-down stops a Machine.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drain {
    /// None: the Machine's `stop_config.signal` (Fly's default SIGINT).
    pub signal: Option<String>,
    /// None: the Machine's `stop_config.timeout` (Fly's default 5 s).
    pub timeout: Option<Duration>,
    /// Cordon before stopping: no new requests from Fly's proxy.
    pub cordon: bool,
}

impl Drain {
    /// The stop body: fly-go's shape (`id`, and `timeout` always, `"0s"` meaning the
    /// Machine's default), plus `signal` when one is set. A configured timeout is sent
    /// in whole seconds, rounded up (500ms is `1s`, 1.9s is `2s`): never as `0s`, which
    /// would hand the choice back to the Machine's own default.
    pub fn stop_body(&self, id: &str) -> Value {
        let timeout = self.timeout.map_or("0s".to_string(), |t| {
            let secs = t.as_secs() + u64::from(t.subsec_nanos() > 0);
            format!("{}s", secs.max(1))
        });
        let mut body = json!({"id": id, "timeout": timeout});
        if let Some(s) = &self.signal {
            body["signal"] = Value::from(s.clone());
        }
        body
    }
}

impl FlyClient {
    /// Stops a Machine the way `drain` says (see `Drain::stop_body`).
    pub async fn stop_machine_with(
        &self,
        app: &str,
        id: &str,
        drain: &Drain,
        nonce: Option<&str>,
    ) -> Result<(), FlyError> {
        let path = format!("/apps/{app}/machines/{id}/stop");
        let body = Some(drain.stop_body(id));
        let _: Value = self
            .machines_leased(Method::POST, Action::Stop, id, &path, body, nonce)
            .await?;
        Ok(())
    }

    /// Cordons (`on`) or uncordons a Machine. The lease nonce goes along: whether
    /// cordon honours leases is unconfirmed, and sending it is right either way.
    pub async fn cordon(
        &self,
        app: &str,
        id: &str,
        on: bool,
        nonce: Option<&str>,
    ) -> Result<(), FlyError> {
        let verb = if on { "cordon" } else { "uncordon" };
        let path = format!("/apps/{app}/machines/{id}/{verb}");
        let _: Value = self
            .machines_leased(Method::POST, Action::Stop, id, &path, None, nonce)
            .await?;
        Ok(())
    }

    /// Sets one metadata key of a Machine (no restart).
    pub async fn set_metadata(
        &self,
        app: &str,
        id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), FlyError> {
        let path = format!("/apps/{app}/machines/{id}/metadata/{key}");
        let body = Some(json!({ "value": value }));
        let _: Value = self
            .machines(Method::POST, Action::Get, id, &path, body)
            .await?;
        Ok(())
    }

    /// Removes one metadata key of a Machine.
    pub async fn delete_metadata(&self, app: &str, id: &str, key: &str) -> Result<(), FlyError> {
        let path = format!("/apps/{app}/machines/{id}/metadata/{key}");
        let _: Value = self
            .machines(Method::DELETE, Action::Get, id, &path, None)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stop_body_defaults_to_the_machines_own_settings() {
        assert_eq!(
            Drain::default().stop_body("m1"),
            json!({"id": "m1", "timeout": "0s"})
        );
        let d = Drain {
            signal: Some("SIGTERM".into()),
            timeout: Some(Duration::from_secs(120)),
            cordon: true,
        };
        assert_eq!(
            d.stop_body("m1"),
            json!({"id": "m1", "timeout": "120s", "signal": "SIGTERM"})
        );
        for (given, sent) in [(500, "1s"), (1900, "2s"), (1, "1s"), (90_000, "90s")] {
            let d = Drain {
                timeout: Some(Duration::from_millis(given)),
                ..Drain::default()
            };
            assert_eq!(d.stop_body("m1")["timeout"], sent, "{given} ms");
        }
    }
}
