//! Machine leases (reference §2.9): fas holds a short lease on a Machine around each
//! start, stop, suspend or destroy, so it never acts on a Machine a deploy (or
//! another tool) is working on, and a deploy never meets fas half-way.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::client::FlyClient;
use super::limit::Action;
use super::FlyError;

impl FlyClient {
    /// Takes a lease for `ttl`; answers its nonce. A Machine leased by someone else
    /// gives `FlyError::Leased`.
    pub async fn acquire_lease(
        &self,
        app: &str,
        id: &str,
        ttl: Duration,
    ) -> Result<String, FlyError> {
        let secs = ttl.as_secs().max(1);
        // fly-go sends the TTL in the query, the docs in the body: send both.
        let path = format!("/apps/{app}/machines/{id}/lease?ttl={secs}");
        let body = json!({"ttl": secs, "description": "fas autoscaler"});
        let v: Value = self
            .machines(Method::POST, Action::Lease, id, &path, Some(body))
            .await
            .map_err(|e| match e {
                FlyError::Conflict {
                    call,
                    status: 409,
                    msg,
                } => FlyError::Leased { call, msg },
                e => e,
            })?;
        v.pointer("/data/nonce")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .ok_or_else(|| FlyError::Invalid {
                call: format!("lease {path}"),
                msg: "the answer has no data.nonce".into(),
            })
    }

    /// Releases a lease fas holds.
    pub async fn release_lease(&self, app: &str, id: &str, nonce: &str) -> Result<(), FlyError> {
        let path = format!("/apps/{app}/machines/{id}/lease");
        let _: Value = self
            .machines_leased(Method::DELETE, Action::Lease, id, &path, None, Some(nonce))
            .await?;
        Ok(())
    }
}
