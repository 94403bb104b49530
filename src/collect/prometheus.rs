//! The Prometheus collector: an instant query at `<address>/api/v1/query` through the
//! prometheus-http-query crate, as fly-autoscaler's (POST form, GET when the server
//! answers 405/501; `Fly…` tokens sent verbatim, others as Bearer). The first sample of a vector is the value
//! (with `machine-label`, every sample is one Machine's value, the label holding its ID,
//! and the app's value is their `aggregate`: sum, max or avg); an
//! empty vector is an error unless `on-empty: zero`; scalars are accepted (upstream
//! rejects them); NaN/Inf pass through for the policy to judge. Prometheus's own
//! error text and warnings reach the log.

use std::time::Duration;

use prometheus_http_query::response::{Data, PromqlResult};
use reqwest::StatusCode;
use serde_json::Value;

use super::{expand_query, CollectError, CollectFuture, Collector, Reading, ReadingFuture};
use crate::config::{CollectorConfig, Secret};

pub struct Prometheus {
    name: String,
    client: prometheus_http_query::Client,
    query: String,
    token: Secret,
    empty_is_zero: bool,
    /// The label holding the Machine ID (`instance` on Fly): one value per Machine.
    machine_label: String,
    /// How per-Machine values make the app's: `sum` (default), `max` or `avg`.
    aggregate: String,
}

impl Prometheus {
    pub fn new(c: &CollectorConfig, timeout: Duration) -> Result<Prometheus, CollectError> {
        let err = |msg: String| CollectError::new(&c.metric_name, msg);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("fas/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| err(e.to_string()))?;
        // The crate joins `api/v1/query` after the address's path: no trailing slash.
        let client = prometheus_http_query::Client::from(http, c.address.trim_end_matches('/'))
            .map_err(|e| err(format!("prometheus address {:?}: {e}", c.address)))?;
        Ok(Prometheus {
            name: c.metric_name.clone(),
            client,
            query: c.query.clone(),
            token: c.token.clone(),
            empty_is_zero: c.on_empty == "zero",
            machine_label: c.machine_label.clone(),
            aggregate: c.aggregate.clone(),
        })
    }

    fn err(&self, msg: impl Into<String>) -> CollectError {
        CollectError::new(&self.name, msg.into())
    }

    /// The instant query for `app`, with the token as upstream sends it.
    fn request(&self, app: &str) -> prometheus_http_query::InstantQueryBuilder {
        let q = self.client.query(expand_query(&self.query, app));
        let t = self.token.expose();
        if t.is_empty() {
            return q;
        }
        let text = if t.starts_with("Fly") {
            t.to_string()
        } else {
            format!("Bearer {t}")
        };
        match reqwest::header::HeaderValue::from_str(&text) {
            Ok(mut v) => {
                v.set_sensitive(true);
                q.header(reqwest::header::AUTHORIZATION, v)
            }
            Err(_) => q,
        }
    }

    /// The request goes through prometheus-http-query (POST form, GET when the server
    /// answers 405/501). Its own `post()`/`get()` read the whole body with no bound, so
    /// the body is read here, capped, and parsed into the crate's result types.
    async fn query(&self, app: &str) -> Result<Reading, CollectError> {
        let read = |resp: reqwest::Response| async move {
            let status = resp.status();
            let body = crate::body::read_capped(resp, crate::body::MAX_BODY)
                .await
                .map_err(|e| match e {
                    crate::body::BodyError::Read(e) => self.err(describe(&e)),
                    too_large => self.err(too_large.to_string()),
                })?;
            Ok::<_, CollectError>((status, body))
        };
        let resp = self
            .request(app)
            .post_raw()
            .await
            .map_err(|e| self.client_err(e))?;
        let (mut status, mut body) = read(resp).await?;
        if status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_IMPLEMENTED {
            let resp = self
                .request(app)
                .get_raw()
                .await
                .map_err(|e| self.client_err(e))?;
            (status, body) = read(resp).await?;
        }
        self.parse(app, status, &body)
    }

    fn client_err(&self, e: prometheus_http_query::Error) -> CollectError {
        use std::error::Error as _;
        match e.source().and_then(|s| s.downcast_ref::<reqwest::Error>()) {
            Some(re) => self.err(describe(re)),
            None => self.err(crate::error_chain(&e)),
        }
    }

    fn parse(&self, app: &str, status: StatusCode, body: &str) -> Result<Reading, CollectError> {
        let doc: Option<Value> = serde_json::from_str(body).ok();
        let field = |k: &str| {
            doc.as_ref()
                .and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        if !status.is_success() || field("status") == "error" {
            let detail = match (field("errorType"), field("error")) {
                ("", "") => body.trim().to_string(),
                (t, e) => format!("{t}: {e}"),
            };
            return Err(self.err(format!("prometheus answered {}: {detail}", status.as_u16())));
        }
        let mut doc =
            doc.ok_or_else(|| self.err("prometheus answered something that is not JSON"))?;
        if let Some(w) = doc
            .get("warnings")
            .and_then(Value::as_array)
            .filter(|w| !w.is_empty())
        {
            let text: Vec<String> = w
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .collect();
            tracing::warn!(app, collector = %self.name, warnings = %text.join("; "), "prometheus warnings");
        }
        let kind = doc["data"]["resultType"].as_str().map(str::to_string);
        if !matches!(kind.as_deref(), Some("vector" | "scalar")) {
            // The crate knows no `string` results; say what came instead.
            return Err(self.err(format!(
                "prometheus result type {kind:?} is not a vector or scalar"
            )));
        }
        let result: PromqlResult = serde_json::from_value(doc["data"].take())
            .map_err(|e| self.err(format!("prometheus answered an unexpected result: {e}")))?;
        let value = |value| Reading {
            value,
            machines: Vec::new(),
        };
        match result.data() {
            Data::Vector(v) if !self.machine_label.is_empty() && !v.is_empty() => {
                let machines: Vec<(String, f64)> = v
                    .iter()
                    .filter_map(|s| {
                        let id = s.metric().get(&self.machine_label)?;
                        Some((id.clone(), s.sample().value()))
                    })
                    .collect();
                let all = v.iter().map(|s| s.sample().value());
                let n = v.len() as f64;
                let total = match self.aggregate.as_str() {
                    "max" => all.fold(f64::NEG_INFINITY, f64::max),
                    "avg" => all.sum::<f64>() / n,
                    _ => all.sum(),
                };
                Ok(Reading {
                    value: total,
                    machines,
                })
            }
            Data::Vector(v) => match v.first() {
                Some(series) => Ok(value(series.sample().value())),
                None if self.empty_is_zero => Ok(value(0.0)),
                None => Err(self.err("empty prometheus result: the query matched no series (set on-empty: zero to read that as 0)")),
            },
            Data::Scalar(sample) => Ok(value(sample.value())),
            Data::Matrix(_) => Err(self.err("prometheus result type \"matrix\" is not a vector or scalar")),
        }
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "prometheus did not answer in time".into();
    }
    crate::error_chain(e)
}

impl Collector for Prometheus {
    fn name(&self) -> &str {
        &self.name
    }
    fn collect<'a>(&'a self, app: &'a str) -> CollectFuture<'a> {
        Box::pin(async move { Ok(self.query(app).await?.value) })
    }
    fn read<'a>(&'a self, app: &'a str) -> ReadingFuture<'a> {
        Box::pin(self.query(app))
    }
}
