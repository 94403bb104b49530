//! The simulator's in-memory fleet: orgs, apps, Machines and releases, with Fly's
//! state machine (reference §3.4, §5): transitions take time and pass through
//! transient states that list and get show (created -> starting -> started,
//! stopping, suspending, destroying). Time is tokio's clock, so tests can pause it.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::timing::Latencies;

/// A deterministic xorshift generator: the same seed gives the same IDs and faults.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from_digit((self.next_u64() % 16) as u32, 16).unwrap_or('0'))
            .collect()
    }
    /// A 26-character Crockford base32 id in the shape of a ULID.
    pub fn ulid(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        (0..26)
            .map(|_| ALPHABET[(self.next_u64() % 32) as usize] as char)
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct SimMachine {
    pub id: String,
    pub name: String,
    pub state: String,
    pub region: String,
    pub host_status: String,
    pub config: Value,
    pub instance_id: String,
    pub private_ip: String,
    pub created_at: String,
    pub updated_at: String,
    pub events: Vec<Value>,
    /// A transition in progress: the states reached at each instant, in order.
    pub pending: Vec<(Instant, String)>,
    /// Fault injection: the Machine never leaves its current (transient) state.
    pub stuck: bool,
    /// Until then a `created` Machine is still being prepared and a start answers 412.
    pub ready_at: Instant,
    /// The lease someone holds on it (expired leases are ignored).
    pub lease: Option<Lease>,
    /// List lag: not listed before this instant (a fresh create).
    pub listed_from: Instant,
    /// List lag: listed in this old state until the instant (a fresh destroy).
    pub stale: Option<(Instant, String)>,
    /// Cordoned: Fly's proxy sends it no new requests.
    pub cordoned: bool,
    /// The body of the last stop asked of it (signal, timeout), for tests.
    pub last_stop: Option<Value>,
    /// Its suspend snapshot is gone (a deploy): a start from `suspended` is a cold
    /// boot, taking `start_ms`, not `resume_ms`.
    pub cold: bool,
    /// Unix ms when it reached its current state (`/__sim/machines`: benchmarks time
    /// reactions by it).
    pub since_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Lease {
    pub nonce: String,
    pub owner: String,
    pub description: String,
    pub expires_at: Instant,
    /// Unix seconds of `expires_at`, as the API reports it.
    pub expires_unix: u64,
}

impl SimMachine {
    /// The lease in force at `now`, if any.
    pub fn lease_at(&self, now: Instant) -> Option<&Lease> {
        self.lease.as_ref().filter(|l| l.expires_at > now)
    }

    /// The state list shows at `now`: None while a fresh create is not yet listed.
    pub fn listed_state(&self, now: Instant) -> Option<&str> {
        if self.listed_from > now {
            return None;
        }
        match &self.stale {
            Some((until, old)) if *until > now => Some(old),
            _ => Some(&self.state),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SimApp {
    pub id: String,
    pub name: String,
    pub org: String,
    pub machines: Vec<SimMachine>,
    pub release_status: Option<String>,
}

impl SimApp {
    /// Applies every transition of its Machines that is due by `now`.
    fn settle(&mut self, now: Instant) {
        for m in self.machines.iter_mut().filter(|m| !m.stuck) {
            while m.pending.first().is_some_and(|(at, _)| *at <= now) {
                let (at, state) = m.pending.remove(0);
                m.state = state;
                let (ts, ms) = wall_now();
                m.updated_at = ts;
                m.since_ms = ms.saturating_sub(now.duration_since(at).as_millis() as u64);
            }
        }
    }
}

#[derive(Debug)]
pub struct World {
    pub apps: BTreeMap<String, SimApp>,
    pub rng: Rng,
    pub latencies: Latencies,
    /// Whether a start clears a Machine's cordon. Unconfirmed on Fly (reference,
    /// "cordon lifetime"): off by default, the reading fas must not rely on; tests run
    /// fas under both.
    pub cordon_clears_on_start: bool,
}

/// `registry.fly.io/app:tag@digest` split as Fly reports it in `image_ref`.
fn image_ref(image: &str, rng_hex: String) -> Value {
    let (name, digest) = image
        .split_once('@')
        .map(|(n, d)| (n, d.to_string()))
        .unwrap_or((image, format!("sha256:{rng_hex}")));
    let (registry, rest) = name.split_once('/').unwrap_or(("docker.io", name));
    let (repository, tag) = match rest.rsplit_once(':') {
        Some((r, t)) => (r, t),
        None => (rest, "latest"),
    };
    json!({"registry": registry, "repository": repository, "tag": tag, "digest": digest, "labels": {}})
}

pub use crate::clock::timestamp;

fn wall_now() -> (String, u64) {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (timestamp(d.as_secs()), d.as_millis() as u64)
}

const ADJECTIVES: &[&str] = &[
    "aged", "silent", "misty", "bold", "quiet", "swift", "calm", "bright",
];
const NOUNS: &[&str] = &[
    "wind", "river", "forest", "thunder", "meadow", "stone", "field", "cloud",
];

impl World {
    pub fn new(seed: u64, latencies: Latencies) -> World {
        World {
            apps: BTreeMap::new(),
            rng: Rng::new(seed),
            latencies,
            cordon_clears_on_start: false,
        }
    }

    /// Moves every due transition to its target state.
    pub fn settle(&mut self, now: Instant) {
        for app in self.apps.values_mut() {
            app.settle(now);
        }
    }

    /// Settles only `app` (a call scoped to one app sees nothing of the others;
    /// settling 100,000 Machines per call made the simulator the bottleneck of
    /// `fas bench reconcile`).
    pub fn settle_app(&mut self, app: &str, now: Instant) {
        if let Some(a) = self.apps.get_mut(app) {
            a.settle(now);
        }
    }

    pub fn create_app(&mut self, name: &str, org: &str) -> Result<&SimApp, String> {
        if self.apps.contains_key(name) {
            return Err(format!("app name {name:?} is already taken"));
        }
        let id = self.rng.hex(16);
        self.apps.insert(
            name.to_string(),
            SimApp {
                id,
                name: name.into(),
                org: org.into(),
                machines: vec![],
                release_status: None,
            },
        );
        Ok(&self.apps[name])
    }

    /// Creates a Machine in `created`. Without `skip_launch` it boots by itself
    /// (`starting`, then `started`); with it, it stays `created` until started.
    pub fn create_machine(
        &mut self,
        app: &str,
        config: Value,
        region: &str,
        name: &str,
        skip_launch: bool,
        now: Instant,
    ) -> Option<SimMachine> {
        let total = self
            .latencies
            .jittered(self.latencies.create_ms, &mut self.rng);
        let ready_at = now + total / 2;
        let pending = if skip_launch {
            vec![]
        } else {
            vec![
                (ready_at, "starting".into()),
                (now + total, "started".into()),
            ]
        };
        let listed_from = now + Duration::from_millis(self.latencies.list_lag_ms);
        let id = self.rng.hex(14);
        let name = if name.is_empty() {
            let (a, n) = (
                self.rng.next_u64() as usize % ADJECTIVES.len(),
                self.rng.next_u64() as usize % NOUNS.len(),
            );
            format!(
                "{}-{}-{:04}",
                ADJECTIVES[a],
                NOUNS[n],
                self.rng.next_u64() % 10_000
            )
        } else {
            name.to_string()
        };
        let instance_id = self.rng.ulid();
        let private_ip = format!(
            "fdaa:0:{:x}:a7b:{:x}:{:x}:{:x}:2",
            self.rng.next_u64() % 0xffff,
            self.rng.next_u64() % 0xffff,
            self.rng.next_u64() % 0xffff,
            self.rng.next_u64() % 0xffff
        );
        let (ts, ms) = wall_now();
        let m = SimMachine {
            id,
            name,
            state: "created".into(),
            region: if region.is_empty() {
                "iad".into()
            } else {
                region.into()
            },
            host_status: "ok".into(),
            config,
            instance_id,
            private_ip,
            created_at: ts.clone(),
            updated_at: ts,
            events: vec![
                json!({"type": "launch", "status": "created", "source": "user", "timestamp": ms}),
            ],
            pending,
            stuck: false,
            ready_at,
            lease: None,
            listed_from,
            stale: None,
            cordoned: false,
            last_stop: None,
            since_ms: ms,
            cold: false,
        };
        let a = self.apps.get_mut(app)?;
        a.machines.push(m.clone());
        Some(m)
    }

    pub fn machine_mut(&mut self, app: &str, id: &str) -> Option<&mut SimMachine> {
        self.apps
            .get_mut(app)?
            .machines
            .iter_mut()
            .find(|m| m.id == id && m.state != "destroyed")
    }

    /// JSON of a Machine as the API shows it (no `config` when the host is unreachable).
    pub fn machine_json(&self, m: &SimMachine) -> Value {
        let image = m
            .config
            .get("image")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let digest = format!("{:0>64}", m.id);
        let mut v = json!({
            "id": m.id, "name": m.name, "state": m.state, "region": m.region,
            "instance_id": m.instance_id, "private_ip": m.private_ip,
            "created_at": m.created_at, "updated_at": m.updated_at,
            "image_ref": image_ref(&image, digest), "events": m.events, "host_status": m.host_status,
        });
        let key = if m.host_status == "ok" {
            "config"
        } else {
            "incomplete_config"
        };
        v[key] = m.config.clone();
        if m.cordoned {
            v["cordoned"] = Value::Bool(true);
        }
        v
    }
}

/// Starts a transition: `via` now, `target` after `delay`.
pub fn transition(
    m: &mut SimMachine,
    via: &str,
    target: &str,
    delay: Duration,
    now: Instant,
    event: (&str, &str),
) {
    let (ts, ms) = wall_now();
    m.state = via.into();
    m.pending = vec![(now + delay, target.into())];
    m.updated_at = ts;
    m.events.insert(
        0,
        json!({"type": event.0, "status": event.1, "source": "user", "timestamp": ms}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_777_830_055), "2026-05-03T17:40:55Z");
    }

    #[test]
    fn image_ref_splits_the_reference() {
        let r = image_ref("registry.fly.io/app:deployment-1@sha256:ab", "x".into());
        assert_eq!(r["repository"], "app");
        assert_eq!(r["tag"], "deployment-1");
        assert_eq!(r["digest"], "sha256:ab");
    }
}
