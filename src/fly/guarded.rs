//! A start, stop, suspend or destroy done safely while others act on the Machine and
//! answers can lie: under a short lease of fas's own (a Machine leased by someone
//! else, a deploy say, is left alone), with the lease nonce on the call, and after an
//! ambiguous answer (5xx, timeout, dropped connection) one GET to learn whether the
//! call took effect, never a blind resend. The caller gets a report to count and log.

use std::time::Duration;

use super::{Drain, FlyClient, FlyError};

/// A lease lasts a few seconds longer than the call it covers may take, so a crash
/// of fas never holds a Machine for long.
pub const LEASE_MARGIN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verb {
    Start,
    Stop,
    Suspend,
    Destroy,
}

impl Verb {
    pub fn name(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Suspend => "suspend",
            Verb::Destroy => "destroy",
        }
    }

    /// Whether a Machine read back in `state` shows this call took effect.
    fn applied(self, state: &str) -> bool {
        match self {
            Verb::Start => matches!(state, "starting" | "started"),
            Verb::Stop => matches!(state, "stopping" | "stopped"),
            Verb::Suspend => matches!(state, "suspending" | "suspended"),
            Verb::Destroy => matches!(state, "destroying" | "destroyed"),
        }
    }
}

/// What the call came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    /// It took effect (perhaps despite an error answer).
    Applied,
    /// It surely did not take effect: the caller may try another Machine.
    NotApplied,
    /// Someone else holds the Machine's lease (the holder's message): left alone.
    Leased(String),
    /// It may have taken effect and the read-back could not tell: the caller must
    /// count it as done, so it never acts on one Machine too many.
    Unknown,
}

/// The outcome, and what happened on the way.
#[derive(Debug)]
pub struct Guarded {
    pub done: Done,
    /// Calls that failed on the way, by call name (`lease`, `start`, …).
    pub errors: Vec<(&'static str, FlyError)>,
    /// What the read-back after an ambiguous answer showed: `applied`,
    /// `not_applied` or `unknown`.
    pub read_back: Option<&'static str>,
    /// Fly refused to suspend the Machine (too much memory, swap, a schedule), so it
    /// was stopped instead: stop-mode suspend never stalls a scale-down.
    pub stopped_instead: bool,
    /// This call cordoned the Machine and it stays so (its stop applied, or may have):
    /// the caller remembers it, to uncordon it when it starts the Machine again.
    pub left_cordoned: bool,
}

/// How long a cordon or uncordon may take: draining is best effort, never the round.
pub const CORDON_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

impl FlyClient {
    /// `verb` on Machine `id` of `app`, under a lease, read back when ambiguous.
    pub async fn guarded(&self, app: &str, id: &str, verb: Verb) -> Guarded {
        self.guarded_with(app, id, verb, &Drain::default(), false)
            .await
    }

    /// As `guarded`, a stop or suspend drained as `drain` says: cordoned right before
    /// its stop (a failed cordon is reported and the stop goes on: draining is best
    /// effort, the scale-down is not), stopped with its signal and timeout, and
    /// uncordoned again when the stop did not apply. A start of a `cordoned` Machine
    /// (listed so, or cordoned by fas) uncordons it right after: whether Fly clears a
    /// cordon on start is unconfirmed, so fas never relies on it. Each cordon call has
    /// its own short timeout (`CORDON_TIMEOUT`).
    pub async fn guarded_with(
        &self,
        app: &str,
        id: &str,
        verb: Verb,
        drain: &Drain,
        cordoned: bool,
    ) -> Guarded {
        let mut g = Guarded {
            done: Done::NotApplied,
            errors: Vec::new(),
            read_back: None,
            stopped_instead: false,
            left_cordoned: false,
        };
        let ttl = self.request_timeout() + LEASE_MARGIN;
        let nonce = match self.acquire_lease(app, id, ttl).await {
            Ok(n) => Some(n),
            Err(FlyError::Leased { msg, .. }) => {
                g.done = Done::Leased(msg);
                return g;
            }
            // The call itself still meets a lease someone holds (409), so going on
            // without one of ours is safe; it only loses the deploy's courtesy.
            Err(e) => {
                g.errors.push(("lease", e));
                None
            }
        };
        let n = nonce.as_deref();
        let cordon_first = drain.cordon && matches!(verb, Verb::Stop | Verb::Suspend);
        if cordon_first {
            self.cordon_bounded(app, id, true, n, &mut g).await;
        }
        let mut result = self.call(app, id, verb, n, drain).await;
        if let (Verb::Suspend, Err(e @ FlyError::Rejected { .. })) = (verb, &result) {
            g.errors.push(("suspend", e.clone()));
            g.stopped_instead = true;
            result = self.call(app, id, Verb::Stop, n, drain).await;
        }
        g.done = match result {
            Ok(()) => Done::Applied,
            Err(FlyError::Leased { msg, .. }) => Done::Leased(msg),
            Err(e) => {
                let ambiguous = e.is_ambiguous();
                g.errors.push((verb.name(), e));
                if ambiguous {
                    let (done, seen) = self.read_back(app, id, verb).await;
                    g.read_back = Some(seen);
                    done
                } else {
                    Done::NotApplied
                }
            }
        };
        let applied = matches!(g.done, Done::Applied | Done::Unknown);
        if cordon_first && !applied {
            self.cordon_bounded(app, id, false, n, &mut g).await;
        }
        g.left_cordoned = cordon_first && applied;
        if verb == Verb::Start && cordoned && applied {
            self.cordon_bounded(app, id, false, n, &mut g).await;
        }
        if let Some(n) = n {
            // A destroyed Machine takes its lease with it; others expire by TTL.
            let _ = self.release_lease(app, id, n).await;
        }
        g
    }

    /// A cordon (`on`) or uncordon under `CORDON_TIMEOUT`; a failure is reported in
    /// `g.errors` and never stops the caller.
    async fn cordon_bounded(
        &self,
        app: &str,
        id: &str,
        on: bool,
        nonce: Option<&str>,
        g: &mut Guarded,
    ) {
        let call = if on { "cordon" } else { "uncordon" };
        match tokio::time::timeout(CORDON_TIMEOUT, self.cordon(app, id, on, nonce)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => g.errors.push((call, e)),
            Err(_) => g.errors.push((
                call,
                FlyError::Timeout {
                    call: call.to_string(),
                },
            )),
        }
    }

    async fn call(
        &self,
        app: &str,
        id: &str,
        verb: Verb,
        nonce: Option<&str>,
        drain: &Drain,
    ) -> Result<(), FlyError> {
        match verb {
            Verb::Start => self.start_machine(app, id, nonce).await,
            Verb::Stop => self.stop_machine_with(app, id, drain, nonce).await,
            Verb::Suspend => self.suspend_machine(app, id, nonce).await,
            Verb::Destroy => self.destroy_machine(app, id, true, nonce).await,
        }
    }

    /// After an ambiguous answer: one GET says whether the call took effect.
    async fn read_back(&self, app: &str, id: &str, verb: Verb) -> (Done, &'static str) {
        match self.get_machine(app, id).await {
            Ok(m) if verb.applied(&m.state) => (Done::Applied, "applied"),
            Ok(_) => (Done::NotApplied, "not_applied"),
            Err(FlyError::NotFound { .. }) if verb == Verb::Destroy => (Done::Applied, "applied"),
            Err(_) => (Done::Unknown, "unknown"),
        }
    }
}
