//! Log setup: human-readable lines, or one JSON object per event for machines.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Colour only for a person at a terminal (Fly captures stderr), and never with
/// `NO_COLOR` set.
fn ansi() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// `RUST_LOG` wins when set; else `info`, or `debug` with `verbose`.
pub fn init(json: bool, verbose: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(if verbose { "debug" } else { "info" }));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi())
        .with_writer(crate::redact::Stderr::default);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// For one-shot commands (`eval`): only what a policy prints, on stderr, so stdout
/// keeps its JSON.
pub fn init_policy_prints() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("off,fas::policy=info"))
        .with_ansi(ansi())
        .with_writer(crate::redact::Stderr::default)
        .without_time()
        .try_init();
}
