//! A policy on its own thread, watched. Lua states are not `Send`, so async
//! reconcilers talk to the policy through a queue; decisions take microseconds, so
//! one thread serves thousands of apps per interval.
//!
//! The sandbox bounds what a script can do, but a decision that still overruns (C
//! code no hook reaches, a bug) must not stall every app behind it. A watchdog
//! thread sees which app the policy thread is deciding for and since when; past the
//! deadline it quarantines that app (its decisions fail from then on, naming app and
//! policy), leaves the stuck thread behind, and starts a fresh one on a new Lua
//! state restored from the last good state of every app, which takes over the queue.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::{AppInput, MachineCounts, MachineInfo, Order, Policy, PolicyError, Round, Targets};

/// How long one job may hold the policy thread before the watchdog steps in: well
/// past the sandbox's own deadline (1 s), which ends ordinary overruns first.
pub const WATCHDOG: Duration = Duration::from_secs(3);

/// An owned `AppInput`, sent across threads.
#[derive(Debug, Clone)]
pub struct Decision {
    pub app: String,
    pub now: f64,
    pub interval_secs: f64,
    /// A full round or a watch step (`app.round`).
    pub round: Round,
    pub machines: MachineCounts,
    pub metrics: Vec<(String, f64)>,
    /// Metrics that failed to collect (policy-sees-errors): name, error.
    pub errors: Vec<(String, String)>,
    /// `app.machines.list` (Lua policies only; empty for Expr).
    pub list: Vec<MachineInfo>,
}

type States = BTreeMap<String, serde_json::Value>;

enum Job {
    Decide(
        Decision,
        oneshot::Sender<Result<(Targets, Order), PolicyError>>,
    ),
    States(oneshot::Sender<Result<States, PolicyError>>),
    Restore(States, oneshot::Sender<Result<(), PolicyError>>),
    Forget(String),
    Reload(Arc<Build>, oneshot::Sender<Result<(), PolicyError>>),
}

type Build = dyn Fn() -> Result<Policy, PolicyError> + Send + Sync;

struct Shared {
    /// Builds the policy: at start, after a watchdog restart, and the reloaded one.
    build: Mutex<Arc<Build>>,
    rx: Mutex<mpsc::Receiver<Job>>,
    /// Which worker thread is the live one; an older one exits when it gets free.
    generation: AtomicU64,
    /// The job in progress: (app, or "" for other jobs; since; generation).
    current: Mutex<Option<(String, Instant, u64)>>,
    /// Every app's state after its last good decision, to restart from.
    last_good: Mutex<States>,
    /// Quarantined apps and why.
    quarantined: Mutex<HashMap<String, String>>,
    label: Mutex<String>,
    /// The running policy is Lua (it sees `app.machines.list`), not Expr counts.
    lua: std::sync::atomic::AtomicBool,
    watchdog: Duration,
    /// Apps whose first decision was checked for metrics no collector provides, and
    /// the names already warned about (each once).
    unknown_checked: Mutex<(HashSet<String>, HashSet<String>)>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone)]
pub struct PolicyHandle {
    tx: mpsc::Sender<Job>,
    shared: Arc<Shared>,
}

fn gone() -> PolicyError {
    PolicyError::Runtime("the policy thread has stopped".into())
}

impl PolicyHandle {
    /// Builds the policy on a new thread (`build` runs there, and again whenever the
    /// watchdog restarts it) and returns a handle.
    pub fn spawn(
        build: impl Fn() -> Result<Policy, PolicyError> + Send + Sync + 'static,
    ) -> Result<PolicyHandle, PolicyError> {
        Self::spawn_watched(build, WATCHDOG)
    }

