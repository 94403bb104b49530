//! The Prometheus collector: an instant query at `<address>/api/v1/query` through the
//! prometheus-http-query crate, as fly-autoscaler's (POST form, GET when the server
//! answers 405/501; `Fly…` tokens sent verbatim, others as Bearer). The first sample of a vector is the value
//! (with `machine-label`, every sample is one Machine's value, the label holding its ID,
//! and the app's value is their `aggregate`: sum, max or avg); an
//! empty vector is an error unless `on-empty: zero`; scalars are accepted (upstream
//! rejects them); NaN/Inf pass through for the policy to judge. Prometheus's own
//! error text and warnings reach the log. The answer is read as it is parsed
//! (prom_answer.rs), never as a tree.

use std::time::Duration;

use reqwest::StatusCode;

use super::{
    expand_query, prom_answer, CollectError, CollectFuture, Collector, Reading, ReadingFuture,
};
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
        let parsed = prom_answer::parse(body, &self.machine_label);
        let field = |f: fn(&prom_answer::Answer) -> &str| parsed.as_ref().map_or("", f);
        if !status.is_success() || field(|a| &a.status) == "error" {
            let detail = match (field(|a| &a.error_type), field(|a| &a.error)) {
                ("", "") => body.trim().to_string(),
                (t, e) => format!("{t}: {e}"),
            };
            return Err(self.err(format!("prometheus answered {}: {detail}", status.as_u16())));
        }
        let a = parsed.map_err(|e| match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                self.err("prometheus answered something that is not JSON")
            }
            _ => self.err(format!("prometheus answered an unexpected result: {e}")),
        })?;
        if !a.warnings.is_empty() {
            let text = crate::redact::quote(&a.warnings.join("; "));
            tracing::warn!(app, collector = %self.name, warnings = %text, "prometheus warnings");
        }
        if !matches!(a.result_type.as_str(), "vector" | "scalar") {
            return Err(self.err(format!(
                "prometheus result type {:?} is not a vector or scalar",
                a.result_type
            )));
        }
        let value = |value| Reading {
            value,
            machines: Vec::new(),
        };
        if a.result_type == "scalar" {
            return a
                .first
                .map(value)
                .ok_or_else(|| self.err("prometheus answered a scalar without a value"));
        }
        if a.too_many_machines {
            return Err(self.err(format!(
                "more than {} series carry machine-label {:?}: the query must select one app's Machines",
                prom_answer::MAX_MACHINES,
                self.machine_label
            )));
        }
        match a.first {
            Some(_) if !self.machine_label.is_empty() => Ok(Reading {
                value: match self.aggregate.as_str() {
                    "max" => a.max,
                    "avg" => a.sum / a.series as f64,
                    _ => a.sum,
                },
                machines: a.machines,
            }),
            Some(first) => Ok(value(first)),
            None if self.empty_is_zero => Ok(value(0.0)),
            None => Err(self.err("empty prometheus result: the query matched no series (set on-empty: zero to read that as 0)")),
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
