//! A one-app reconciler rig: fas's real reconciler and Fly client over HTTP against
//! the simulator (Fly's realistic, jittered latencies unless a test says otherwise),
//! with a collector that reports a value the test sets, and waits that end when the
//! simulator's fleet has settled.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fas::clock::SystemClock;
use fas::collect::{CollectError, CollectFuture, Collector};
use fas::config::Secret;
use fas::fly::{ClientOptions, FlyClient};
use fas::policy::expr::CountExprs;
use fas::policy::{Limits, Policy, PolicyHandle};
use fas::reconcile::{Outcome, PlanOptions, ReconcileError, Reconciler};
use fas::sim::{self, Latencies, Seed, SeedApp, SeedMachine, SimOptions, SimServer};
use fas::telemetry::Metrics;

/// Reports `value` for every app, or fails when it is None.
struct Fixed {
    value: Arc<Mutex<Option<f64>>>,
}

impl Collector for Fixed {
    fn name(&self) -> &str {
        "q"
    }
    fn collect<'a>(&'a self, _app: &'a str) -> CollectFuture<'a> {
        let v = *self.value.lock().unwrap();
        Box::pin(async move { v.ok_or(CollectError::new("q", "prometheus is down")) })
    }
}

pub struct Rig {
    pub server: SimServer,
    pub r: Reconciler,
    pub value: Arc<Mutex<Option<f64>>>,
}

pub fn machine(state: &str, group: &str) -> SeedMachine {
    SeedMachine {
        region: "iad".into(),
        state: state.into(),
        process_group: group.into(),
    }
}

pub fn started(e: &str) -> CountExprs {
    CountExprs {
        min_started: Some(e.into()),
        max_started: Some(e.into()),
        ..Default::default()
    }
}

pub fn created(e: &str) -> CountExprs {
    CountExprs {
        min_created: Some(e.into()),
        max_created: Some(e.into()),
        ..Default::default()
    }
}

/// A rig with Fly's default latencies.
pub async fn rig(
    machines: Vec<SeedMachine>,
    exprs: CountExprs,
    tweak: impl FnOnce(&mut PlanOptions),
) -> Rig {
    rig_with(Latencies::default(), machines, exprs, tweak).await
}

pub async fn rig_with(
    latencies: Latencies,
    machines: Vec<SeedMachine>,
    exprs: CountExprs,
    tweak: impl FnOnce(&mut PlanOptions),
) -> Rig {
    let opts = SimOptions {
        latencies,
        rate_limits: false,
        ..SimOptions::default()
    };
    let server = sim::start("127.0.0.1:0".parse::<SocketAddr>().unwrap(), opts)
        .await
        .unwrap();
    server
        .sim
        .seed(&Seed {
            apps: vec![SeedApp {
                org: "acme".into(),
                name: "web".into(),
                machines,
            }],
        })
        .unwrap();
    let fly = FlyClient::new(ClientOptions {
        request_timeout: Duration::from_secs(2),
        max_retries: 1,
        rate_limit: false,
        ..ClientOptions::for_base(&server.url(), Secret::new("FlyV1 fm2_t"))
    })
    .unwrap();
    let policy = PolicyHandle::spawn(move || {
        Policy::from_exprs(&exprs, &["q".to_string()], Limits::default())
    })
    .unwrap();
    let value = Arc::new(Mutex::new(Some(0.0)));
    let mut plan = PlanOptions {
        process_group: "app".into(),
        regions: vec![],
        create_stopped: false,
        suspend: false,
    };
    tweak(&mut plan);
    let r = Reconciler::new(
        Arc::new(fly),
        vec![Arc::new(Fixed {
            value: value.clone(),
        })],
        policy,
        plan,
        Duration::from_secs(3),
        Duration::from_secs(1),
        Arc::new(SystemClock),
        Arc::new(Metrics::default()),
    );
    Rig { server, r, value }
}

impl Rig {
    pub fn set(&self, v: f64) {
        *self.value.lock().unwrap() = Some(v);
    }

    /// Machines of the app (id, state, region) as they are now, destroyed ones left out.
    pub fn now_states(&self) -> Vec<(String, String, String)> {
        let of = |a: &fas::sim::world::SimApp| -> Vec<_> {
            a.machines
                .iter()
                .filter(|m| m.state != "destroyed")
                .map(|m| (m.id.clone(), m.state.clone(), m.region.clone()))
                .collect()
        };
        let mut v = self.server.sim.world.read_app("web", of).unwrap();
        v.sort();
        v
    }

    /// Machines of the app once every transition has ended (at most 20 s).
    pub async fn states(&self) -> Vec<(String, String, String)> {
        for _ in 0..200 {
            let moving =
                |a: &fas::sim::world::SimApp| a.machines.iter().any(|m| !m.pending.is_empty());
            let moving = self.server.sim.world.read_app("web", moving).unwrap();
            if !moving {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.now_states()
    }

    pub async fn count(&self, state: &str) -> usize {
        self.states()
            .await
            .iter()
            .filter(|(_, s, _)| s == state)
            .count()
    }

    pub fn requests(&self, key: &str) -> u64 {
        self.server.sim.request_count(key)
    }

    /// Runs `n` rounds one `interval` apart (shorter than Fly's transitions), and
    /// checks after each that the app keeps at least one Machine not going away.
    pub async fn rounds(
        &self,
        n: usize,
        interval: Duration,
    ) -> Vec<Result<Outcome, ReconcileError>> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.r.reconcile("web").await);
            let alive = self
                .now_states()
                .iter()
                .filter(|(_, s, _)| s != "destroying")
                .count();
            assert!(
                alive >= 1,
                "the app was left with no Machine: {:?}",
                self.now_states()
            );
            tokio::time::sleep(interval).await;
        }
        out
    }
}
