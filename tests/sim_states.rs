//! The simulator's state machine against the reference (§2.4-2.9, §3.4, §5), over
//! plain HTTP: transient states that list and get show, skip_launch Machines that
//! stay `created`, suspend and resume, leases and their 409s, list lag, and calls
//! that take effect yet answer 5xx.

mod support;

use std::time::Duration;

use fas::sim::{FaultRule, Latencies};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::simapi::Api;

fn exact(create_ms: u64, others_ms: u64) -> Latencies {
    Latencies {
        create_ms,
        ..Latencies::instant(others_ms)
    }
}

async fn sleep(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// A simulator with app `web` and one Machine, `settle_ms` after its create.
async fn booted(latencies: Latencies, settle_ms: u64) -> (Api, String) {
    let api = Api::with(false, latencies).await;
    let id = api.app_with_machine("web").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    sleep(settle_ms).await;
    (api, id)
}

async fn state(api: &Api, id: &str) -> String {
    let m = api
        .ok(Method::GET, &format!("/v1/apps/web/machines/{id}"), None)
        .await;
    m["state"].as_str().unwrap().to_string()
}

async fn listed(api: &Api) -> Vec<(String, String)> {
    let list = api.ok(Method::GET, "/v1/apps/web/machines", None).await;
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn post(api: &Api, id: &str, verb: &str, nonce: Option<&str>) -> (StatusCode, Value) {
    let mut req = api
        .http
        .post(format!(
            "{}/v1/apps/web/machines/{id}/{verb}",
            api.server.url()
        ))
        .header("Authorization", "Bearer FlyV1 fm2_x");
    if let Some(n) = nonce {
        req = req.header("fly-machine-lease-nonce", n);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_create_boots_through_starting_and_cannot_be_started_while_prepared() {
    let api = Api::with(false, exact(600, 50)).await;
    let m = api.app_with_machine("web").await;
    let id = m["id"].as_str().unwrap();
    assert_eq!(m["state"], "created");
    let (s, v) = post(&api, id, "start", None).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{v}");
    sleep(350).await;
    assert_eq!(listed(&api).await, [(id.to_string(), "starting".into())]);
    sleep(350).await;
    assert_eq!(state(&api, id).await, "started");
}

#[tokio::test]
async fn suspend_resume_and_the_stop_of_a_suspended_machine() {
    let (api, id) = booted(exact(20, 150), 100).await;
    let (s, _) = post(&api, &id, "suspend", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(state(&api, &id).await, "suspending");
    sleep(200).await;
    assert_eq!(state(&api, &id).await, "suspended");
    let (s, v) = post(&api, &id, "start", None).await;
    assert_eq!(
        (s, v["previous_state"].clone()),
        (StatusCode::OK, json!("suspended"))
    );
    assert_eq!(state(&api, &id).await, "starting");
    sleep(200).await;
    assert_eq!(state(&api, &id).await, "started");
    post(&api, &id, "suspend", None).await;
    sleep(200).await;
    post(&api, &id, "stop", None).await;
    assert_eq!(
        state(&api, &id).await,
        "stopped",
        "the snapshot is discarded"
    );
    let (s, v) = post(&api, &id, "suspend", None).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{v}");
}

#[tokio::test]
async fn a_lease_held_by_someone_else_answers_409_until_released() {
    let (api, id) = booted(exact(20, 20), 60).await;
    let lease_path = format!("/v1/apps/web/machines/{id}/lease");
    let (s, _, v) = api
        .call(
            Method::POST,
            &format!("{lease_path}?ttl=30"),
            Some(json!({"ttl": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["status"], "success");
    let nonce = v["data"]["nonce"].as_str().unwrap().to_string();
    for key in ["expires_at", "owner", "version"] {
        assert!(!v["data"][key].is_null(), "lease answer lacks {key}");
    }
    let (s, _, v) = api.call(Method::POST, &lease_path, None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("lease currently held"),
        "{v}"
    );
    // Mutating calls need the nonce; reads do not.
    for verb in ["stop", "suspend", "start"] {
        let (s, _) = post(&api, &id, verb, None).await;
        assert_eq!(s, StatusCode::CONFLICT, "{verb} without the nonce");
    }
    let (s, _, _) = api
        .call(
            Method::DELETE,
            &format!("/v1/apps/web/machines/{id}?kill=true"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "destroy without the nonce");
    assert_eq!(
        api.call(Method::GET, &lease_path, None).await.0,
        StatusCode::OK
    );
    let (s, _) = post(&api, &id, "stop", Some(&nonce)).await;
    assert_eq!(s, StatusCode::OK, "the holder may act");
    let (s, _, _) = api.call(Method::DELETE, &lease_path, None).await;
    assert_eq!(s, StatusCode::CONFLICT, "only the holder releases");
    let released = api
        .http
        .delete(format!("{}{lease_path}", api.server.url()))
        .header("Authorization", "Bearer x")
        .header("fly-machine-lease-nonce", &nonce)
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), StatusCode::OK);
    sleep(60).await;
    let (s, _) = post(&api, &id, "start", None).await;
    assert_eq!(s, StatusCode::OK, "free again");

    // A deploy holding the lease, as tests set it up.
    let deploy = api
        .server
        .sim
        .hold_lease("web", &id, "deploy@acme.test", Duration::from_secs(5));
    assert!(deploy.is_some());
    let (s, _, v) = api.call(Method::POST, &lease_path, None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(v["message"].as_str().unwrap().contains("deploy@acme.test"));
}

#[tokio::test]
async fn list_lag_hides_fresh_creates_and_keeps_fresh_destroys() {
    let lagging = Latencies {
        list_lag_ms: 400,
        ..exact(20, 20)
    };
    let api = Api::with(false, lagging).await;
    let m = api.app_with_machine("web").await;
    let id = m["id"].as_str().unwrap().to_string();
    assert_eq!(listed(&api).await, [], "not listed yet");
    assert_eq!(state(&api, &id).await, "created", "get is never stale");
    sleep(450).await;
    assert_eq!(listed(&api).await, [(id.clone(), "started".into())]);
    let (s, _, _) = api
        .call(
            Method::DELETE,
            &format!("/v1/apps/web/machines/{id}?force=true"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    sleep(100).await;
    assert_eq!(
        listed(&api).await,
        [(id.clone(), "started".into())],
        "still listed as it was"
    );
    sleep(400).await;
    assert_eq!(listed(&api).await, []);
}

#[tokio::test]
async fn applied_but_5xx_takes_effect_and_answers_an_error() {
    let (api, id) = booted(exact(20, 300), 60).await;
    for (verb, then) in [("stop", "stopping"), ("start", "starting")] {
        sleep(350).await;
        api.server.sim.faults.lock().unwrap().rules = vec![FaultRule {
            action: verb.into(),
            status: Some(502),
            apply_first: true,
            count: Some(1),
            ..FaultRule::default()
        }];
        let (s, _) = post(&api, &id, verb, None).await;
        assert_eq!(s, StatusCode::BAD_GATEWAY);
        assert_eq!(state(&api, &id).await, then, "{verb} took effect");
    }
}

#[tokio::test]
async fn every_documented_state_is_shown_and_transient_ones_end() {
    let (api, id) = booted(exact(20, 20), 60).await;
    let admin = format!("{}/__sim/apps/web/machines/{id}", api.server.url());
    for s in [
        "created",
        "started",
        "stopped",
        "suspended",
        "failed",
        "starting",
        "stopping",
        "suspending",
        "restarting",
        "destroying",
        "replacing",
        "updating",
    ] {
        api.http
            .post(&admin)
            .json(&json!({"state": s}))
            .send()
            .await
            .unwrap();
        assert_eq!(state(&api, &id).await, s);
    }
    api.http
        .post(&admin)
        .json(&json!({"state": "replacing", "then": "started", "after_ms": 150}))
        .send()
        .await
        .unwrap();
    let (s, v) = post(&api, &id, "start", None).await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    assert!(v["error"].as_str().unwrap().contains("replaced"), "{v}");
    sleep(200).await;
    assert_eq!(state(&api, &id).await, "started");
    api.http
        .post(&admin)
        .json(&json!({"state": "failed"}))
        .send()
        .await
        .unwrap();
    let (s, _, _) = api
        .call(Method::DELETE, &format!("/v1/apps/web/machines/{id}"), None)
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "failed Machines are destroyed without force"
    );
}

#[test]
fn default_latencies_sit_in_the_reference_ranges() {
    let l = Latencies::default();
    assert!((2_000..=20_000).contains(&l.create_ms));
    assert!(l.resume_ms < 1_000 && l.resume_ms < l.start_ms);
    assert!((1_000..=3_000).contains(&l.destroy_ms));
    assert!(l.stop_ms <= 5_000 && l.jitter > 0.0);
}
