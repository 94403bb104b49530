//! The Prometheus collector: an instant query at `<address>/api/v1/query`, as
//! fly-autoscaler's (POST form, GET when the server answers 405/501; `Fly…` tokens
//! sent verbatim, others as Bearer). The first sample of a vector is the value; an
//! empty vector is an error unless `on-empty: zero`; scalars are accepted (upstream
//! rejects them); NaN/Inf pass through for the policy to judge. Prometheus's own
//! error text and warnings reach the log.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::{expand_query, CollectError, CollectFuture, Collector};
use crate::config::{CollectorConfig, Secret};

pub struct Prometheus {
    name: String,
    url: String,
    query: String,
    token: Secret,
    empty_is_zero: bool,
    http: reqwest::Client,
}

impl Prometheus {
    pub fn new(c: &CollectorConfig, timeout: Duration) -> Result<Prometheus, CollectError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("fas/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CollectError {
                collector: c.metric_name.clone(),
                msg: e.to_string(),
            })?;
        Ok(Prometheus {
            name: c.metric_name.clone(),
            url: format!("{}/api/v1/query", c.address.trim_end_matches('/')),
            query: c.query.clone(),
            token: c.token.clone(),
            empty_is_zero: c.on_empty == "zero",
            http,
        })
    }

    fn err(&self, msg: impl Into<String>) -> CollectError {
        CollectError {
            collector: self.name.clone(),
            msg: msg.into(),
        }
    }

    fn auth(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let t = self.token.expose();
        if t.is_empty() {
            return req;
        }
        let mut v = if t.starts_with("Fly") {
            t.to_string()
        } else {
            format!("Bearer {t}")
        }
        .parse::<reqwest::header::HeaderValue>()
        .unwrap_or(reqwest::header::HeaderValue::from_static(""));
        v.set_sensitive(true);
        req.header(reqwest::header::AUTHORIZATION, v)
    }

    async fn query(&self, app: &str) -> Result<f64, CollectError> {
        let query = expand_query(&self.query, app);
        let form = [("query", query.as_str())];
        let send = |req: reqwest::RequestBuilder| async move {
            let resp = req.send().await.map_err(|e| self.err(describe(&e)))?;
            let status = resp.status();
            let body = crate::body::read_capped(resp, crate::body::MAX_BODY)
                .await
                .map_err(|e| match e {
                    crate::body::BodyError::Read(e) => self.err(describe(&e)),
                    too_large => self.err(too_large.to_string()),
                })?;
            Ok::<_, CollectError>((status, body))
        };
        let (mut status, mut body) = send(self.auth(self.http.post(&self.url).form(&form))).await?;
        if status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_IMPLEMENTED {
            (status, body) = send(self.auth(self.http.get(&self.url).query(&form))).await?;
        }
        self.parse(app, status, &body)
    }

    fn parse(&self, app: &str, status: StatusCode, body: &str) -> Result<f64, CollectError> {
        let doc: Option<Value> = serde_json::from_str(body).ok();
        let field = |k: &str| {
            doc.as_ref()
                .and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
        };
        if !status.is_success() || field("status") == "error" {
            let detail = match (field("errorType"), field("error")) {
                ("", "") => body.trim().chars().take(200).collect::<String>(),
                (t, e) => format!("{t}: {e}"),
            };
            return Err(self.err(format!("prometheus answered {}: {detail}", status.as_u16())));
        }
        let doc = doc.ok_or_else(|| self.err("prometheus answered something that is not JSON"))?;
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
        let data = &doc["data"];
        let value = match data["resultType"].as_str() {
            Some("vector") => match data["result"].as_array().and_then(|r| r.first()) {
                Some(sample) => &sample["value"][1],
                None if self.empty_is_zero => return Ok(0.0),
                None => {
                    return Err(self.err("empty prometheus result: the query matched no series (set on-empty: zero to read that as 0)"))
                }
            },
            Some("scalar") => &data["result"][1],
            other => return Err(self.err(format!("prometheus result type {other:?} is not a vector or scalar"))),
        };
        let text = value
            .as_str()
            .ok_or_else(|| self.err("prometheus sample without a value"))?;
        text.parse::<f64>()
            .map_err(|_| self.err(format!("prometheus sample {text:?} is not a number")))
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
        Box::pin(self.query(app))
    }
}
