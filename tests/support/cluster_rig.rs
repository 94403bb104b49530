//! Several `fas serve` processes sharing apps through a real PostgreSQL, against one
//! simulator: the database, the fleet, the instances (each with its own token and
//! Machine id), and readings of the simulator's request log by caller.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::served::Served;
use super::servers;

pub const APPS: usize = 60;
pub const INTERVAL_MS: u64 = 1000;
/// The default lease: twice the interval.
pub const LEASE_MS: u64 = 2 * INTERVAL_MS;
pub const PASSWORD: &str = "Pq7zx9Wv3kT";
/// Counts its decisions in `app.state.n`, and moves every app between 1 and 2
/// Machines every 4 s (by the wall clock, so all instances agree on the target).
pub const COUNTING: &str = "function scale(m, app)
  app.state.n = (app.state.n or 0) + 1
  local phase = math.floor(app.now / 4) % 2
  return { created = 1 + phase }
end
";
const MUTATING: &[&str] = &["create", "start", "stop", "destroy", "suspend"];

pub struct Rig {
    pub db: servers::Server,
    pub url: String,
    pub sim: fas::sim::SimServer,
    dir: tempfile::TempDir,
    dirs: Mutex<Vec<tempfile::TempDir>>,
}

impl Rig {
    /// None where PostgreSQL is missing outside CI (`servers::require`).
    pub async fn start(policy: &str) -> Option<Rig> {
        let db = tokio::task::spawn_blocking(|| servers::postgres(PASSWORD, None))
            .await
            .unwrap()?;
        let url = format!(
            "postgres://fas:{PASSWORD}@{}/postgres?sslmode=disable",
            db.url
        );
        let sim = super::sched::fleet(&format!("acme/clu-*=1*{APPS}")).await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("policy.lua"), policy).unwrap();
        Some(Rig {
            db,
            url,
            sim,
            dir,
            dirs: Mutex::default(),
        })
    }

    /// `fas serve` as Machine `name`, with the database at `url` (the rig's, or a proxy's).
    pub fn instance_via(&self, name: &str, url: &str) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let policy = self.dir.path().join("policy.lua");
        let token = format!("FlyV1 fm2_{name}");
        let env = [
            ("FAS_APP_NAME", "clu-*"),
            ("FAS_ORG", "acme"),
            ("FAS_POLICY", policy.to_str().unwrap()),
            ("FAS_INTERVAL", "1s"),
            ("FAS_TIMEOUT", "1s"),
            ("FAS_WATCH_INTERVAL", "0"),
            ("FAS_CONCURRENCY", "8"),
            ("FAS_CLUSTER_URL", url),
            ("FLY_MACHINE_ID", name),
            ("FLY_REGION", "iad"),
            ("FAS_API_TOKEN", token.as_str()),
        ];
        let served = Served::start(&self.sim.url(), &env, &[], dir.path());
        self.dirs.lock().unwrap().push(dir);
        served
    }

    pub fn instance(&self, name: &str) -> Served {
        self.instance_via(name, &self.url)
    }

    /// The simulator's log fingerprint of instance `name`'s token.
    pub fn caller(&self, name: &str) -> String {
        format!(
            "{:08x}",
            fas::cluster::fnv1a(format!("fm2_{name}").as_bytes()) >> 32
        )
    }

    pub async fn sim_ms(&self) -> u64 {
        self.sim.sim.elapsed_ms()
    }

    /// The wall-clock time of the simulator's ms 0, to line its log up with the
    /// instances' (RFC 3339, UTC).
    pub fn sim_started_at(&self) -> String {
        let since = Duration::from_millis(self.sim.sim.elapsed_ms());
        let at = std::time::SystemTime::now() - since;
        let unix = at.duration_since(std::time::UNIX_EPOCH).unwrap();
        let secs = fas::clock::timestamp(unix.as_secs());
        format!(
            "{}.{:03}Z",
            secs.trim_end_matches('Z'),
            unix.subsec_millis()
        )
    }

    pub async fn log(&self) -> Vec<fas::sim::LogEntry> {
        self.sim
            .sim
            .faults
            .lock()
            .unwrap()
            .log
            .iter()
            .cloned()
            .collect()
    }

    /// Waits until `instances` are the live members and each owns shards.
    pub async fn wait_split(&self, instances: &[&Served]) {
        let start = Instant::now();
        loop {
            let mut owned = Vec::new();
            for s in instances {
                let v = s.json("/api/cluster").await;
                let members = v["members"].as_array().map_or(0, Vec::len);
                owned.push((members, v["shards_owned"].as_u64().unwrap_or(0)));
            }
            let total: u64 = owned.iter().map(|(_, n)| n).sum();
            let settled = owned.iter().all(|(m, n)| *m == instances.len() && *n > 0);
            if settled && total == 1024 {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the instances did not split the shards in 30 s: {owned:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The apps `s` owns, by its `/api/cluster`.
    pub async fn apps_of(&self, s: &Served) -> Vec<String> {
        let v = s.json("/api/cluster").await;
        let me = v["member"].clone();
        v["apps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["owner"] == me)
            .map(|a| a["app"].as_str().unwrap().to_string())
            .collect()
    }

    /// Each app's decision count, as kept in the database.
    pub async fn counts(&self) -> BTreeMap<String, i64> {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        let rows = client
            .query("SELECT app, (state->>'n')::bigint FROM fas_app_state", &[])
            .await
            .unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }
}

/// App -> caller -> list calls in [t0, t1).
pub fn listers(
    log: &[fas::sim::LogEntry],
    t0: u64,
    t1: u64,
) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for e in log
        .iter()
        .filter(|e| e.action == "list" && (t0..t1).contains(&e.at_ms))
    {
        *out.entry(e.app.clone())
            .or_default()
            .entry(e.caller.clone())
            .or_default() += 1;
    }
    out
}

/// When `app` was first listed after `t` by a caller other than `not`.
pub fn first_list_after(log: &[fas::sim::LogEntry], app: &str, t: u64, not: &str) -> Option<u64> {
    log.iter()
        .filter(|e| e.action == "list" && e.app == app && e.at_ms >= t && e.caller != not)
        .map(|e| e.at_ms)
        .min()
}

/// For a failure's message: when each of `apps` was first listed after `t` (ms after
/// it) and by which of the instances `names`.
pub fn first_lists(
    rig: &Rig,
    log: &[fas::sim::LogEntry],
    apps: &[String],
    t: u64,
    names: &[&str],
) -> String {
    let name_of = |caller: &str| {
        names
            .iter()
            .find(|n| rig.caller(n) == caller)
            .map_or(caller.to_string(), |n| n.to_string())
    };
    apps.iter()
        .map(|app| {
            let first = log
                .iter()
                .find(|e| e.action == "list" && e.app == *app && e.at_ms >= t);
            match first {
                Some(e) => format!("{app} +{} ms by {}", e.at_ms - t, name_of(&e.caller)),
                None => format!("{app} never"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every app of `apps` was listed by an instance other than `not` within `within` ms
/// of `since`.
pub fn taken_over(log: &[fas::sim::LogEntry], apps: &[String], since: u64, not: &str, within: u64) {
    for app in apps {
        let took = first_list_after(log, app, since, not).map(|t| t - since);
        assert!(
            took.is_some_and(|t| t <= within),
            "{app} taken over after {took:?} ms (at most {within} ms)"
        );
    }
}

/// No app changed by two instances within one interval: between two calls that
/// change an app's Machines from different instances, at least an interval passes
/// (less 100 ms: the log stamps a call when answered, not when sent).
pub fn no_double_actions(log: &[fas::sim::LogEntry]) {
    let mut by_app: BTreeMap<&str, Vec<&fas::sim::LogEntry>> = BTreeMap::new();
    for e in log.iter().filter(|e| MUTATING.contains(&e.action.as_str())) {
        by_app.entry(&e.app).or_default().push(e);
    }
    let mut acted = 0;
    for (app, calls) in by_app {
        acted += 1;
        for w in calls.windows(2) {
            let (x, y) = (w[0], w[1]);
            if x.caller != y.caller {
                assert!(
                    y.at_ms - x.at_ms >= INTERVAL_MS - 100,
                    "{app} changed by two instances within one interval: {} {} at {} ms by {}, {} {} at {} ms by {}",
                    x.action, x.path, x.at_ms, x.caller, y.action, y.path, y.at_ms, y.caller
                );
            }
        }
    }
    assert!(
        acted > 0,
        "no app was ever acted on: the check proves nothing"
    );
}

/// A TCP proxy to the database that a test can cut: a partition, not a refusal —
/// while cut, bytes stop both ways and connections hang (new ones too); healing
/// drops the hung connections and forwards new ones again.
pub struct Proxy {
    pub addr: String,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Proxy {
    pub async fn start(upstream: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (cut, _) = tokio::sync::watch::channel(false);
        let (up, state) = (upstream.to_string(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let (up, mut cut) = (up.clone(), state.subscribe());
                tokio::spawn(async move {
                    let now_cut = *cut.borrow();
                    if now_cut {
                        let _ = cut.wait_for(|c| !*c).await;
                        return;
                    }
                    let Ok(mut server) = tokio::net::TcpStream::connect(&up).await else {
                        return;
                    };
                    let was_cut = tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
                        r = cut.wait_for(|c| *c) => r.is_ok(),
                    };
                    if was_cut {
                        let _ = cut.wait_for(|c| !*c).await;
                    }
                });
            }
        });
        Proxy { addr, cut }
    }

    /// The URL of the rig's database through this proxy.
    pub fn url(&self, rig: &Rig) -> String {
        rig.url.replace(&rig.db.url, &self.addr)
    }

    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    pub fn heal(&self) {
        self.cut.send_replace(false);
    }
}

/// Calls that changed Machines, by `caller`, in [t0, t1).
pub fn actions_by(log: &[fas::sim::LogEntry], caller: &str, t0: u64, t1: u64) -> Vec<u64> {
    log.iter()
        .filter(|e| MUTATING.contains(&e.action.as_str()) && e.caller == caller)
        .filter(|e| (t0..t1).contains(&e.at_ms))
        .map(|e| e.at_ms)
        .collect()
}

/// Calls that changed Machines, by anyone, in [t0, t1).
pub fn actions_in(log: &[fas::sim::LogEntry], t0: u64, t1: u64) -> usize {
    log.iter()
        .filter(|e| MUTATING.contains(&e.action.as_str()) && (t0..t1).contains(&e.at_ms))
        .count()
}

/// An instance's log lines about its membership (shards gained and lost, the
/// database lost and found), for a failure's message.
pub fn cluster_lines(s: &Served) -> String {
    s.log()
        .lines()
        .filter(|l| l.contains("fas::cluster::membership") || l.contains("clustering on"))
        .collect::<Vec<_>>()
        .join("\n")
}
