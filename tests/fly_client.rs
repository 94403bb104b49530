//! The Fly client against the simulator over real HTTP: every call, every error
//! class, the retry and no-retry rules, Retry-After, rate limiting, token redaction.

use std::net::SocketAddr;
use std::time::Duration;

use fas::config::Secret;
use fas::fly::{ClientOptions, CreateMachine, FlyClient, FlyError};
use fas::sim::{self, FaultRule, Latencies, Seed, SimOptions, SimServer};
use serde_json::{json, Value};

const TOKEN: &str = "FlyV1 fm2_clienttoken";

async fn sim_with(opts: SimOptions, spec: &str) -> SimServer {
    let server = sim::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), opts)
        .await
        .unwrap();
    server.sim.seed(&Seed::parse_spec(spec).unwrap()).unwrap();
    server
}

fn fast() -> SimOptions {
    SimOptions {
        latencies: Latencies {
            create_ms: 50,
            start_ms: 30,
            stop_ms: 30,
            destroy_ms: 30,
            ..Latencies::instant(30)
        },
        rate_limits: false,
        ..SimOptions::default()
    }
}

fn client(server: &SimServer, tweak: impl FnOnce(&mut ClientOptions)) -> FlyClient {
    let mut opts = ClientOptions {
        request_timeout: Duration::from_secs(5),
        max_retries: 3,
        rate_limit: true,
        ..ClientOptions::for_base(&server.url(), Secret::new(TOKEN))
    };
    tweak(&mut opts);
    FlyClient::new(opts).unwrap()
}

async fn set_faults(server: &SimServer, rules: Vec<FaultRule>) {
    server.sim.faults.lock().unwrap().rules = rules;
}

fn count(server: &SimServer, key: &str) -> u64 {
    server.sim.request_count(key)
}

fn rule(action: &str, status: u16, count: u32) -> FaultRule {
    FaultRule {
        action: action.into(),
        status: Some(status),
        count: Some(count),
        ..FaultRule::default()
    }
}

#[tokio::test]
async fn every_call_works_end_to_end() {
    let server = sim_with(fast(), "acme/web=2,acme/api=1,other/x=1").await;
    let c = client(&server, |_| {});
    let machines = c.list_machines("web").await.unwrap();
    assert_eq!(machines.len(), 2);
    let source = &machines[0];
    assert_eq!(source.process_group(), "app");
    assert!(source.is_reachable());

    let one = c.get_machine("web", &source.id).await.unwrap();
    assert_eq!(one.id, source.id);

    let input = CreateMachine {
        config: source.clone_config().unwrap(),
        region: "ord".into(),
        skip_launch: true,
        ..Default::default()
    };
    let created = c.create_machine("web", &input).await.unwrap();
    assert_eq!(created.region, "ord");
    assert_eq!(
        created.config.as_ref().unwrap()["image"],
        source.clone_config().unwrap()["image"]
    );
    // skip_launch: it stays `created` until someone starts it.
    assert_eq!(created.state, "created");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        c.get_machine("web", &created.id).await.unwrap().state,
        "created"
    );
    let wait =
        |state: &'static str| c.wait_for_state("web", &created, state, Duration::from_secs(5));
    let nonce = c
        .acquire_lease("web", &created.id, Duration::from_secs(10))
        .await
        .unwrap();
    c.start_machine("web", &created.id, Some(&nonce))
        .await
        .unwrap();
    wait("started").await.unwrap();
    c.suspend_machine("web", &created.id, Some(&nonce))
        .await
        .unwrap();
    wait("suspended").await.unwrap();
    c.start_machine("web", &created.id, Some(&nonce))
        .await
        .unwrap();
    wait("started").await.unwrap();
    c.stop_machine("web", &created.id, Some(&nonce))
        .await
        .unwrap();
    // The wait for `stopped` carries instance_id, which the strict reading requires.
    wait("stopped").await.unwrap();
    c.release_lease("web", &created.id, &nonce).await.unwrap();
    c.destroy_machine("web", &created.id, true, None)
        .await
        .unwrap();
    wait("destroyed").await.unwrap();
    assert_eq!(c.list_machines("web").await.unwrap().len(), 2);

    let mut apps: Vec<String> = c
        .list_org_apps("acme")
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    apps.sort();
    assert_eq!(apps, ["api", "web"]);

    assert_eq!(
        c.current_release_status("web").await.unwrap(),
        None,
        "no release means not running"
    );
    server
        .sim
        .world
        .of("web")
        .apps
        .get_mut("web")
        .unwrap()
        .release_status = Some("running".into());
    assert_eq!(
        c.current_release_status("web").await.unwrap().as_deref(),
        Some("running")
    );
}

