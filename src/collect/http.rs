//! The HTTP JSON collector: GET a URL (`$APP_NAME` expanded), find a number in the JSON
//! answer with an RFC 6901 JSON Pointer. It covers RabbitMQ's management API
//! (`/api/queues/%2F/jobs` → `/messages_ready`) and any app's own stats endpoint. The
//! token goes as a bearer header; extra headers (API keys) are secrets; the body is
//! capped like every answer fas reads and parsed without a tree (json_at.rs); one
//! client (one connection pool) per collector.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use super::json_at::{self, Found};
use super::{expand_query, CollectError, CollectFuture, Collector};
use crate::config::CollectorConfig;

pub struct Http {
    name: String,
    url: String,
    pointer: String,
    /// The pointer's tokens, split once.
    path: Vec<String>,
    empty_is_zero: bool,
    http: reqwest::Client,
}

impl Http {
    pub fn new(c: &CollectorConfig, timeout: Duration) -> Result<Http, CollectError> {
        let err = |msg: String| CollectError::new(&c.metric_name, msg);
        let mut headers = HeaderMap::new();
        for (name, value) in &c.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| err(format!("invalid header name {name:?}")))?;
            let mut value = HeaderValue::from_str(value.expose())
                .map_err(|_| err(format!("invalid value for header {name}")))?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let token = c.token.expose();
        if !token.is_empty() {
            let mut v = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| err("the token holds characters a header cannot".into()))?;
            v.set_sensitive(true);
            headers.insert(AUTHORIZATION, v);
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("fas/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .build()
            .map_err(|e| err(e.to_string()))?;
        Ok(Http {
            name: c.metric_name.clone(),
            url: c.url.clone(),
            pointer: c.json_pointer.clone(),
            path: json_at::tokens(&c.json_pointer),
            empty_is_zero: c.on_empty == "zero",
            http,
        })
    }

    fn err(&self, msg: impl Into<String>) -> CollectError {
        CollectError::new(&self.name, msg.into())
    }

    async fn fetch(&self, app: &str) -> Result<f64, CollectError> {
        let url = expand_query(&self.url, app);
        // Errors never carry the URL: it may hold credentials (user:password@).
        let resp = self.http.get(&url).send().await.map_err(|e| {
            if e.is_timeout() {
                self.err("the endpoint did not answer in time")
            } else {
                self.err(crate::error_chain(&e.without_url()))
            }
        })?;
        let status = resp.status();
        let body = crate::body::read_capped(resp, crate::body::MAX_BODY)
            .await
            .map_err(|e| match e {
                crate::body::BodyError::Read(e) => self.err(crate::error_chain(&e.without_url())),
                too_large => self.err(too_large.to_string()),
            })?;
        if !status.is_success() {
            let text = body.trim();
            return Err(self.err(format!("the endpoint answered {}: {text}", status.as_u16())));
        }
        let found = json_at::find(&body, &self.path)
            .map_err(|e| self.err(format!("the answer is not JSON: {e}")))?;
        self.number(found)
    }

    /// The number at the pointer; a number in a string counts (some APIs quote them).
    fn number(&self, found: Found) -> Result<f64, CollectError> {
        match found {
            Found::Number(n) => Ok(n),
            Found::Text(s) => s.trim().parse::<f64>().map_err(|_| {
                self.err(format!(
                    "json-pointer {:?} holds a string that is not a number",
                    self.pointer
                ))
            }),
            Found::Missing | Found::Null if self.empty_is_zero => Ok(0.0),
            Found::Missing | Found::Null => Err(self.err(format!(
                "nothing at json-pointer {:?} in the answer (set on-empty: zero to read that as 0)",
                self.pointer
            ))),
            other => Err(self.err(format!(
                "json-pointer {:?} holds {}, not a number",
                self.pointer,
                match other {
                    Found::Bool => "a boolean",
                    Found::Array => "an array",
                    _ => "an object",
                }
            ))),
        }
    }
}

impl Collector for Http {
    fn name(&self) -> &str {
        &self.name
    }
    fn collect<'a>(&'a self, app: &'a str) -> CollectFuture<'a> {
        Box::pin(self.fetch(app))
    }
}
