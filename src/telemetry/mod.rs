//! `/metrics` (Prometheus exposition) and `/healthz`, and log setup.

pub mod http;
pub mod log;
pub mod metrics;

pub use metrics::Metrics;