#[tokio::test]
async fn errors_are_typed_by_what_the_caller_must_do() {
    let server = sim_with(
        SimOptions {
            token: Some("fm2_clienttoken".into()),
            ..fast()
        },
        "acme/web=1",
    )
    .await;
    let c = client(&server, |_| {});
    let m = c.list_machines("web").await.unwrap().remove(0);
    assert!(matches!(
        c.get_machine("web", "nope").await,
        Err(FlyError::NotFound { .. })
    ));
    assert!(matches!(
        c.list_machines("no-such-app").await,
        Err(FlyError::NotFound { .. })
    ));
    assert!(matches!(
        c.start_machine("web", &m.id, None).await,
        Err(FlyError::Conflict { status: 412, .. })
    ));
    assert!(matches!(
        c.destroy_machine("web", &m.id, false, None).await,
        Err(FlyError::Conflict { status: 412, .. })
    ));
    let bad = CreateMachine {
        config: json!({"guest": {}}),
        ..Default::default()
    };
    assert!(matches!(
        c.create_machine("web", &bad).await,
        Err(FlyError::Rejected { status: 400, .. })
    ));
    assert!(matches!(
        c.current_release_status("no-such-app").await,
        Err(FlyError::NotFound { .. })
    ));

    let wrong = client(&server, |o| o.token = Secret::new("FlyV1 fm2_wrong"));
    let e = wrong.list_machines("web").await.unwrap_err();
    assert!(matches!(e, FlyError::BadToken { status: 401, .. }), "{e:?}");
    // The client accepts the token with or without its scheme.
    let bare = client(&server, |o| o.token = Secret::new("fm2_clienttoken"));
    assert!(bare.list_machines("web").await.is_ok());
}

#[tokio::test]
async fn idempotent_calls_retry_server_errors() {
    let server = sim_with(fast(), "acme/web=1").await;
    let c = client(&server, |_| {});
    set_faults(&server, vec![rule("list", 503, 2)]).await;
    assert_eq!(c.list_machines("web").await.unwrap().len(), 1);
    assert_eq!(
        (count(&server, "list 503"), count(&server, "list 200")),
        (2, 1)
    );

    set_faults(&server, vec![rule("list", 500, 10)]).await;
    let c1 = client(&server, |o| o.max_retries = 1);
    assert!(matches!(
        c1.list_machines("web").await,
        Err(FlyError::Server { status: 500, .. })
    ));
    assert_eq!(
        count(&server, "list 500"),
        2,
        "the first attempt and one retry"
    );
}

#[tokio::test]
async fn creates_are_never_resent_when_they_may_have_succeeded() {
    let server = sim_with(fast(), "acme/web=1").await;
    let c = client(&server, |o| o.request_timeout = Duration::from_millis(400));
    let source = c.list_machines("web").await.unwrap().remove(0);
    let input = CreateMachine {
        config: source.clone_config().unwrap(),
        ..Default::default()
    };

    set_faults(&server, vec![rule("create", 500, 1)]).await;
    assert!(matches!(
        c.create_machine("web", &input).await,
        Err(FlyError::Server { .. })
    ));
    assert_eq!(
        count(&server, "create 500"),
        1,
        "a 500 may have created: no retry"
    );

    // The create succeeds on the server, then the answer never comes.
    set_faults(
        &server,
        vec![FaultRule {
            action: "create".into(),
            hang: true,
            apply_first: true,
            count: Some(1),
            ..FaultRule::default()
        }],
    )
    .await;
    assert!(matches!(
        c.create_machine("web", &input).await,
        Err(FlyError::Timeout { .. })
    ));
    set_faults(&server, vec![]).await;
    assert_eq!(
        c.list_machines("web").await.unwrap().len(),
        2,
        "created exactly once"
    );

    // A 429 proves nothing was created: waiting Retry-After and resending is safe.
    set_faults(
        &server,
        vec![FaultRule {
            retry_after: Some(1),
            ..rule("create", 429, 1)
        }],
    )
    .await;
    c.create_machine("web", &input).await.unwrap();
    assert_eq!(count(&server, "create 429"), 1);
    assert_eq!(c.list_machines("web").await.unwrap().len(), 3);
    let log = server.sim.faults.lock().unwrap().log.clone();
    let creates: Vec<u64> = log
        .iter()
        .filter(|e| e.action == "create")
        .map(|e| e.at_ms)
        .collect();
    let gap = creates[creates.len() - 1] - creates[creates.len() - 2];
    assert!(gap >= 1000, "Retry-After honoured, resent after {gap} ms");
}