    pub fn spawn_watched(
        build: impl Fn() -> Result<Policy, PolicyError> + Send + Sync + 'static,
        watchdog: Duration,
    ) -> Result<PolicyHandle, PolicyError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let shared = Arc::new(Shared {
            build: Mutex::new(Arc::new(build)),
            rx: Mutex::new(rx),
            generation: AtomicU64::new(0),
            current: Mutex::new(None),
            last_good: Mutex::new(BTreeMap::new()),
            quarantined: Mutex::new(HashMap::new()),
            label: Mutex::new(String::new()),
            lua: std::sync::atomic::AtomicBool::new(false),
            watchdog,
            unknown_checked: Mutex::new(Default::default()),
        });
        start_worker(&shared, 0)?;
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("fas-policy-watchdog".into())
            .spawn(move || watch(weak))
            .map_err(|e| PolicyError::Runtime(format!("cannot start the policy watchdog: {e}")))?;
        Ok(PolicyHandle { tx, shared })
    }

    /// Longest a caller waits: a stuck job is seen by the watchdog and the queue
    /// taken over by a fresh thread within about this.
    fn patience(&self) -> Duration {
        self.shared.watchdog * 2 + Duration::from_secs(1)
    }

    async fn ask<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, PolicyError>>) -> Job,
        app: Option<&str>,
    ) -> Result<T, PolicyError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(job(reply)).map_err(|_| gone())?;
        match tokio::time::timeout(self.patience(), rx).await {
            Ok(answer) => answer.map_err(|_| self.quarantine_error(app).unwrap_or_else(gone))?,
            Err(_) => Err(self.quarantine_error(app).unwrap_or_else(|| {
                PolicyError::Runtime(format!(
                    "the policy did not answer within {:?}",
                    self.patience()
                ))
            })),
        }
    }

    fn quarantine_error(&self, app: Option<&str>) -> Option<PolicyError> {
        let app = app?;
        let why = lock(&self.shared.quarantined).get(app).cloned()?;
        Some(PolicyError::Quarantined {
            app: app.to_string(),
            policy: lock(&self.shared.label).clone(),
            why,
        })
    }

    pub async fn decide(&self, d: Decision) -> Result<Targets, PolicyError> {
        self.decide_full(d).await.map(|(t, _)| t)
    }

    /// The targets and, from a Lua policy, its `stop_order` and `protect`.
    pub async fn decide_full(&self, d: Decision) -> Result<(Targets, Order), PolicyError> {
        let app = d.app.clone();
        if let Some(e) = self.quarantine_error(Some(&app)) {
            return Err(e);
        }
        self.ask(|reply| Job::Decide(d, reply), Some(&app)).await
    }

    /// Every app's `state`, for persistence; the last good states when the policy
    /// thread cannot answer (so a shutdown always saves something).
    pub async fn states(&self) -> Result<States, PolicyError> {
        match self.ask(Job::States, None).await {
            Err(e) if !matches!(e, PolicyError::State { .. }) => {
                tracing::warn!(error = %e, "policy states unavailable; using the last good ones");
                Ok(lock(&self.shared.last_good).clone())
            }
            r => r,
        }
    }

    /// Drops an app's state (an app gone for longer than the grace period).
    pub fn forget(&self, app: &str) {
        lock(&self.shared.last_good).remove(app);
        let _ = self.tx.send(Job::Forget(app.to_string()));
    }

    pub async fn restore(&self, states: States) -> Result<(), PolicyError> {
        self.ask(|reply| Job::Restore(states, reply), None).await
    }

    /// Replaces the policy with the one `build` makes (on the policy thread, between
    /// two decisions), carrying every app's state over. When `build` fails, or a state
    /// does not carry over, the running policy stays and the error is returned. A
    /// successful reload lifts quarantines: the new policy gets its chance.
    pub async fn reload(
        &self,
        build: impl Fn() -> Result<Policy, PolicyError> + Send + Sync + 'static,
    ) -> Result<(), PolicyError> {
        self.ask(|reply| Job::Reload(Arc::new(build), reply), None)
            .await
    }

    /// Whether the running policy is Lua (and so sees `app.machines.list`).
    pub fn is_lua(&self) -> bool {
        self.shared.lua.load(Ordering::SeqCst)
    }

    /// The running policy's name.
    pub fn label(&self) -> String {
        lock(&self.shared.label).clone()
    }

    /// Apps quarantined so far, with why.
    pub fn quarantined(&self) -> Vec<(String, String)> {
        let q = lock(&self.shared.quarantined);
        q.iter().map(|(a, w)| (a.clone(), w.clone())).collect()
    }
}

/// Starts worker `generation`: builds the policy on its thread, restores the last
/// good states, then serves the queue until a newer generation takes over.
fn start_worker(shared: &Arc<Shared>, generation: u64) -> Result<(), PolicyError> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let s = shared.clone();
    std::thread::Builder::new()
        .name("fas-policy".into())
        .spawn(move || {
            let build = lock(&s.build).clone();
            let mut policy = match build() {
                Ok(p) => p,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let saved = lock(&s.last_good).clone();
            if let Err(e) = policy.restore_states(&saved) {
                tracing::warn!(error = %e, "some saved policy states could not be restored");
            }
            *lock(&s.label) = policy.label();
            s.lua.store(!policy.is_expr(), Ordering::SeqCst);
            let _ = ready_tx.send(Ok(()));
            serve(&s, &mut policy, generation);
        })
        .map_err(|e| PolicyError::Runtime(format!("cannot start the policy thread: {e}")))?;
    ready_rx.recv().map_err(|_| gone())?
}

