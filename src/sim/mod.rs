//! A simulator of the Fly Machines API (and the GraphQL subset fas uses) over real
//! HTTP: an in-memory fleet with transition latencies, fault injection, Fly's
//! documented rate limits, and stats. Used by `fas sim`, tests and benchmarks; it
//! knows nothing of the reconciler.

mod admin;
mod drain;
pub mod faults;
mod graphql;
mod http;
mod lease;
mod lifecycle;
mod machines;
mod shards;
mod timing;
pub mod world;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, Method};
use serde::Deserialize;
use serde_json::json;
use tokio::time::Instant;

use crate::fly::limit::Buckets;
pub use faults::{Fault, FaultRule, Faults, LogEntry};
pub use shards::Worlds;
pub use timing::Latencies;
pub use world::World;

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    pub latencies: Latencies,
    /// Enforce Fly's documented rate limits (429 with Retry-After).
    pub rate_limits: bool,
    /// The token clients must send; any non-empty token when `None`.
    pub token: Option<String>,
    pub faults: Vec<FaultRule>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            seed: 1,
            latencies: Latencies::default(),
            rate_limits: true,
            token: None,
            faults: Vec::new(),
        }
    }
}

pub struct Sim {
    /// The fleet, split by app (shards.rs).
    pub world: Worlds,
    pub faults: Mutex<Faults>,
    pub buckets: Buckets,
    pub rate_limits: AtomicBool,
    token: Option<String>,
    started: Instant,
    /// Requests answered so far: numbers each `fly-request-id`.
    requests: AtomicU64,
}

impl Sim {
    pub fn new(opts: SimOptions) -> Sim {
        Sim {
            world: Worlds::new(opts.seed, opts.latencies),
            faults: Mutex::new(Faults {
                rules: opts.faults,
                coin: world::Rng::new(opts.seed ^ 0xFA_0175),
                ..Faults::default()
            }),
            buckets: Buckets::default(),
            rate_limits: AtomicBool::new(opts.rate_limits),
            token: opts.token,
            started: Instant::now(),
            requests: AtomicU64::new(opts.seed),
        }
    }

