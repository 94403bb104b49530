//! `/metrics` (Prometheus exposition) and `/healthz`, and log setup.

pub mod metrics;

pub use metrics::Metrics;
