//! `/metrics` (Prometheus exposition), `/healthz`, the status page and its JSON, and
//! log setup.

mod app_gauges;
pub mod cluster;
mod families;
pub mod http;
pub mod log;
mod logfmt;
pub mod metrics;
pub mod poke;
pub mod status;
mod status_chart;
pub mod status_page;

pub use metrics::Metrics;
