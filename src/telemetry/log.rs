//! Log setup: human-readable lines, one JSON object per event, or logfmt lines as
//! Go's slog writes them (upstream's format).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Colour only for a person at a terminal (Fly captures stderr), and never with
/// `NO_COLOR` set.
fn ansi() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The formats of `--log-format` / `log-format`.
pub const FORMATS: [&str; 3] = ["text", "json", "logfmt"];

/// `RUST_LOG` wins when set; else `info`, or with `verbose` fas's own debug lines
/// too (not its libraries': those are `RUST_LOG=debug`).
pub fn init(format: &str, verbose: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(if verbose { "info,fas=debug" } else { "info" }));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi())
        .with_writer(crate::redact::Stderr::default);
    let _ = match format {
        "json" => builder.json().try_init(),
        "logfmt" => builder
            .with_ansi(false)
            .event_format(super::logfmt::Logfmt)
            .try_init(),
        _ => builder.try_init(),
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
