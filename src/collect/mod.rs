//! Metric collectors: each returns one number for the app being reconciled. A
//! collector error skips the app for the round (no scaling on missing data); the
//! reconciler bounds every collection with the round's timeout.

pub(crate) mod bounded;
pub mod http;
mod json_at;
mod kept;
pub mod nats;
pub mod nkey;
pub(crate) mod pg_frames;
pub mod postgres;
mod prom_answer;
pub mod prometheus;
pub mod redis;
mod resp_frames;
pub mod temporal;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{text, CollectorConfig};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("collect metric ({collector:?}): {msg}")]
pub struct CollectError {
    pub collector: String,
    pub msg: String,
}

impl CollectError {
    /// A collector's error. `msg` may quote a server (an error text, a body): it is
    /// redacted whole, then cut, here, once for every collector.
    pub fn new(collector: &str, msg: impl AsRef<str>) -> CollectError {
        CollectError {
            collector: collector.to_string(),
            msg: crate::redact::quote(msg.as_ref()),
        }
    }
}

pub type CollectFuture<'a> = Pin<Box<dyn Future<Output = Result<f64, CollectError>> + Send + 'a>>;
pub type ReadingFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Reading, CollectError>> + Send + 'a>>;

/// One collection: the app's value and, for a collector with `machine-label`, one
/// value per Machine (Machine ID, value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub value: f64,
    pub machines: Vec<(String, f64)>,
}

pub trait Collector: Send + Sync {
    /// The metric name the value is published under.
    fn name(&self) -> &str;
    /// The value for `app`.
    fn collect<'a>(&'a self, app: &'a str) -> CollectFuture<'a>;
    /// The value for `app` and its per-Machine values, when the collector has them.
    fn read<'a>(&'a self, app: &'a str) -> ReadingFuture<'a> {
        Box::pin(async move {
            Ok(Reading {
                value: self.collect(app).await?,
                machines: Vec::new(),
            })
        })
    }
}

/// A metric value as fas reads one from a user (`--set`, history files): any float,
/// including `NaN`, `inf`, `-inf` and `-0.0`.
pub fn parse_value(s: &str) -> Option<f64> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse().ok(),
    }
}

/// `$APP_NAME`/`${APP_NAME}` become the app; other `$VARS` come from the environment
/// (unknown ones become empty), as upstream expands queries.
pub fn expand_query(query: &str, app: &str) -> String {
    let lookup = |name: &str| {
        if name == "APP_NAME" {
            app.to_string()
        } else {
            let v = std::env::var(name).unwrap_or_default();
            if crate::redact::secret_name(name) {
                crate::redact::register(&v);
            }
            v
        }
    };
    text::expand(query, &lookup, &|_| false)
}

/// The configured collectors, in configuration order.
pub fn build(
    configs: &[CollectorConfig],
    timeout: Duration,
) -> Result<Vec<Arc<dyn Collector>>, CollectError> {
    configs
        .iter()
        .map(|c| -> Result<Arc<dyn Collector>, CollectError> {
            match c.kind.as_str() {
                "prometheus" => Ok(Arc::new(prometheus::Prometheus::new(c, timeout)?)),
                "http" => Ok(Arc::new(http::Http::new(c, timeout)?)),
                "redis" => Ok(Arc::new(redis::Redis::new(c, timeout)?)),
                "postgres" => Ok(Arc::new(postgres::Postgres::new(c, timeout)?)),
                "nats" => Ok(Arc::new(nats::Nats::new(c, timeout)?)),
                _ => Ok(Arc::new(temporal::Temporal::new(c, timeout)?)),
            }
        })
        .collect()
}

/// The certificates of PEM text (a private CA in `ca-data`).
pub(crate) fn pem_certs(pem: &[u8]) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .collect()
}

/// A TLS client configuration trusting webpki roots plus a private CA (`ca-data`).
pub(crate) fn tls_config(ca_data: &str) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in pem_certs(ca_data.as_bytes()) {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// TLS over a connected socket, verified against webpki roots plus a private CA
/// (`ca-data`), for the collectors that speak their own protocol (Redis, NATS). The
/// error says what failed, never an address.
pub(crate) async fn tls_connect(
    host: &str,
    tcp: tokio::net::TcpStream,
    ca_data: &str,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let config = tls_config(ca_data)?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| "the address's host is not a valid TLS name".to_string())?;
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS failed: {e}"))
}

/// Collects every metric once for `app` (what `fas eval` prints).
pub async fn collect_all(
    collectors: &[Arc<dyn Collector>],
    app: &str,
) -> Result<Vec<(String, f64)>, CollectError> {
    let mut out = Vec::with_capacity(collectors.len());
    for c in collectors {
        out.push((c.name().to_string(), c.collect(app).await?));
    }
    Ok(out)
}
