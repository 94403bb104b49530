//! Log setup: human-readable lines, or one JSON object per event for machines.

use tracing_subscriber::EnvFilter;

/// `RUST_LOG` wins when set; else `info`, or `debug` with `verbose`.
pub fn init(json: bool, verbose: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(if verbose { "debug" } else { "info" }));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
