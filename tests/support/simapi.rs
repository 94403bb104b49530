//! Plain HTTP against a simulator: the tests that pin its wire behaviour to the
//! reference speak to it as any client would.

use std::net::SocketAddr;

use fas::sim::{self, Latencies, SimOptions, SimServer};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

/// Fast, exact transitions for tests of the API's shape.
pub fn fast() -> Latencies {
    Latencies {
        create_ms: 80,
        ..Latencies::instant(40)
    }
}

pub struct Api {
    pub server: SimServer,
    pub http: Client,
}

impl Api {
    pub async fn new(rate_limits: bool) -> Api {
        Api::with(rate_limits, fast()).await
    }

    pub async fn with(rate_limits: bool, latencies: Latencies) -> Api {
        let opts = SimOptions {
            latencies,
            rate_limits,
            ..SimOptions::default()
        };
        let server = sim::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), opts)
            .await
            .unwrap();
        Api {
            server,
            http: Client::new(),
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.server.url()))
            .header("Authorization", "Bearer FlyV1 fm2_x");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        let text = resp.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    pub async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (s, _, v) = self.call(method, path, body).await;
        assert!(s.is_success(), "{path}: {s} {v}");
        v
    }

    pub async fn app_with_machine(&self, app: &str) -> Value {
        let (s, _, _) = self
            .call(
                Method::POST,
                "/v1/apps",
                Some(json!({"app_name": app, "org_slug": "acme"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let config = json!({"image": format!("registry.fly.io/{app}:deployment-1"), "metadata": {"fly_process_group": "app"}, "custom": [1, 2]});
        self.ok(
            Method::POST,
            &format!("/v1/apps/{app}/machines"),
            Some(json!({"config": config, "region": "ams"})),
        )
        .await
    }
}
