//! The client's guarded start/stop/suspend/destroy against the simulator: each
//! outcome the reconciler counts on — applied, refused, leased by someone else,
//! applied despite a 5xx (read back), and unknown when the read-back fails too.

use std::time::Duration;

use fas::config::Secret;
use fas::fly::{ClientOptions, Done, FlyClient, Verb};
use fas::sim::{FaultRule, SimServer};

mod support;

async fn setup() -> (SimServer, FlyClient, String) {
    let server = support::sched::fleet("acme/web=1").await;
    let fly = FlyClient::new(ClientOptions {
        request_timeout: Duration::from_secs(2),
        max_retries: 2,
        rate_limit: false,
        ..ClientOptions::for_base(&server.url(), Secret::new("FlyV1 fm2_t"))
    })
    .unwrap();
    let id = fly.list_machines("web").await.unwrap()[0].id.clone();
    (server, fly, id)
}

fn fail(action: &str, status: u16, count: u32, apply_first: bool) -> FaultRule {
    FaultRule {
        action: action.into(),
        status: Some(status),
        count: Some(count),
        apply_first,
        ..FaultRule::default()
    }
}

#[tokio::test]
async fn applied_refused_and_leased() {
    let (server, fly, id) = setup().await;
    let g = fly.guarded("web", &id, Verb::Stop).await;
    assert_eq!(
        (g.done, g.errors.len(), g.read_back),
        (Done::Applied, 0, None)
    );
    assert_eq!(server.sim.request_count("lease 201"), 1);
    assert_eq!(server.sim.request_count("lease 200"), 1, "released after");
    let g = fly.guarded("web", &id, Verb::Suspend).await;
    assert_eq!(
        g.done,
        Done::NotApplied,
        "a stopping Machine cannot be suspended"
    );
    server
        .sim
        .hold_lease("web", &id, "deploy@acme.test", Duration::from_secs(30));
    let g = fly.guarded("web", &id, Verb::Start).await;
    assert!(
        matches!(&g.done, Done::Leased(m) if m.contains("deploy@acme.test")),
        "{:?}",
        g.done
    );
    assert_eq!(server.sim.request_count("start 409"), 0, "not even tried");
}

#[tokio::test]
async fn an_ambiguous_answer_is_read_back() {
    let (server, fly, id) = setup().await;
    server.sim.faults.lock().unwrap().rules = vec![fail("stop", 502, 1, true)];
    let g = fly.guarded("web", &id, Verb::Stop).await;
    assert_eq!((g.done, g.read_back), (Done::Applied, Some("applied")));
    assert_eq!(server.sim.request_count("stop 502"), 1, "never resent");
    tokio::time::sleep(Duration::from_millis(60)).await;
    // Not applied: a 500 before the Machine was touched, read back as still stopped.
    server.sim.faults.lock().unwrap().rules = vec![fail("start", 500, 1, false)];
    let g = fly.guarded("web", &id, Verb::Start).await;
    assert_eq!(
        (g.done, g.read_back),
        (Done::NotApplied, Some("not_applied"))
    );
    // Unknown: the start may have happened and the read-back fails as well.
    server.sim.faults.lock().unwrap().rules =
        vec![fail("start", 500, 1, true), fail("get", 500, 10, false)];
    let g = fly.guarded("web", &id, Verb::Start).await;
    assert_eq!((g.done, g.read_back), (Done::Unknown, Some("unknown")));
    assert_eq!(
        server.sim.request_count("get 500"),
        3,
        "one read-back, with its retries"
    );
}
