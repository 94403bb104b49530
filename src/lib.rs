//! fas: a metrics-based autoscaler for Fly.io Machines with Lua policies.
//! The binary (`src/main.rs`) is a thin CLI over these modules.

pub mod body;
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod collect;
pub mod config;
pub mod faults;
pub mod fileread;
pub mod fly;
pub mod markup;
pub mod policy;
pub mod reconcile;
pub mod redact;
pub mod scripttest;
pub mod sim;
pub mod simulate;
pub mod telemetry;

/// An error with its causes, `outer: inner: innermost` (HTTP and gRPC libraries keep
/// the useful part, e.g. "connection refused", in the causes).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    chain_from(e.to_string(), e.source())
}

/// `first`, then each source's text — once: libraries often repeat their source's
/// text in their own (`tcp connect error: tcp connect error: …`), so a text already
/// said is left out.
pub fn chain_from(first: String, mut src: Option<&dyn std::error::Error>) -> String {
    let mut parts = vec![first];
    while let Some(s) = src {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        src = s.source();
    }
    parts.join(": ")
}
