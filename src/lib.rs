//! fas: a metrics-based autoscaler for Fly.io Machines with Lua policies.
//! The binary (`src/main.rs`) is a thin CLI over these modules.

pub mod body;
pub mod cli;
pub mod clock;
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
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}