fn serve(s: &Shared, policy: &mut Policy, generation: u64) {
    loop {
        let job = {
            let rx = lock(&s.rx);
            if s.generation.load(Ordering::SeqCst) != generation {
                return;
            }
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        };
        let app = match &job {
            Job::Decide(d, _) => d.app.clone(),
            _ => String::new(),
        };
        *lock(&s.current) = Some((app, Instant::now(), generation));
        run(s, policy, job);
        let mut current = lock(&s.current);
        if current.as_ref().is_some_and(|(_, _, g)| *g == generation) {
            *current = None;
        }
    }
}

/// After an app's first decision: a metric the policy read that no collector provides
/// (a typo, a missing collector) is named once, since the policy then sees nil there.
fn warn_unknown_metrics(s: &Shared, policy: &Policy, app: &str, metrics: &[(String, f64)]) {
    let mut checked = lock(&s.unknown_checked);
    // Every decision passes here: look up before allocating the app's name.
    if checked.0.contains(app) {
        return;
    }
    checked.0.insert(app.to_string());
    for name in policy.unknown_metrics() {
        if checked.1.insert(name.clone()) {
            let provided: Vec<&str> = metrics.iter().map(|(n, _)| n.as_str()).collect();
            tracing::warn!(app, metric = %name, provided = %provided.join(","),
                "the policy reads a metric no collector provides (it sees nil): check its name or add a collector");
        }
    }
}

fn run(s: &Shared, policy: &mut Policy, job: Job) {
    match job {
        Job::Decide(mut d, reply) => {
            let list = std::mem::take(&mut d.list);
            let input = AppInput {
                name: &d.app,
                now: d.now,
                interval_secs: d.interval_secs,
                round: d.round,
                machines: &d.machines,
                metrics: &d.metrics,
            };
            let result = policy.decide_full(&input, &d.errors, list);
            if !policy.is_expr() {
                warn_unknown_metrics(s, policy, &d.app, &d.metrics);
            }
            if result.is_ok() && !policy.is_expr() {
                if let Ok(state) = policy.state_json(&d.app) {
                    lock(&s.last_good).insert(d.app.clone(), state);
                }
            }
            let _ = reply.send(result);
        }
        Job::States(reply) => {
            let result = policy.states_json().map(|(mut states, bad)| {
                // A state JSON cannot hold keeps its last good value, and is named.
                let last_good = lock(&s.last_good);
                for e in bad {
                    if let PolicyError::State { app, .. } = &e {
                        tracing::warn!(app = %app, error = %e, "this app's policy state cannot be saved; keeping its last good one");
                        if let Some(v) = last_good.get(app) {
                            states.insert(app.clone(), v.clone());
                        }
                    }
                }
                states
            });
            let _ = reply.send(result);
        }
        Job::Restore(states, reply) => {
            let r = policy.restore_states(&states);
            if r.is_ok() {
                lock(&s.last_good).extend(states);
            }
            let _ = reply.send(r);
        }
        Job::Forget(app) => policy.forget(&app),
        Job::Reload(build, reply) => {
            let next = build().and_then(|mut next| {
                let (states, _) = policy.states_json()?;
                next.restore_states(&states)?;
                Ok(next)
            });
            let _ = reply.send(next.map(|next| {
                *policy = next;
                *lock(&s.build) = build;
                *lock(&s.label) = policy.label();
                s.lua.store(!policy.is_expr(), Ordering::SeqCst);
                lock(&s.quarantined).clear();
                *lock(&s.unknown_checked) = Default::default();
            }));
        }
    }
}

/// The watchdog: a job past the deadline quarantines its app and moves the queue
/// to a fresh thread.
fn watch(shared: Weak<Shared>) {
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let Some(s) = shared.upgrade() else { return };
        let stuck = lock(&s.current).clone().filter(|(_, since, g)| {
            since.elapsed() > s.watchdog && *g == s.generation.load(Ordering::SeqCst)
        });
        let Some((app, since, generation)) = stuck else {
            continue;
        };
        let policy = lock(&s.label).clone();
        let why = format!(
            "a decision ran past the watchdog's {:?} (still running after {:?}); the app stays quarantined until fas restarts or the policy is reloaded (SIGHUP)",
            s.watchdog,
            since.elapsed()
        );
        if !app.is_empty() {
            lock(&s.quarantined).insert(app.clone(), why.clone());
        }
        tracing::error!(app = %app, policy = %policy, "{why}; the other apps go on with a fresh policy state");
        let next = generation + 1;
        s.generation.store(next, Ordering::SeqCst);
        *lock(&s.current) = None;
        // Rebuilding can fail (the policy file changed on disk): try again, the queue
        // waits meanwhile.
        while let Err(e) = start_worker(&s, next) {
            tracing::error!(policy = %policy, error = %e, "cannot restart the policy; retrying in 5 s");
            std::thread::sleep(Duration::from_secs(5));
        }
    }
}
