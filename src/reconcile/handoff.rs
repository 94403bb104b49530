//! What one app's next owner in a cluster must know besides its policy state: fas's
//! own recent creates, destroys and drains (laid over a listing that may lag them) and
//! the app's fallback streak. Exported as one JSON object per app, imported by the
//! instance that takes the app over.

use serde_json::{json, Value};

use super::Reconciler;

impl crate::cluster::AppMemory for Reconciler {
    fn apps(&self) -> Vec<String> {
        let mut apps = self.recent.apps();
        apps.extend(self.failing_apps());
        apps.sort();
        apps.dedup();
        apps
    }

    fn export(&self, app: &str) -> Value {
        let mut out = serde_json::Map::new();
        if let Some(recent) = self.recent.export(app) {
            out.insert("recent".into(), recent);
        }
        let failures = self.failures_of(app);
        if failures > 0 {
            out.insert("collect_failures".into(), json!(failures));
        }
        Value::Object(out)
    }

    fn import(&self, app: &str, memory: &Value) {
        match memory.get("recent") {
            Some(recent) => self.recent.import(app, recent, self.clock.now()),
            None => self.recent.forget(app),
        }
        let failures = memory
            .get("collect_failures")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        self.set_failures(app, failures.min(u64::from(u32::MAX)) as u32);
    }
}
