//! Metric collectors: each returns one number for the app being reconciled. A
//! collector error skips the app for the round (no scaling on missing data).
//! The Prometheus and Temporal collectors arrive with the collectors issue.

use std::future::Future;
use std::pin::Pin;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("collector {collector}: {msg}")]
pub struct CollectError {
    pub collector: String,
    pub msg: String,
}

pub type CollectFuture<'a> = Pin<Box<dyn Future<Output = Result<f64, CollectError>> + Send + 'a>>;

pub trait Collector: Send + Sync {
    /// The metric name the value is published under.
    fn name(&self) -> &str;
    /// The value for `app`; the caller bounds it with the round's timeout.
    fn collect<'a>(&'a self, app: &'a str) -> CollectFuture<'a>;
}
