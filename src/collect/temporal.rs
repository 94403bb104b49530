//! The Temporal collector: `WorkflowService/CountWorkflowExecutions` over gRPC
//! (tonic, hand-written messages with the real package, field names and numbers),
//! counting `ExecutionStatus="Running"` plus ` AND (<query>)` when one is set. The
//! namespace goes in the request and in the `temporal-namespace` header (Temporal
//! Cloud routes API-key calls by it); mTLS from PEM `cert-data`/`key-data`; an API
//! key is sent as `authorization: Bearer …` and turns TLS on, as newer Go SDKs do.

use std::time::Duration;

use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::{expand_query, CollectError, CollectFuture, Collector};
use crate::config::{CollectorConfig, Secret};

/// `temporal.api.workflowservice.v1.CountWorkflowExecutionsRequest`
#[derive(Clone, PartialEq, prost::Message)]
pub struct CountWorkflowExecutionsRequest {
    #[prost(string, tag = "1")]
    pub namespace: String,
    #[prost(string, tag = "2")]
    pub query: String,
}

/// `temporal.api.workflowservice.v1.CountWorkflowExecutionsResponse` (the `groups`
/// of GROUP BY queries, field 2, are not needed and skipped on decode).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CountWorkflowExecutionsResponse {
    #[prost(int64, tag = "1")]
    pub count: i64,
}

pub const COUNT_PATH: &str =
    "/temporal.api.workflowservice.v1.WorkflowService/CountWorkflowExecutions";

pub struct Temporal {
    name: String,
    namespace: String,
    query: String,
    api_key: Secret,
    channel: Channel,
}

impl Temporal {
    pub fn new(c: &CollectorConfig, timeout: Duration) -> Result<Temporal, CollectError> {
        let err = |msg: String| CollectError::new(&c.metric_name, msg);
        let has_cert = !c.cert_data.is_empty() || !c.key_data.is_empty();
        let tls = c.tls.unwrap_or(has_cert || !c.api_key.is_empty());
        let scheme = if tls { "https" } else { "http" };
        let address = c
            .address
            .trim_start_matches("http://")
            .trim_start_matches("https://");
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{address}"))
            .map_err(|e| err(format!("bad address {:?}: {e}; use host:port", c.address)))?
            .timeout(timeout)
            .connect_timeout(timeout);
        if tls {
            let host = address.rsplit_once(':').map(|(h, _)| h).unwrap_or(address);
            let name = if c.server_name.is_empty() {
                host
            } else {
                c.server_name.as_str()
            };
            let mut cfg = ClientTlsConfig::new().domain_name(name).with_webpki_roots();
            if !c.ca_data.is_empty() {
                // A private CA (self-hosted clusters, tests), PEM text like the certs.
                cfg = cfg.ca_certificate(Certificate::from_pem(&c.ca_data));
            }
            if has_cert {
                if c.cert_data.is_empty() || c.key_data.is_empty() {
                    return Err(err("mTLS needs both cert-data and key-data (PEM)".into()));
                }
                cfg = cfg.identity(Identity::from_pem(
                    c.cert_data.expose(),
                    c.key_data.expose(),
                ));
            }
            endpoint = endpoint
                .tls_config(cfg)
                .map_err(|e| err(format!("TLS setup: {}", crate::error_chain(&e))))?;
        }
        Ok(Temporal {
            name: c.metric_name.clone(),
            namespace: c.namespace.clone(),
            query: c.query.clone(),
            api_key: c.api_key.clone(),
            // Connects on first use, so an unreachable server fails a round, not start-up.
            channel: endpoint.connect_lazy(),
        })
    }

    /// Upstream's query: running executions, ANDed with the user's filter.
    pub fn full_query(&self, app: &str) -> String {
        let mut q = String::from("ExecutionStatus=\"Running\"");
        if !self.query.is_empty() {
            q.push_str(&format!(" AND ({})", self.query));
        }
        expand_query(&q, app)
    }

    async fn count(&self, app: &str) -> Result<f64, CollectError> {
        let err = |msg: String| CollectError::new(&self.name, msg);
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|e| err(format!("cannot reach temporal: {e}")))?;
        let mut req = tonic::Request::new(CountWorkflowExecutionsRequest {
            namespace: self.namespace.clone(),
            query: self.full_query(app),
        });
        let md = req.metadata_mut();
        if let Ok(ns) = MetadataValue::try_from(self.namespace.as_str()) {
            md.insert("temporal-namespace", ns);
        }
        if !self.api_key.is_empty() {
            let mut v = MetadataValue::try_from(format!("Bearer {}", self.api_key.expose()))
                .map_err(|_| err("the API key has characters a header cannot carry".into()))?;
            v.set_sensitive(true);
            md.insert("authorization", v);
        }
        let codec = tonic_prost::ProstCodec::<
            CountWorkflowExecutionsRequest,
            CountWorkflowExecutionsResponse,
        >::default();
        let resp = grpc
            .unary(req, PathAndQuery::from_static(COUNT_PATH), codec)
            .await
            .map_err(|s| {
                let text = crate::chain_from(s.message().into(), std::error::Error::source(&s));
                err(format!("temporal answered {:?}: {text}", s.code()))
            })?;
        Ok(resp.into_inner().count as f64)
    }
}

impl Collector for Temporal {
    fn name(&self) -> &str {
        &self.name
    }
    fn collect<'a>(&'a self, app: &'a str) -> CollectFuture<'a> {
        Box::pin(self.count(app))
    }
}
