//! Errors of Fly API calls, typed by what the caller must do about them. None of them
//! ever carries the token: requests are described by method and path only.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlyError {
    /// 404: the app or Machine does not exist (any more).
    #[error("{call}: not found: {msg}")]
    NotFound { call: String, msg: String },
    /// 409/412: the Machine is in the wrong state or leased; re-list and decide again.
    #[error("{call}: conflict ({status}): {msg}")]
    Conflict {
        call: String,
        status: u16,
        msg: String,
    },
    /// 409 naming a lease: someone else (a deploy, another tool) holds the Machine.
    #[error("{call}: the Machine is leased by someone else: {msg}")]
    Leased { call: String, msg: String },
    /// 429: over Fly's rate limit.
    #[error("{call}: rate limited{}", retry_after.map(|d| format!(", retry after {}s", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        call: String,
        retry_after: Option<Duration>,
    },
    /// 5xx: Fly-side failure.
    #[error("{call}: server error {status}: {msg}")]
    Server {
        call: String,
        status: u16,
        msg: String,
    },
    /// No answer in time (or 408). For a create, the Machine may exist anyway.
    #[error("{call}: timed out")]
    Timeout { call: String },
    /// 401/403: the token is missing, wrong, or cannot see this app or org.
    #[error("{call}: the API token was refused ({status}): {msg}; check FAS_API_TOKEN (fly tokens create deploy / org)")]
    BadToken {
        call: String,
        status: u16,
        msg: String,
    },
    /// Other 4xx: the request itself is wrong (bad config, account limits).
    #[error("{call}: rejected ({status}): {msg}")]
    Rejected {
        call: String,
        status: u16,
        msg: String,
    },
    /// The connection failed; `sent` says whether the request may have reached Fly.
    #[error("{call}: connection failed: {msg}")]
    Transport {
        call: String,
        msg: String,
        sent: bool,
    },
    /// A 2xx answer we could not read, or a GraphQL error.
    #[error("{call}: {msg}")]
    Invalid { call: String, msg: String },
}

impl FlyError {
    /// Failures after which the same request may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FlyError::RateLimited { .. }
                | FlyError::Server { .. }
                | FlyError::Timeout { .. }
                | FlyError::Transport { .. }
        )
    }

    /// Failures that prove the request had no effect (safe to resend even a create).
    pub fn surely_not_applied(&self) -> bool {
        matches!(
            self,
            FlyError::RateLimited { .. } | FlyError::Transport { sent: false, .. }
        )
    }

    /// Failures after which the call may have taken effect anyway (a 5xx from a
    /// proxy after the host acted, a timeout, a connection dropped mid-answer): read
    /// the Machine back before deciding it failed.
    pub fn is_ambiguous(&self) -> bool {
        matches!(
            self,
            FlyError::Server { .. }
                | FlyError::Timeout { .. }
                | FlyError::Transport { sent: true, .. }
        )
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            FlyError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The error for an HTTP status with the body's message, as fly-go reads it:
    /// `message`, else `error`, else the raw text.
    pub fn from_status(
        call: &str,
        status: u16,
        body: &str,
        retry_after: Option<Duration>,
    ) -> FlyError {
        let msg = body_message(body);
        let call = call.to_string();
        match status {
            404 => FlyError::NotFound { call, msg },
            409 if msg.contains("lease") => FlyError::Leased { call, msg },
            409 | 412 => FlyError::Conflict { call, status, msg },
            429 => FlyError::RateLimited { call, retry_after },
            408 => FlyError::Timeout { call },
            401 | 403 => FlyError::BadToken { call, status, msg },
            500..=599 => FlyError::Server { call, status, msg },
            _ => FlyError::Rejected { call, status, msg },
        }
    }
}

fn body_message(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    };
    let msg = field("message")
        .or_else(|| field("error"))
        .map(str::to_string)
        .unwrap_or_else(|| body.trim().to_string());
    let mut msg = crate::redact::quote(&msg);
    if msg.is_empty() {
        msg.push_str("(no message)");
    }
    msg
}
