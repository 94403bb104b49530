//! `fas serve` as a user runs it: the real binary, configured by environment (and
//! `--config`), against a simulator; its status API polled over HTTP; signals sent with
//! `kill`. Killed on drop.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT` of /metrics, the status page and /api/apps.
    pub base: String,
    /// Where stderr goes (a file: a pipe nobody reads would block fas).
    pub log: std::path::PathBuf,
}

impl Served {
    /// Starts `fas serve ARGS` in `dir` with the simulator at `sim` and `env`.
    pub fn start(sim: &str, env: &[(&str, &str)], args: &[&str], dir: &Path) -> Served {
        let port = super::servers::free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_fas"))
            .arg("serve")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("FAS_API_TOKEN", "FlyV1 fm2_served")
            .env("FAS_MACHINES_API_URL", sim)
            .env("FAS_GRAPHQL_URL", format!("{sim}/graphql"))
            .env("FAS_METRICS_ADDR", format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("fas.log")).unwrap())
            .spawn()
            .expect("fas runs");
        Served {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: dir.join("fas.log"),
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        match reqwest::get(format!("{}{path}", self.base)).await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }

    pub async fn json(&self, path: &str) -> Value {
        let (_, body) = self.get(path).await;
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    /// Polls `path` (JSON) until `ok` holds, for up to 30 s; panics with the last answer.
    pub async fn wait_for(&self, path: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let v = self.json(path).await;
            if ok(&v) {
                return v;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "waited 30 s for {what}; {path} answered {v}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The value of a series on /metrics (`name{labels}` as printed), if present.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics").await;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM, waits for the exit, and returns the log.
    pub fn stop(mut self) -> String {
        self.signal("TERM");
        let _ = self.child.wait();
        self.log()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
