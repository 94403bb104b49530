//! A fleet for scale-down tests (stops as slow as asked), what each Machine looks like
//! (state, cordon, last stop body), and metadata set as a worker sets it on itself.

use fas::sim::{Latencies, SimOptions, SimServer};
use serde_json::{json, Value};

/// A fleet of `spec` whose stops take `stop_ms`.
pub async fn fleet(spec: &str, stop_ms: u64) -> SimServer {
    let opts = SimOptions {
        latencies: Latencies {
            stop_ms,
            ..Latencies::instant(20)
        },
        rate_limits: false,
        ..SimOptions::default()
    };
    let server = fas::sim::start("127.0.0.1:0".parse().unwrap(), opts)
        .await
        .unwrap();
    server
        .sim
        .seed(&fas::sim::Seed::parse_spec(spec).unwrap())
        .unwrap();
    server
}

/// (id, state, cordoned, last stop body) of each Machine of `app`, by id.
pub fn machines(s: &SimServer, app: &str) -> Vec<(String, String, bool, Option<Value>)> {
    let of = |a: &fas::sim::world::SimApp| -> Vec<_> {
        a.machines
            .iter()
            .filter(|m| m.state != "destroyed")
            .map(|m| {
                (
                    m.id.clone(),
                    m.state.clone(),
                    m.cordoned,
                    m.last_stop.clone(),
                )
            })
            .collect()
    };
    let mut v = s.sim.world.read_app(app, of).unwrap();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A metadata call as a worker makes it on itself.
pub async fn metadata(s: &SimServer, app: &str, id: &str, key: &str, value: Option<&str>) {
    let url = format!("{}/v1/apps/{app}/machines/{id}/metadata/{key}", s.url());
    let c = reqwest::Client::new();
    let req = match value {
        Some(v) => c.post(url).json(&json!({ "value": v })),
        None => c.delete(url),
    };
    let r = req
        .header("Authorization", "Bearer FlyV1 fm2_worker")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
}
