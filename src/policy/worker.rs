//! A policy on its own thread: Lua states are not `Send`, so async reconcilers talk
//! to the policy through a channel. One thread per policy; decisions are ~µs, so one
//! thread serves thousands of apps per interval.

use std::collections::BTreeMap;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::{AppInput, MachineCounts, Policy, PolicyError, Targets};

/// An owned `AppInput`, sent across threads.
#[derive(Debug, Clone)]
pub struct Decision {
    pub app: String,
    pub now: f64,
    pub interval_secs: f64,
    pub machines: MachineCounts,
    pub metrics: Vec<(String, f64)>,
}

enum Job {
    Decide(Decision, oneshot::Sender<Result<Targets, PolicyError>>),
    States(oneshot::Sender<Result<BTreeMap<String, serde_json::Value>, PolicyError>>),
    Restore(
        BTreeMap<String, serde_json::Value>,
        oneshot::Sender<Result<(), PolicyError>>,
    ),
    Forget(String),
}

#[derive(Clone)]
pub struct PolicyHandle {
    tx: mpsc::Sender<Job>,
}

fn gone() -> PolicyError {
    PolicyError::Runtime("the policy thread has stopped".into())
}

impl PolicyHandle {
    /// Builds the policy on a new thread (`build` runs there) and returns a handle.
    pub fn spawn(
        build: impl FnOnce() -> Result<Policy, PolicyError> + Send + 'static,
    ) -> Result<PolicyHandle, PolicyError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("fas-policy".into())
            .spawn(move || {
                let mut policy = match build() {
                    Ok(p) => {
                        let _ = ready_tx.send(Ok(()));
                        p
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                for job in rx {
                    match job {
                        Job::Decide(d, reply) => {
                            let input = AppInput {
                                name: &d.app,
                                now: d.now,
                                interval_secs: d.interval_secs,
                                machines: &d.machines,
                                metrics: &d.metrics,
                            };
                            let _ = reply.send(policy.decide(&input));
                        }
                        Job::States(reply) => {
                            let _ = reply.send(policy.states_json());
                        }
                        Job::Restore(states, reply) => {
                            let _ = reply.send(policy.restore_states(&states));
                        }
                        Job::Forget(app) => policy.forget(&app),
                    }
                }
            })
            .map_err(|e| PolicyError::Runtime(format!("cannot start the policy thread: {e}")))?;
        ready_rx.recv().map_err(|_| gone())??;
        Ok(PolicyHandle { tx })
    }

    pub async fn decide(&self, d: Decision) -> Result<Targets, PolicyError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job::Decide(d, reply)).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Every app's `state`, for persistence.
    pub async fn states(&self) -> Result<BTreeMap<String, serde_json::Value>, PolicyError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Job::States(reply)).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Drops an app's state (an app gone for longer than the grace period).
    pub fn forget(&self, app: &str) {
        let _ = self.tx.send(Job::Forget(app.to_string()));
    }

    pub async fn restore(
        &self,
        states: BTreeMap<String, serde_json::Value>,
    ) -> Result<(), PolicyError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job::Restore(states, reply))
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}
