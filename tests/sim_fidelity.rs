//! Pins the simulator to the facts of ../shared/reference/fly-machines-api.md (paths,
//! JSON fields, status codes, error texts, transitions, GraphQL shapes), with plain
//! HTTP, so a later change cannot drift from the real API silently.

use std::net::SocketAddr;
use std::time::Duration;

mod support;

use fas::sim::{self, SimOptions};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::simapi::Api;

fn settle() -> tokio::time::Sleep {
    tokio::time::sleep(Duration::from_millis(150))
}

#[tokio::test]
async fn create_answers_200_with_a_created_machine() {
    let api = Api::new(false).await;
    let m = api.app_with_machine("web").await;
    assert_eq!(m["state"], "created");
    let id = m["id"].as_str().unwrap();
    assert!(
        id.len() == 14
            && id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{id}"
    );
    assert_eq!(m["instance_id"].as_str().unwrap().len(), 26);
    let name = m["name"].as_str().unwrap();
    assert_eq!(name.split('-').count(), 3, "adjective-noun-NNNN: {name}");
    for key in [
        "region",
        "private_ip",
        "created_at",
        "updated_at",
        "image_ref",
        "events",
        "host_status",
        "config",
    ] {
        assert!(!m[key].is_null(), "missing {key}");
    }
    assert_eq!(m["config"]["custom"], json!([1, 2]), "config kept as sent");
    assert_eq!(m["image_ref"]["repository"], "web");
    assert_eq!(m["image_ref"]["tag"], "deployment-1");
    assert!(m["image_ref"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(m["events"][0]["type"], "launch");
    assert_eq!(m["host_status"], "ok");
    settle().await;
    let got = api
        .ok(Method::GET, &format!("/v1/apps/web/machines/{id}"), None)
        .await;
    assert_eq!(
        got["state"], "started",
        "created -> started after the create latency"
    );
}

#[tokio::test]
async fn skip_launch_stays_created_and_start_stop_destroy_follow_the_reference() {
    let api = Api::new(false).await;
    let src = api.app_with_machine("web").await;
    let body = json!({"config": src["config"], "skip_launch": true});
    let m = api
        .ok(Method::POST, "/v1/apps/web/machines", Some(body))
        .await;
    let id = m["id"].as_str().unwrap().to_string();
    let (s, _, v) = api
        .call(
            Method::POST,
            &format!("/v1/apps/web/machines/{id}/start"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    assert!(v["error"]
        .as_str()
        .unwrap()
        .starts_with("failed_precondition: unable to start machine from current state: 'created'"));
    settle().await;
    let got = api
        .ok(Method::GET, &format!("/v1/apps/web/machines/{id}"), None)
        .await;
    assert_eq!(got["state"], "created", "skip_launch stays created");
    let instance = got["instance_id"].as_str().unwrap().to_string();

    let started = api
        .ok(
            Method::POST,
            &format!("/v1/apps/web/machines/{id}/start"),
            None,
        )
        .await;
    assert_eq!(started["previous_state"], "created");
    let (s, _, v) = api
        .call(
            Method::POST,
            &format!("/v1/apps/web/machines/{id}/start"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{v}");
    settle().await;
    let (s, _, v) = api
        .call(Method::DELETE, &format!("/v1/apps/web/machines/{id}"), None)
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("not currently stopped"));
    let stopped = api
        .ok(
            Method::POST,
            &format!("/v1/apps/web/machines/{id}/stop"),
            Some(json!({"id": id, "timeout": "0s"})),
        )
        .await;
    assert_eq!(stopped, json!({"ok": true}));
    let now = api
        .ok(Method::GET, &format!("/v1/apps/web/machines/{id}"), None)
        .await;
    assert_eq!(now["state"], "stopping");
    let (s, _, _) = api
        .call(
            Method::GET,
            &format!("/v1/apps/web/machines/{id}/wait?state=stopped&timeout=5"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "stopped needs instance_id");
    let waited = api
        .ok(
            Method::GET,
            &format!(
                "/v1/apps/web/machines/{id}/wait?state=stopped&timeout=5&instance_id={instance}"
            ),
            None,
        )
        .await;
    assert_eq!(waited["ok"], true);

    let sid = src["id"].as_str().unwrap();
    let killed = api
        .ok(
            Method::DELETE,
            &format!("/v1/apps/web/machines/{sid}?kill=true"),
            None,
        )
        .await;
    assert_eq!(killed, json!({"ok": true}));
    api.ok(
        Method::DELETE,
        &format!("/v1/apps/web/machines/{id}?force=false"),
        None,
    )
    .await;
    settle().await;
    let list = api.ok(Method::GET, "/v1/apps/web/machines", None).await;
    assert_eq!(list, json!([]), "destroyed Machines leave the default list");
    let all = api
        .ok(
            Method::GET,
            "/v1/apps/web/machines?include_deleted=true",
            None,
        )
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (s, _, v) = api
        .call(Method::GET, &format!("/v1/apps/web/machines/{id}"), None)
        .await;
    assert_eq!(
        (s, v),
        (StatusCode::NOT_FOUND, json!({"error": "machine not found"}))
    );
}

#[tokio::test]
async fn list_filters_wait_timeouts_and_unreachable_hosts() {
    let api = Api::new(false).await;
    let m = api.app_with_machine("web").await;
    let id = m["id"].as_str().unwrap();
    let by_meta = api
        .ok(
            Method::GET,
            "/v1/apps/web/machines?metadata.fly_process_group=worker",
            None,
        )
        .await;
    assert_eq!(by_meta, json!([]));
    let by_region = api
        .ok(Method::GET, "/v1/apps/web/machines?region=ams", None)
        .await;
    assert_eq!(by_region.as_array().unwrap().len(), 1);
    let (s, _, _) = api
        .call(
            Method::GET,
            &format!("/v1/apps/web/machines/{id}/wait?state=stopped&timeout=1&instance_id=x"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::REQUEST_TIMEOUT);

    let url = format!("{}/__sim/apps/web/machines/{id}", api.server.url());
    api.http
        .post(url)
        .json(&json!({"host_status": "unreachable"}))
        .send()
        .await
        .unwrap();
    let got = api
        .ok(Method::GET, &format!("/v1/apps/web/machines/{id}"), None)
        .await;
    assert_eq!(got["host_status"], "unreachable");
    assert!(got["config"].is_null() && !got["incomplete_config"].is_null());
}

#[tokio::test]
async fn apps_endpoints_and_errors() {
    let api = Api::new(false).await;
    api.app_with_machine("web").await;
    let (s, _, v) = api
        .call(
            Method::POST,
            "/v1/apps",
            Some(json!({"app_name": "web", "org_slug": "acme"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let list = api.ok(Method::GET, "/v1/apps?org_slug=acme", None).await;
    assert_eq!(list["total_apps"], 1);
    assert_eq!(list["apps"][0]["name"], "web");
    assert_eq!(list["apps"][0]["machine_count"], 1);
    let (s, _, _) = api.call(Method::GET, "/v1/apps/nope", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = api.call(Method::DELETE, "/v1/apps/web", None).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _, _) = api.call(Method::GET, "/v1/apps/web/machines", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_answer_has_a_request_id_and_auth_is_required() {
    let api = Api::new(false).await;
    let (_, headers, _) = api.call(Method::GET, "/v1/apps/none/machines", None).await;
    assert!(headers.contains_key("fly-request-id"));
    let resp = api
        .http
        .get(format!("{}/v1/apps?org_slug=acme", api.server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn documented_rate_limits_answer_429_with_retry_after() {
    let api = Api::new(true).await;
    api.app_with_machine("web").await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        let (s, h, _) = api.call(Method::GET, "/v1/apps/web/machines", None).await;
        codes.push((s, h.get("retry-after").is_some()));
    }
    assert_eq!(codes[..3], [(StatusCode::OK, false); 3], "burst of 3");
    assert_eq!(codes[3], (StatusCode::TOO_MANY_REQUESTS, true));
}

#[tokio::test]
async fn graphql_subset() {
    let api = Api::new(false).await;
    for app in ["a1", "a2", "a3"] {
        api.app_with_machine(app).await;
    }
    let gql = |query: &str, vars: Value| json!({"query": query, "variables": vars});
    let org = api
        .ok(
            Method::POST,
            "/graphql",
            Some(gql(
                "query($slug: String!) { organization(slug: $slug) { id } }",
                json!({"slug": "acme"}),
            )),
        )
        .await;
    let org_id = org["data"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(org["data"]["organization"]["internalNumericId"].is_string());
    let q = "query($org: ID, $after: String) { apps(type: \"container\", first: 2, after: $after, organizationId: $org) { pageInfo { hasNextPage endCursor } nodes { name } } }";
    let p1 = api
        .ok(
            Method::POST,
            "/graphql",
            Some(gql(q, json!({"org": org_id, "after": "", "first": 2}))),
        )
        .await;
    assert_eq!(p1["data"]["apps"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(p1["data"]["apps"]["pageInfo"]["hasNextPage"], true);
    let cursor = p1["data"]["apps"]["pageInfo"]["endCursor"].clone();
    let p2 = api
        .ok(
            Method::POST,
            "/graphql",
            Some(gql(q, json!({"org": org_id, "after": cursor, "first": 2}))),
        )
        .await;
    assert_eq!(p2["data"]["apps"]["nodes"][0]["name"], "a3");
    assert_eq!(p2["data"]["apps"]["pageInfo"]["hasNextPage"], false);

    let rq = "query($appName: String!) { app(name: $appName) { currentRelease: currentReleaseUnprocessed { status } } }";
    let r = api
        .ok(
            Method::POST,
            "/graphql",
            Some(gql(rq, json!({"appName": "a1"}))),
        )
        .await;
    assert_eq!(r["data"]["app"]["currentRelease"], Value::Null);
    api.http
        .post(format!("{}/__sim/apps/a1/release", api.server.url()))
        .json(&json!({"status": "running"}))
        .send()
        .await
        .unwrap();
    let r = api
        .ok(
            Method::POST,
            "/graphql",
            Some(gql(rq, json!({"appName": "a1"}))),
        )
        .await;
    assert_eq!(r["data"]["app"]["currentRelease"]["status"], "running");
    let missing = api
        .ok(
            Method::POST,
            "/graphql",
            Some(gql(rq, json!({"appName": "zz"}))),
        )
        .await;
    assert_eq!(missing["errors"][0]["message"], "Could not find App \"zz\"");
    assert_eq!(missing["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn stats_count_requests_and_machines() {
    let api = Api::new(false).await;
    api.app_with_machine("web").await;
    api.ok(Method::GET, "/v1/apps/web/machines", None).await;
    let stats: Value = api
        .http
        .get(format!("{}/__sim/stats", api.server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"]["list 200"], 1);
    assert_eq!(stats["requests"]["create 200"], 1);
    assert_eq!(stats["machines"]["web"]["created"], 1);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_fleet() {
    let ids = |seed: u64| async move {
        let opts = SimOptions {
            seed,
            rate_limits: false,
            ..SimOptions::default()
        };
        let server = sim::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), opts)
            .await
            .unwrap();
        server
            .sim
            .seed(&fas::sim::Seed::parse_spec("acme/web-*=2*3").unwrap())
            .unwrap();
        let ids = |a: &fas::sim::world::SimApp| {
            let ids: Vec<_> = a
                .machines
                .iter()
                .map(|m| (m.id.clone(), m.name.clone()))
                .collect();
            Some(ids)
        };
        let now = tokio::time::Instant::now();
        server
            .sim
            .world
            .select(now, ids)
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
    };
    let (a, b, c) = (ids(7).await, ids(7).await, ids(8).await);
    assert_eq!(a.len(), 6);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[tokio::test]
async fn stuck_machines_stay_in_their_state() {
    let api = Api::new(false).await;
    let m = api.app_with_machine("web").await;
    let id = m["id"].as_str().unwrap();
    settle().await;
    api.ok(
        Method::POST,
        &format!("/v1/apps/web/machines/{id}/stop"),
        None,
    )
    .await;
    api.http
        .post(format!("{}/__sim/apps/web/machines/{id}", api.server.url()))
        .json(&json!({"stuck": true}))
        .send()
        .await
        .unwrap();
    settle().await;
    let got = api
        .ok(Method::GET, &format!("/v1/apps/web/machines/{id}"), None)
        .await;
    assert_eq!(got["state"], "stopping");
}

#[test]
fn fas_sim_serves_a_seeded_fleet() {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fas"))
        .args([
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--apps",
            "acme/web=3",
            "--no-rate-limits",
            "--latencies",
            r#"{"create_ms": 4000, "list_lag_ms": 10}"#,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("fas sim listening on ")
        .expect("a listening line")
        .to_string();
    let list: Value = reqwest::blocking_get(&format!("{url}/v1/apps/web/machines"));
    let _ = child.kill();
    let _ = child.wait();
    drop(out);
    assert_eq!(list.as_array().map(Vec::len), Some(3), "{list}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_fas"))
        .args(["sim", "--latencies", r#"{"create":1}"#])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("list_lag_ms"),
        "{err}"
    );
}

mod reqwest {
    pub use ::reqwest::*;
    /// A GET with a token, from a plain (non-async) test.
    pub fn blocking_get(url: &str) -> serde_json::Value {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            Client::new()
                .get(url)
                .header("Authorization", "Bearer t")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    }
}

/// The request log tells clients apart by a fingerprint of their token (several fas
/// instances against one simulator), and never holds the token.
#[tokio::test]
async fn the_request_log_names_each_caller_by_a_fingerprint() {
    let server = sim::start(
        "127.0.0.1:0".parse::<SocketAddr>().unwrap(),
        SimOptions::default(),
    )
    .await
    .unwrap();
    server
        .sim
        .seed(&fas::sim::Seed::parse_spec("acme/web=1").unwrap())
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/apps/web/machines", server.url());
    for token in [
        "FlyV1 fm2_instance-one",
        "Bearer instance-two",
        "FlyV1 fm2_instance-one",
    ] {
        let r = http
            .get(&url)
            .header("authorization", token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let log: Value = http
        .get(format!("{}/__sim/log", server.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let callers: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "list")
        .map(|e| e["caller"].as_str().unwrap())
        .collect();
    assert_eq!(callers.len(), 3, "{log}");
    assert_eq!(callers[0], callers[2], "the same token, the same caller");
    assert_ne!(callers[0], callers[1]);
    assert!(callers
        .iter()
        .all(|c| c.len() == 8 && c.chars().all(|c| c.is_ascii_hexdigit())));
    assert!(
        !log.to_string().contains("instance-"),
        "a token in the log: {log}"
    );
}
