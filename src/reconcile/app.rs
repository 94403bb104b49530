//! One app's reconcile: collect -> list -> decide -> plan -> (release check) -> act,
//! all inside the per-app timeout. It knows nothing of timers: the scheduler calls it.
//! Any error before acting changes nothing; acting (act.rs) counts and logs each
//! Machine's failure, and a failed create counts as an attempt (no retry loop).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use crate::clock::Clock;
use crate::collect::{CollectError, Collector};
use crate::fly::{Drain, FlyClient, FlyError};
use crate::policy::{Decision, MachineCounts, Order, PolicyError, PolicyHandle, Round, Targets};
use crate::telemetry::Metrics;

use super::carry_out::Decided;
use super::choose;
use super::collecting::{fallback_targets, Collected};
use super::plan::{counts, eligible, PlanOptions};
use super::recent::Recent;
use super::status::Status;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{0}")]
    Collect(#[from] CollectError),
    #[error("{0}")]
    Fly(#[from] FlyError),
    #[error("{0}")]
    Policy(#[from] PolicyError),
    #[error("reconcile timed out after {0:?}")]
    Timeout(Duration),
    #[error("no machine available to clone for scale up: start one Machine in process group {0:?} by hand")]
    NothingToClone(String),
    #[error("{0}")]
    NotOwner(#[from] crate::cluster::NotOwner),
}

impl ReconcileError {
    pub fn kind(&self) -> &'static str {
        match self {
            ReconcileError::Collect(_) => "collect",
            ReconcileError::Fly(_) => "api",
            ReconcileError::Policy(_) => "policy",
            ReconcileError::Timeout(_) => "timeout",
            ReconcileError::NothingToClone(_) => "nothing_to_clone",
            ReconcileError::NotOwner(_) => "not_owner",
        }
    }
}

/// What one reconcile saw and did, for the decision log and tests.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub metrics: Vec<(String, f64)>,
    pub targets: Targets,
    pub action: &'static str,
    pub succeeded: usize,
    pub failed: usize,
    /// Set when the app was skipped (a release is running).
    pub skipped: Option<&'static str>,
    /// The Machines the plan picked (IDs, or `new in REGION`).
    pub planned: Vec<String>,
    /// Planned, not sent (shadow mode).
    pub dry_run: bool,
    pub machines: MachineCounts,
    /// Machines the targets would take away that protect themselves (`fas-protect`).
    pub held_by_protection: usize,
    /// The targets came from the fallback (a metric kept failing), not the policy.
    pub fallback: bool,
    /// A full round, or a watch step that acted between rounds.
    pub round: crate::policy::Round,
}

/// What a reload may change; each round reads it once, at its start.
pub struct Settings {
    pub collectors: Vec<Arc<dyn Collector>>,
    /// Per collector: read in full rounds only (`watch: false`); empty: none is.
    pub full_rounds_only: Vec<bool>,
    pub plan: PlanOptions,
    /// Shadow mode: everything but the calls that change Machines.
    pub dry_run: bool,
    /// How scale-down stops a Machine (signal, timeout, cordon first).
    pub drain: Drain,
    /// `none`, `all`, `scale-in`, `scale-out`: the directions held back for every app
    /// (a Machine's `fas-pause` metadata pauses its own app the same way).
    pub pause: String,
    /// What an app does once a metric keeps failing (None: it holds).
    pub fallback: Option<crate::config::Fallback>,
    /// Call the policy with failed metrics as nil and `app.errors` set.
    pub policy_sees_errors: bool,
    /// `initial-machine-state: suspended`: created Machines are suspended once booted.
    pub warm_pool: bool,
}

pub struct Reconciler {
    pub fly: Arc<FlyClient>,
    settings: RwLock<Arc<Settings>>,
    pub policy: PolicyHandle,
    pub timeout: Duration,
    pub interval: Duration,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub(super) region_seq: Mutex<usize>,
    warned_ungrouped: Mutex<HashSet<String>>,
    /// `app/id` of Machines fas cordoned before a stop: a later start uncordons them
    /// even when the listing does not say `cordoned`.
    pub(super) cordoned_by_fas: Mutex<HashSet<String>>,
    /// (app, key, value) of metadata values not understood, warned about once.
    warned_metadata: Mutex<HashSet<String>>,
    pub(super) warned_leased: Mutex<HashSet<String>>,
    pub(super) warned_unsuspendable: Mutex<HashSet<String>>,
    /// fas's own recent creates and destroys, laid over each listing.
    pub(super) recent: Recent,
    /// Each app's last rounds, for the status page.
    pub status: Arc<Status>,
    /// Rounds in a row whose collection failed, by app (for `fallback`).
    pub(super) collect_failures: Mutex<std::collections::HashMap<String, u32>>,
    /// Each app's last listing, for its watch steps (kept while `watching`).
    pub known: super::watch::KnownApps,
    /// Pool Machines' snapshots (warm pool), to re-warm after a deploy.
    pub snapshots: super::warm::Snapshots,
    /// Set by the scheduler while apps get watch steps between rounds.
    pub watching: std::sync::atomic::AtomicBool,
    /// With clustering on: which apps this instance owns, and the gate before acting.
    pub cluster: Option<Arc<crate::cluster::Gate>>,
}

impl Reconciler {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        fly: Arc<FlyClient>,
        collectors: Vec<Arc<dyn Collector>>,
        policy: PolicyHandle,
        plan: PlanOptions,
        timeout: Duration,
        interval: Duration,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Reconciler {
        let settings = Settings {
            collectors,
            full_rounds_only: Vec::new(),
            plan,
            dry_run: false,
            drain: Drain::default(),
            pause: "none".into(),
            fallback: None,
            policy_sees_errors: false,
            warm_pool: false,
        };
        Reconciler::with_settings(fly, settings, policy, timeout, interval, clock, metrics)
    }

    /// As `new`, with every setting a reload may change given (`fas serve`).
    pub fn with_settings(
        fly: Arc<FlyClient>,
        settings: Settings,
        policy: PolicyHandle,
        timeout: Duration,
        interval: Duration,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
    ) -> Reconciler {
        Reconciler {
            fly,
            settings: RwLock::new(Arc::new(settings)),
            policy,
            timeout,
            interval,
            clock,
            metrics,
            region_seq: Mutex::new(0),
            warned_ungrouped: Mutex::new(HashSet::new()),
            warned_metadata: Mutex::new(HashSet::new()),
            cordoned_by_fas: Mutex::new(HashSet::new()),
            warned_leased: Mutex::new(HashSet::new()),
            warned_unsuspendable: Mutex::new(HashSet::new()),
            recent: Recent::default(),
            status: Arc::new(Status::default()),
            collect_failures: Mutex::new(Default::default()),
            known: Default::default(),
            snapshots: Default::default(),
            watching: Default::default(),
            cluster: None,
        }
    }

    /// With clustering on: acts only on the apps `gate` says this instance owns.
    pub fn with_cluster(mut self, gate: Arc<crate::cluster::Gate>) -> Reconciler {
        self.cluster = Some(gate);
        self
    }

    /// The settings rounds start with from now on (a reload, shadow mode).
    pub fn apply(&self, settings: Settings) {
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Reconciles `app` once (a full round), bounded by the per-app timeout, and
    /// records the result in metrics, the log and the status page.
    pub async fn reconcile(&self, app: &str) -> Result<Outcome, ReconcileError> {
        let started = Instant::now();
        let at = self.clock.now();
        let result = match tokio::time::timeout(self.timeout, self.run(app)).await {
            Ok(r) => r,
            Err(_) => Err(ReconcileError::Timeout(self.timeout)),
        };
        self.record(app, at, started, &result);
        result
    }

    async fn run(&self, app: &str) -> Result<Outcome, ReconcileError> {
        let settings = self.settings();
        let collected = self.collect(app, &settings).await?;
        let listed = self
            .fly
            .list_machines(app)
            .await
            .inspect_err(|_| self.api_error("list"))?;
        self.remember(app, &settings, &listed, &collected);
        // Before this round's own suspends are noted (they would read as fresh).
        let stale = if settings.warm_pool {
            let pool = eligible(&listed, &settings.plan.process_group);
            self.snapshots.stale(app, &pool)
        } else {
            Vec::new()
        };
        // Machines stopped earlier to be destroyed, now at rest: destroy them; warm
        // pool Machines booted: suspend them.
        if !settings.dry_run {
            let drained = self.recent.drained(app, &listed);
            if !drained.is_empty() || settings.warm_pool {
                let deadline = self.may_act(app).await?;
                self.within(app, deadline, async {
                    for id in drained {
                        self.finish_drain(app, &id).await;
                    }
                    if settings.warm_pool {
                        self.warm_up(app, &listed).await;
                    }
                })
                .await?;
            }
        }

        // The list may lag fas's own fresh creates and destroys: say what fas knows.
        let machines = self.recent.overlay(app, listed, self.clock.now());
        let group = eligible(&machines, &settings.plan.process_group);
        self.warn_ungrouped(app, &machines, &settings.plan.process_group);
        self.warn_unrecognized(app, &machines);
        let machine_counts = counts(&group);
        self.metrics.set(
            "fas_machines",
            &[("app", app), ("state", "created")],
            machine_counts.created as f64,
        );
        self.metrics.set(
            "fas_machines",
            &[("app", app), ("state", "started")],
            machine_counts.started as f64,
        );
        let (values, targets, fallback, per_machine, order) = match collected {
            Collected::Values {
                values,
                errors,
                per_machine,
            } => {
                let list = if self.policy.is_lua() {
                    choose::machine_list(&group, &per_machine)
                } else {
                    Vec::new()
                };
                let decision = Decision {
                    app: app.to_string(),
                    now: self.clock.now(),
                    interval_secs: self.interval.as_secs_f64(),
                    round: Round::Full,
                    machines: machine_counts.clone(),
                    metrics: values.clone(),
                    errors,
                    list,
                };
                let (targets, order) = self.policy.decide_full(decision).await?;
                (values, targets, false, per_machine, order)
            }
            Collected::Fallback {
                values,
                rounds,
                error,
            } => {
                let fb = settings.fallback.as_ref().expect("fallback is configured");
                let targets = fallback_targets(fb, &machine_counts);
                tracing::warn!(app, rounds, error = %error, behavior = %fb.behavior, targets = %targets,
                    "a metric keeps failing: the fallback's targets apply until it answers");
                (values, targets, true, Vec::new(), Order::default())
            }
        };
        // Only with a fallback configured: 10,000 apps need no series that is always 0.
        if settings.fallback.is_some() {
            self.metrics.set(
                "fas_fallback_active",
                &[("app", app)],
                f64::from(u8::from(fallback)),
            );
        }
        let decided = Decided {
            values,
            targets,
            order,
            per_machine,
            fallback,
            counts: machine_counts,
            round: Round::Full,
        };
        let outcome = self.carry_out(app, &settings, machines, decided).await?;
        if outcome.action == "no_scale" && !stale.is_empty() {
            let deadline = self.may_act(app).await?;
            self.within(app, deadline, self.rewarm(app, &settings, &stale))
                .await?;
        }
        Ok(outcome)
    }

    /// Drops what is shown and remembered of `app` (gone from the org, or owned by
    /// another instance now); its policy state is kept.
    pub(super) fn forget_app(&self, app: &str) {
        self.metrics.forget_app(app);
        self.recent.forget(app);
        self.status.forget(app);
        self.known.forget(app);
        self.snapshots.forget(app);
        self.forget_failures(app);
    }

    pub(super) fn api_error(&self, call: &str) {
        self.metrics.inc("fas_api_errors_total", &[("call", call)]);
    }

    pub(super) fn record_targets(&self, app: &str, t: &Targets) {
        for (dim, b) in [("created", t.created), ("started", t.started)] {
            for (bound, v) in [
                ("min", b.and_then(|b| b.min)),
                ("max", b.and_then(|b| b.max)),
            ] {
                if let Some(v) = v {
                    self.metrics.set(
                        "fas_target",
                        &[("app", app), ("dimension", dim), ("bound", bound)],
                        v as f64,
                    );
                }
            }
        }
    }

    /// Upstream ignores Machines without process-group metadata; say so once per app.
    fn warn_ungrouped(&self, app: &str, machines: &[crate::fly::Machine], group: &str) {
        let n = machines
            .iter()
            .filter(|m| m.is_reachable() && m.process_group().is_empty())
            .count();
        if n > 0 && !group.is_empty() {
            self.warn_once(&self.warned_ungrouped, app, || {
                tracing::warn!(app, machines = n, "machines without fly_process_group metadata are in no process group and are left alone; \
                    give them the metadata (fly deploy does) or set FAS_PROCESS_GROUP to match");
            });
        }
    }

    /// A `fas-protect` or `fas-pause` value fas does not understand counts as its safest
    /// meaning (protected; paused): say so once per app and value, and count it.
    fn warn_unrecognized(&self, app: &str, machines: &[crate::fly::Machine]) {
        use crate::fly::{pause_meaning, protect_meaning, PAUSE_KEY, PROTECT_KEY};
        for m in machines.iter().filter(|m| m.is_reachable()) {
            let odd = [
                (PROTECT_KEY, !protect_meaning(m.metadata(PROTECT_KEY)).1),
                (PAUSE_KEY, !pause_meaning(m.metadata(PAUSE_KEY)).2),
            ];
            for (key, value) in odd
                .into_iter()
                .filter(|(_, odd)| *odd)
                .map(|(k, _)| (k, m.metadata(k)))
            {
                let value = crate::redact::quote_max(value, 64);
                self.warn_once(&self.warned_metadata, &format!("{app}\0{key}\0{value}"), || {
                    self.metrics.inc("fas_metadata_unrecognized_total", &[("app", app), ("key", key)]);
                    tracing::warn!(app, machine = %m.id, key, value = %value,
                        "metadata value not understood; it counts as its safest meaning (fas-protect: protected, fas-pause: paused). Use true/false, or all, scale-in, scale-out, none");
                });
            }
        }
    }

    /// Runs `log` the first time `app` is seen in `set`: one line per app, not per round.
    pub(super) fn warn_once(&self, set: &Mutex<HashSet<String>>, app: &str, log: impl FnOnce()) {
        let mut warned = set.lock().unwrap_or_else(|e| e.into_inner());
        if warned.insert(app.to_string()) {
            log();
        }
    }
}
