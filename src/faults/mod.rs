//! The fault matrix: each row runs the real scheduler and reconciler against the
//! simulator for some rounds with one kind of fault injected, next to a healthy app,
//! then checks invariants from the simulator's own records: no Machine created or
//! started beyond the policy's target, none destroyed or stopped below it, never the
//! last one destroyed, no action while metrics or the policy failed, no duplicate
//! creates, the healthy app still served, the fault visible in /metrics, and no
//! secret in any error. Used by `fas bench faults` and the tests.

mod rows;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clock::SystemClock;
use crate::collect::{CollectError, CollectFuture, Collector};
use crate::config::Secret;
use crate::fly::{ClientOptions, FlyClient};
use crate::policy::{Limits, Policy, PolicyHandle};
use crate::reconcile::{scheduler::STATE_GRACE, Apps, PlanOptions, Reconciler, Scheduler};
use crate::sim::{self, FaultRule, Latencies, Seed, SeedApp, SeedMachine, SimOptions};
use crate::telemetry::Metrics;

pub use rows::rows;

pub const SECRET: &str = "FlyV1 fm2_FAULTMATRIXSECRET";

/// What the collector does for the faulty app.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    Fine,
    Down,
    Slow,
    NaN,
    Inf,
}

/// One row of the matrix.
pub struct Row {
    pub name: &'static str,
    /// Simulator fault rules (scoped to the faulty app where it matters).
    pub faults: Vec<FaultRule>,
    pub metric: Metric,
    /// The faulty app's policy, when it is the fault (else the healthy one).
    pub policy: Option<&'static str>,
    /// Machine state changes after seeding: (index, state, host_status, stuck).
    pub machines: Vec<(usize, Option<&'static str>, Option<&'static str>, bool)>,
    pub release_running: bool,
    /// Most Machines the faulty app may end with (it starts with 1; the policy wants 2-5).
    pub max_created: usize,
    /// Whether no mutating call may reach the faulty app at all.
    pub expect_no_action: bool,
    /// The counter that must show the fault: (name, label, value), summed over its
    /// other labels; label `*` for every series; `a|b` for the sum of two counters.
    pub counter: Option<(&'static str, &'static str, &'static str)>,
    /// The simulator's latencies (default: 20 ms, exact).
    pub latencies: Option<Latencies>,
    /// A deploy holds a lease on the faulty app's first Machine all along: no call
    /// of fas may touch it.
    pub deploy_lease: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RowResult {
    pub name: &'static str,
    pub faults_injected: u64,
    pub rounds: u64,
    pub actions: u64,
    pub violations: Vec<String>,
}

/// Targets of the policy both apps run (unless a row replaces the faulty app's).
pub const HEALTHY_POLICY: &str =
    "function scale(metrics, app)\n  return { created = { min = 2, max = 5 }, started = 3 }\nend\n";

struct RowCollector {
    mode: Metric,
}

impl Collector for RowCollector {
    fn name(&self) -> &str {
        "q"
    }
    fn collect<'a>(&'a self, app: &'a str) -> CollectFuture<'a> {
        let mode = if app == "faulty" {
            self.mode
        } else {
            Metric::Fine
        };
        Box::pin(async move {
            match mode {
                Metric::Fine => Ok(30.0),
                Metric::Down => Err(CollectError::new(
                    "q",
                    "prometheus answered 503: unavailable",
                )),
                Metric::Slow => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Ok(30.0)
                }
                Metric::NaN => Ok(f64::NAN),
                Metric::Inf => Ok(f64::INFINITY),
            }
        })
    }
}

/// Runs one row for `rounds` rounds of `interval`.
pub async fn run_row(row: &Row, rounds: u32, interval: Duration) -> RowResult {
    let mut result = RowResult {
        name: row.name,
        ..RowResult::default()
    };
    let mut v = |msg: String| result.violations.push(msg);
    let opts = SimOptions {
        latencies: row.latencies.clone().unwrap_or(Latencies::instant(20)),
        rate_limits: false,
        token: Some("fm2_FAULTMATRIXSECRET".into()),
        faults: row.faults.clone(),
        ..SimOptions::default()
    };
    let server = match sim::start("127.0.0.1:0".parse().expect("address"), opts).await {
        Ok(s) => s,
        Err(e) => {
            v(format!("cannot start the simulator: {e}"));
            return result;
        }
    };
    let machines = |n: usize| {
        (0..n)
            .map(|i| SeedMachine {
                region: "iad".into(),
                state: if i == 0 { "started" } else { "stopped" }.into(),
                process_group: "app".into(),
            })
            .collect()
    };
    let seed = Seed {
        apps: vec![
            SeedApp {
                org: "acme".into(),
                name: "faulty".into(),
                machines: machines(1),
            },
            SeedApp {
                org: "acme".into(),
                name: "healthy".into(),
                machines: machines(3),
            },
        ],
    };
    if let Err(e) = server.sim.seed(&seed) {
        v(format!("cannot seed: {e}"));
        return result;
    }
    let leased = {
        let mut w = server.sim.world.of("faulty");
        let ids: Vec<String> = w.apps["faulty"]
            .machines
            .iter()
            .map(|m| m.id.clone())
            .collect();
        for (i, state, host, stuck) in &row.machines {
            if let Some(m) = w.machine_mut("faulty", &ids[*i]) {
                if let Some(s) = state {
                    m.state = s.to_string();
                }
                if let Some(h) = host {
                    m.host_status = h.to_string();
                }
                m.stuck = *stuck;
            }
        }
        if row.release_running {
            if let Some(a) = w.apps.get_mut("faulty") {
                a.release_status = Some("running".into());
            }
        }
        ids.first().cloned()
    };
    if row.deploy_lease {
        let id = leased.as_deref().unwrap_or_default();
        server
            .sim
            .hold_lease("faulty", id, "deploy@acme.test", Duration::from_secs(3600));
    }
    let dir = std::env::temp_dir().join(format!(
        "fas-faults-{}-{}",
        std::process::id(),
        row.name.replace(' ', "-")
    ));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("policy.lua");
    // The faulty app runs the row's policy; the healthy one always the healthy policy.
    let src = match row.policy {
        Some(p) => format!("{p}\nlocal faulty_scale = scale\nfunction scale(m, app)\n  if app.name == 'faulty' then return faulty_scale(m, app) end\n  return {{ created = {{ min = 2, max = 5 }}, started = 3 }}\nend\n"),
        None => HEALTHY_POLICY.to_string(),
    };
    let _ = std::fs::write(&path, src);
    let policy = match PolicyHandle::spawn(move || {
        Policy::from_file(
            &path,
            &serde_json::json!({}),
            Limits {
                memory: 32 << 20,
                instructions: 2_000_000,
                ..Limits::default()
            },
        )
    }) {
        Ok(p) => p,
        Err(e) => {
            v(format!("policy: {e}"));
            return result;
        }
    };
    let fly = match FlyClient::new(ClientOptions {
        request_timeout: Duration::from_millis(300),
        max_retries: 2,
        rate_limit: false,
        ..ClientOptions::for_base(&server.url(), Secret::new(SECRET))
    }) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            v(format!("client: {e}"));
            return result;
        }
    };
    let metrics = Arc::new(Metrics::default());
    let errors: Arc<Mutex<Vec<String>>> = Arc::default();
    let plan = PlanOptions {
        process_group: "app".into(),
        regions: vec![],
        create_stopped: false,
        suspend: false,
    };
    let reconciler = Arc::new(Reconciler::new(
        fly.clone(),
        vec![Arc::new(RowCollector { mode: row.metric })],
        policy,
        plan,
        Duration::from_millis(1500),
        interval,
        Arc::new(SystemClock),
        metrics.clone(),
    ));
    // Drive rounds directly (each app once per round), collecting every error text.
    for _ in 0..rounds {
        for app in ["faulty", "healthy"] {
            if let Err(e) = reconciler.reconcile(app).await {
                errors
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(format!("{e} {e:?}"));
            }
        }
        result.rounds += 1;
        tokio::time::sleep(interval).await;
    }
    // A scheduler run too: it must keep serving the healthy app next to the faulty one.
    let scheduler = Scheduler {
        reconciler: reconciler.clone(),
        fly,
        apps: Apps::Matching {
            org: "acme".into(),
            pattern: glob::Pattern::new("*").expect("a constant, valid pattern"),
        },
        interval,
        refresh_interval: Duration::from_secs(60),
        concurrency: 2,
        grace: STATE_GRACE,
        watch: crate::config::Watch::off(),
        pokes: None,
    };
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(scheduler.run(rx));
    tokio::time::sleep(interval * 3).await;
    let _ = stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Invariants, from the simulator's records.
    let (log, injected) = {
        let f = server.sim.faults.lock().unwrap_or_else(|e| e.into_inner());
        (f.log.clone(), f.injected)
    };
    // API faults as the simulator applied them; a broken Machine or release counts
    // once; a metric or policy fault once per round.
    result.faults_injected = injected
        + row.machines.len() as u64
        + u64::from(row.release_running)
        + u64::from(row.deploy_lease)
        + u64::from(row.latencies.is_some())
        + if row.metric != Metric::Fine || row.policy.is_some() {
            result.rounds
        } else {
            0
        };
    let mutating = |app: &str| {
        log.iter()
            .filter(|e| {
                e.app == app
                    && matches!(
                        e.action.as_str(),
                        "create" | "destroy" | "start" | "stop" | "suspend"
                    )
            })
            .count() as u64
    };
    result.actions = mutating("faulty") + mutating("healthy");
    if row.expect_no_action && mutating("faulty") > 0 {
        v(format!(
            "{} mutating calls reached the faulty app while its metrics or policy failed",
            mutating("faulty")
        ));
    }
    let (created, started) = {
        let count = |app: &str, f: &dyn Fn(&str) -> bool| {
            let in_state = |a: &crate::sim::world::SimApp| {
                a.machines
                    .iter()
                    .filter(|m| m.state != "destroyed" && f(&m.state))
                    .count()
            };
            server.sim.world.read_app(app, in_state).unwrap_or(0)
        };
        let c = |app: &str| count(app, &|_| true);
        let s = |app: &str| count(app, &|s| s == "started" || s == "starting");
        ((c("faulty"), c("healthy")), (s("faulty"), s("healthy")))
    };
    if created.0 > 5 || created.1 > 5 {
        v(format!(
            "over-created: faulty {} healthy {} (max 5)",
            created.0, created.1
        ));
    }
    if created.0 < 1 || created.1 < 1 {
        v("the last Machine was destroyed".into());
    }
    if started.0 > 3 || started.1 > 3 {
        v(format!(
            "over-started: faulty {} healthy {} (target 3)",
            started.0, started.1
        ));
    }
    if started.1 != 3 {
        v(format!(
            "the healthy app has {} started, wants 3: one bad app stalled another",
            started.1
        ));
    }
    if created.0 > row.max_created {
        v(format!(
            "the faulty app ended with {} Machines, at most {} expected: a create was repeated",
            created.0, row.max_created
        ));
    }
    if let (true, Some(id)) = (row.deploy_lease, leased.as_deref()) {
        let touched = log.iter().any(|e| {
            e.path.contains(id) && e.action != "lease" && e.action != "get" && e.status < 300
        });
        if touched {
            v(format!(
                "a call of fas reached Machine {id} while a deploy held its lease"
            ));
        }
    }
    if let Some((name, key, value)) = row.counter {
        let sum: u64 = name
            .split('|')
            .map(|n| metrics.counter_sum(n, key, value))
            .sum();
        if sum == 0 {
            let errs = errors.lock().unwrap_or_else(|e| e.into_inner()).join("; ");
            v(format!(
                "no {name}{{{key}=\"{value}\"}} in /metrics for this fault (round errors: [{errs}])"
            ));
        }
    }
    let rendered = metrics.render();
    let errs = errors.lock().unwrap_or_else(|e| e.into_inner()).join("\n");
    if rendered.contains("FAULTMATRIXSECRET") || errs.contains("FAULTMATRIXSECRET") {
        v("the token appeared in /metrics or an error".into());
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}
