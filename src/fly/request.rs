//! How one call goes over the wire: rate-limit token, attempt, classification of the
//! answer, and the retry rule (idempotent calls on any transient failure; a create
//! only when the failure proves nothing was created).

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::client::{FlyClient, Retry};
use super::limit::Action;
use super::FlyError;

/// The header that proves a call comes from the lease holder.
pub(super) const LEASE_NONCE: &str = "fly-machine-lease-nonce";

impl FlyClient {
    pub(super) async fn machines<T: DeserializeOwned>(
        &self,
        method: Method,
        action: Action,
        scope: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, FlyError> {
        self.machines_leased(method, action, scope, path, body, None)
            .await
    }

    /// A Machines API call, with the lease nonce when the caller holds a lease.
    /// Only reads are resent after an ambiguous failure: a start, stop, suspend or
    /// destroy that may have taken effect is left to the caller to read back, and a
    /// create is never resent unless the failure proves nothing was created.
    pub(super) async fn machines_leased<T: DeserializeOwned>(
        &self,
        method: Method,
        action: Action,
        scope: &str,
        path: &str,
        body: Option<Value>,
        nonce: Option<&str>,
    ) -> Result<T, FlyError> {
        let call = format!(
            "{} {}",
            action.name(),
            path.split('?').next().unwrap_or(path)
        );
        let retry = if method == Method::GET {
            Retry::Idempotent
        } else {
            Retry::OnlyIfNotApplied
        };
        let url = format!("{}/v1{path}", self.machines_url);
        self.send(
            &call,
            method,
            &url,
            body,
            (false, nonce),
            action,
            scope,
            retry,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send<T: DeserializeOwned>(
        &self,
        call: &str,
        method: Method,
        url: &str,
        body: Option<Value>,
        (graphql, nonce): (bool, Option<&str>),
        action: Action,
        scope: &str,
        retry: Retry,
    ) -> Result<T, FlyError> {
        let mut attempt = 0;
        loop {
            if let Some(l) = &self.limits {
                l.take(action, scope).await;
            }
            let result = self
                .attempt(call, method.clone(), url, body.as_ref(), (graphql, nonce))
                .await;
            let err = match result {
                Ok(text) => {
                    let text = if text.trim().is_empty() {
                        "null".to_string()
                    } else {
                        text
                    };
                    return serde_json::from_str(&text).map_err(|e| FlyError::Invalid {
                        call: call.to_string(),
                        msg: format!("unreadable answer: {e}"),
                    });
                }
                Err(e) => e,
            };
            let may_retry = match retry {
                Retry::Idempotent => err.is_transient(),
                Retry::OnlyIfNotApplied => err.surely_not_applied(),
            };
            if !may_retry || attempt >= self.max_retries {
                return Err(err);
            }
            tokio::time::sleep(
                err.retry_after()
                    .map(|d| d.min(Duration::from_secs(30)))
                    .unwrap_or_else(|| backoff(attempt)),
            )
            .await;
            attempt += 1;
            *self
                .retried
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(action.name())
                .or_default() += 1;
        }
    }

    async fn attempt(
        &self,
        call: &str,
        method: Method,
        url: &str,
        body: Option<&Value>,
        (graphql, nonce): (bool, Option<&str>),
    ) -> Result<String, FlyError> {
        let mut req = self.http.request(method, url);
        if let Some(a) = if graphql {
            &self.graphql_auth
        } else {
            &self.flaps_auth
        } {
            req = req.header(AUTHORIZATION, a.clone());
        }
        if let Some(n) = nonce {
            req = req.header(LEASE_NONCE, n);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| transport(call, &e))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<f64>().ok());
        let text = crate::body::read_capped(resp, answer_cap(url))
            .await
            .map_err(|e| match e {
                crate::body::BodyError::Read(e) => transport(call, &e),
                too_large => FlyError::Invalid {
                    call: call.to_string(),
                    msg: too_large.to_string(),
                },
            })?;
        if status.is_success() {
            return Ok(text);
        }
        // Whatever the server says, wait at most an hour (the retry loop caps it
        // further): a huge value must not overflow a Duration.
        let retry_after = retry_after
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0)));
        Err(FlyError::from_status(
            call,
            status_code(status),
            &text,
            retry_after,
        ))
    }
}

/// The most an answer may hold: 8 MiB, but an org's app list, which Fly does not
/// paginate, may hold 64 MiB (about 600,000 apps; 100,000 are about 10 MB), read into
/// names only (`list_org_apps`).
fn answer_cap(url: &str) -> usize {
    if url.contains("/apps?org_slug=") {
        64 << 20
    } else {
        crate::body::MAX_BODY
    }
}

fn status_code(s: StatusCode) -> u16 {
    s.as_u16()
}

fn transport(call: &str, e: &reqwest::Error) -> FlyError {
    if e.is_timeout() {
        return FlyError::Timeout {
            call: call.to_string(),
        };
    }
    // A failed connect never reached Fly; anything later might have.
    let sent = !e.is_connect();
    let msg = crate::error_chain(e);
    FlyError::Transport {
        call: call.to_string(),
        msg,
        sent,
    }
}

/// Full-jitter exponential backoff: uniform in [0, min(1 s, 100 ms * 2^attempt)).
fn backoff(attempt: u32) -> Duration {
    let cap = (100u64 << attempt.min(10)).min(1000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(u64::from(nanos) % cap.max(1))
}
