//! With clustering on, every call that changes a Machine passes the cluster's gate
//! first (the database says this instance still owns the app's shard at its epoch)
//! and is sent before the gate's deadline; alone, both are no-ops.

use std::future::Future;

use tokio::time::Instant;

use super::app::{ReconcileError, Reconciler};

/// When this round's calls must be sent by; None: no cluster, no deadline.
pub(super) type Deadline = Option<Instant>;

impl Reconciler {
    /// Passes the gate for `app`, or says why this instance may not act on it.
    pub(super) async fn may_act(&self, app: &str) -> Result<Deadline, ReconcileError> {
        match &self.cluster {
            None => Ok(None),
            Some(gate) => Ok(Some(Instant::from_std(gate.may_act(app).await?))),
        }
    }

    /// Runs `calls` until `deadline`; past it the calls not yet sent are dropped and
    /// the round fails (another instance may own the app by now).
    pub(super) async fn within<T>(
        &self,
        app: &str,
        deadline: Deadline,
        calls: impl Future<Output = T>,
    ) -> Result<T, ReconcileError> {
        let Some(at) = deadline else {
            return Ok(calls.await);
        };
        let gate = self
            .cluster
            .as_ref()
            .expect("a deadline comes from the gate");
        let done = tokio::time::timeout_at(at, calls).await;
        gate.acted();
        done.map_err(|_| {
            ReconcileError::NotOwner(crate::cluster::NotOwner {
                member: gate.me.id.clone(),
                app: app.to_string(),
                shard: gate.shard_of(app),
                why: "its lease ran out while acting; the calls not yet sent were dropped".into(),
            })
        })
    }
}
