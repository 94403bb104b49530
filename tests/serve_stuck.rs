//! `fas serve` with a policy that `require`s, for one app, a module that is a FIFO
//! nobody writes — a read that once blocked where no hook reaches (the watchdog then
//! quarantined the app). Every file now goes through the bounded reader, which refuses
//! a FIFO by name at once: that app's rounds fail with the reason, it is never stuck
//! (so not quarantined), the other app goes on, and SIGTERM exits promptly with the
//! state saved. (The watchdog itself is tested in tests/policy_watchdog.rs.)

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

const POLICY: &str = r#"
function scale(metrics, app)
  if app.name == "stuck" then require("pipe") end
  app.state.n = (app.state.n or 0) + 1
  return { started = 1 }
end
"#;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_module_is_refused_at_once_and_sigterm_still_exits_with_state_saved() {
    let s = support::sched::fleet("acme/good=1,acme/stuck=1").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.lua"), POLICY).unwrap();
    let fifo = dir.path().join("pipe.lua");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_fas"))
        .arg("serve")
        .env_clear()
        .env("FAS_APP_NAME", "*")
        .env("FAS_ORG", "acme")
        .env("FAS_POLICY", dir.path().join("policy.lua"))
        .env("FAS_API_TOKEN", "FlyV1 fm2_serve_stuck")
        .env("FAS_MACHINES_API_URL", s.url())
        .env("FAS_GRAPHQL_URL", format!("{}/graphql", s.url()))
        .env("FAS_INTERVAL", "300ms")
        .env("FAS_CONCURRENCY", "2")
        .env("FAS_METRICS_ADDR", format!("127.0.0.1:{port}"))
        .env("FAS_STATE_PATH", dir.path().join("state.json"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    let mut text = String::new();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        text = match reqwest::get(&metrics).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => continue,
        };
        if text.contains("fas_policy_errors_total{app=\"stuck\"") {
            break;
        }
    }
    assert!(
        text.contains("fas_policy_errors_total{app=\"stuck\"")
            && !text.contains("fas_policy_quarantined{app=\"stuck\"} 1"),
        "{text}"
    );
    // The good app keeps deciding (at most one round a second: the client keeps under
    // Fly's list rate limit).
    let rounds = |t: &str| {
        t.lines()
            .filter(|l| l.starts_with("fas_reconcile_count"))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap_or(0))
            .sum::<u64>()
    };
    let before = rounds(&text);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let now = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    let after = rounds(&now);
    assert!(
        after >= before + 2,
        "rounds went from {before} to {after}: {now}"
    );

    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "took {:?}",
        sent.elapsed()
    );
    assert!(
        stderr.contains("is a FIFO, not a regular file"),
        "the log names it: {stderr}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("state.json")).unwrap())
            .unwrap();
    assert!(
        saved["apps"]["good"]["n"].as_f64().unwrap() >= 5.0,
        "{saved}"
    );
}