    /// Accepts `Bearer t`, `FlyV1 t` and stacked schemes, as Fly does.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let rest = token_of(headers);
        if rest.is_empty() {
            return false;
        }
        match &self.token {
            None => true,
            Some(want) => {
                let norm = |s: &str| crate::fly::auth_header(s, true).unwrap_or_default();
                norm(want) == norm(rest)
            }
        }
    }

    fn pick_fault(&self, action: &str, app: &str) -> Option<Fault> {
        let mut f = self.faults.lock().ok()?;
        f.pick(action, app)
    }

    fn record(
        &self,
        headers: &HeaderMap,
        (method, path): (&Method, &str),
        action: &str,
        app: &str,
        status: u16,
    ) {
        let token = token_of(headers);
        // Which client sent it, so a test can tell fas instances apart by their tokens:
        // a fingerprint, never the token.
        let caller = if token.is_empty() {
            String::new()
        } else {
            format!("{:08x}", crate::cluster::fnv1a(token.as_bytes()) >> 32)
        };
        // Built before the lock: every request takes it.
        let entry = LogEntry {
            caller,
            at_ms: self.started.elapsed().as_millis() as u64,
            method: method.to_string(),
            path: path.to_string(),
            action: action.to_string(),
            app: app.to_string(),
            status,
        };
        if let Ok(mut f) = self.faults.lock() {
            f.record(entry);
        }
    }

    /// The next `fly-request-id`: the request's number, mixed (splitmix64) so ids
    /// look random yet repeat for a seed.
    fn request_id(&self) -> u64 {
        let mut z = self
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Milliseconds since the simulator started: the request log's clock.
    pub fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Requests answered so far for "ACTION STATUS", e.g. "list 200" (as /__sim/stats).
    pub fn request_count(&self, key: &str) -> u64 {
        self.faults
            .lock()
            .map(|f| f.requests.get(key).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Makes `owner` hold a lease on a Machine for `ttl`, as `fly deploy` does while it
    /// updates it; returns the nonce. Calls without that nonce then answer 409.
    pub fn hold_lease(
        &self,
        app: &str,
        id: &str,
        owner: &str,
        ttl: std::time::Duration,
    ) -> Option<String> {
        let mut w = self.world.of(app);
        lease::grant(&mut w, app, id, owner, "deploy", ttl, Instant::now())
    }

    /// Seeds apps and Machines directly (the same result as the API calls).
    pub fn seed(&self, seed: &Seed) -> Result<(), String> {
        let now = Instant::now();
        for app in &seed.apps {
            let mut w = self.world.of(&app.name);
            w.create_app(&app.name, &app.org)?;
            for m in &app.machines {
                let image = format!("registry.fly.io/{}:deployment-1", app.name);
                let config = json!({"image": image, "guest": {"cpu_kind": "shared", "cpus": 1, "memory_mb": 256},
                    "metadata": {"fly_platform_version": "v2", "fly_process_group": m.process_group}});
                let created = w
                    .create_machine(&app.name, config, &m.region, "", m.state == "stopped", now)
                    .ok_or("app vanished")?;
                // Seeded Machines are settled from the start.
                if let Some(sm) = w.machine_mut(&app.name, &created.id) {
                    sm.state = m.state.clone();
                    sm.pending.clear();
                    sm.ready_at = now;
                    sm.listed_from = now;
                }
            }
        }
        Ok(())
    }
}

/// A seed: apps with their Machines, as JSON (`--apps FILE`) or a compact spec.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub apps: Vec<SeedApp>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedApp {
    pub org: String,
    pub name: String,
    #[serde(default)]
    pub machines: Vec<SeedMachine>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedMachine {
    #[serde(default = "default_region")]
    pub region: String,
    #[serde(default = "default_state")]
    pub state: String,
    #[serde(default = "default_group")]
    pub process_group: String,
}

fn default_region() -> String {
    "iad".into()
}
fn default_state() -> String {
    "started".into()
}
fn default_group() -> String {
    "app".into()
}

impl Seed {
    /// `ORG/APP=N[,ORG/APP=N…]`: N started Machines in iad, process group `app`.
    /// `ORG/PREFIX-*=N*COUNT` makes COUNT apps PREFIX-1…PREFIX-COUNT.
    pub fn parse_spec(spec: &str) -> Result<Seed, String> {
        let bad = |p: &str| {
            format!("bad app spec {p:?}: use ORG/APP=N or ORG/PREFIX-*=N*COUNT, comma-separated")
        };
        let mut apps = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (target, n) = part.split_once('=').ok_or_else(|| bad(part))?;
            let (org, name) = target.split_once('/').ok_or_else(|| bad(part))?;
            let (per, count) = match n.split_once('*') {
                Some((a, b)) => (
                    a.parse::<usize>().map_err(|_| bad(part))?,
                    Some(b.parse::<usize>().map_err(|_| bad(part))?),
                ),
                None => (n.parse::<usize>().map_err(|_| bad(part))?, None),
            };
            let machines = || {
                (0..per)
                    .map(|_| SeedMachine {
                        region: default_region(),
                        state: default_state(),
                        process_group: default_group(),
                    })
                    .collect()
            };
            match (name.strip_suffix('*'), count) {
                (Some(prefix), Some(count)) => {
                    for i in 1..=count {
                        apps.push(SeedApp {
                            org: org.into(),
                            name: format!("{prefix}{i}"),
                            machines: machines(),
                        });
                    }
                }
                (None, None) => apps.push(SeedApp {
                    org: org.into(),
                    name: name.into(),
                    machines: machines(),
                }),
                _ => return Err(bad(part)),
            }
        }
        Ok(Seed { apps })
    }

    /// A JSON file path, else a spec.
    pub fn load(arg: &str) -> Result<Seed, String> {
        if std::path::Path::new(arg).is_file() {
            let text = std::fs::read_to_string(arg).map_err(|e| format!("{arg}: {e}"))?;
            serde_json::from_str(&text).map_err(|e| format!("{arg}: {e}"))
        } else {
            Seed::parse_spec(arg)
        }
    }
}

/// A running simulator.
pub struct SimServer {
    pub addr: SocketAddr,
    pub sim: Arc<Sim>,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    /// Base URL for the Machines API (`{url}/v1/...`) and GraphQL (`{url}/graphql`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the simulator on `addr` (port 0 for any free port).
pub async fn start(addr: SocketAddr, opts: SimOptions) -> std::io::Result<SimServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let sim = Arc::new(Sim::new(opts));
    let app = http::router(sim.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(SimServer { addr, sim, task })
}

/// The token of an `authorization` header, under any stack of `Bearer `/`FlyV1 `
/// schemes ("" when there is none).
fn token_of(headers: &HeaderMap) -> &str {
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return "";
    };
    let mut rest = value.trim();
    while let Some(r) = ["Bearer ", "FlyV1 ", "bearer ", "flyv1 "]
        .iter()
        .find_map(|p| rest.strip_prefix(p))
    {
        rest = r.trim_start();
    }
    rest
}