#[tokio::test]
async fn hung_requests_end_in_a_timeout() {
    let server = sim_with(fast(), "acme/web=1").await;
    let c = client(&server, |o| {
        o.request_timeout = Duration::from_millis(200);
        o.max_retries = 1;
    });
    set_faults(
        &server,
        vec![FaultRule {
            action: "list".into(),
            hang: true,
            ..FaultRule::default()
        }],
    )
    .await;
    assert!(matches!(
        c.list_machines("web").await,
        Err(FlyError::Timeout { .. })
    ));
}

#[tokio::test]
async fn the_client_stays_under_fly_rate_limits() {
    let server = sim_with(
        SimOptions {
            rate_limits: true,
            ..fast()
        },
        "acme/web=1",
    )
    .await;
    let limited = client(&server, |_| {});
    for _ in 0..5 {
        limited.list_machines("web").await.unwrap();
    }
    assert_eq!(
        count(&server, "list 429"),
        0,
        "the client waited for its tokens"
    );

    let server = sim_with(
        SimOptions {
            rate_limits: true,
            ..fast()
        },
        "acme/web=1",
    )
    .await;
    let unlimited = client(&server, |o| {
        o.rate_limit = false;
        o.max_retries = 0;
    });
    let mut refused = 0;
    for _ in 0..5 {
        if let Err(FlyError::RateLimited { retry_after, .. }) = unlimited.list_machines("web").await
        {
            assert!(retry_after.is_some(), "the simulator sends Retry-After");
            refused += 1;
        }
    }
    assert!(
        refused >= 1,
        "without the limiter the simulator answers 429"
    );
}

#[tokio::test]
async fn tokens_never_show_in_debug_or_errors() {
    let server = sim_with(
        SimOptions {
            token: Some("fm2_other".into()),
            ..fast()
        },
        "acme/web=1",
    )
    .await;
    let c = client(&server, |_| {});
    assert!(!format!("{c:?}").contains("clienttoken"));
    let e = c.list_machines("web").await.unwrap_err();
    assert!(!format!("{e} {e:?}").contains("clienttoken"), "{e}");
    let unreachable = client(&server, |o| o.machines_url = "http://127.0.0.1:1".into());
    let e = unreachable.list_machines("web").await.unwrap_err();
    assert!(
        matches!(e, FlyError::Transport { sent: false, .. }),
        "{e:?}"
    );
    assert!(!format!("{e} {e:?}").contains("clienttoken"));
}

#[test]
fn base_urls_come_from_the_environment() {
    let env = |k: &str| match k {
        "FLY_FLAPS_BASE_URL" => Some("http://flaps".to_string()),
        _ => None,
    };
    let o = ClientOptions::from_env(&env, Secret::new("t"));
    assert_eq!(o.machines_url, "http://flaps");
    assert_eq!(o.graphql_url, "https://api.fly.io/graphql");
    let env2 = |k: &str| match k {
        "FAS_MACHINES_API_URL" => Some("http://fas".to_string()),
        "FLY_FLAPS_BASE_URL" => Some("http://flaps".to_string()),
        "FAS_GRAPHQL_URL" => Some("http://g/graphql".to_string()),
        _ => None,
    };
    let o = ClientOptions::from_env(&env2, Secret::new("t"));
    assert_eq!(
        (o.machines_url.as_str(), o.graphql_url.as_str()),
        ("http://fas", "http://g/graphql")
    );
    let none = |_: &str| None;
    assert_eq!(
        ClientOptions::from_env(&none, Secret::new("t")).machines_url,
        "https://api.machines.dev"
    );
    let _ = Value::Null;
}
