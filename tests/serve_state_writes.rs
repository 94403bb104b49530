//! The state file is written only when some app's state changed: a policy whose
//! state settles (fas.stabilize over a steady recommendation) leaves it untouched
//! round after round, while one that changes its state every round rewrites it each
//! interval (which shows the count sees writes at all). Both leave the fleet alone, so
//! the rounds are quick.

mod support;

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use support::served::Served;

/// Distinct versions of `path` seen over `secs` (polled every 10 ms; fas replaces the
/// file by a rename, so each write is a new inode).
async fn versions(path: &std::path::Path, secs: f64) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < secs {
        if let Ok(m) = std::fs::metadata(path) {
            seen.insert((m.ino(), m.mtime_nsec(), m.size()));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    seen.len()
}

async fn writes_over_quiet_rounds(policy: &str) -> usize {
    let sim = support::sched::fleet("acme/quiet=2").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policy.lua"), policy).unwrap();
    let state = dir.path().join("state.json");
    let served = Served::start(
        &sim.url(),
        &[
            ("FAS_APP_NAME", "quiet"),
            ("FAS_POLICY", "policy.lua"),
            ("FAS_INTERVAL", "1s"),
            ("FAS_WATCH_INTERVAL", "0"),
            ("FAS_STATE_PATH", state.to_str().unwrap()),
        ],
        &[],
        dir.path(),
    );
    // The first rounds write the state it settles to.
    let start = Instant::now();
    while !state.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no state file:\n{}",
            served.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Then 6 rounds (fas paces one app's list calls as Fly limits them, about one a
    // second): every version beyond the one there is a write.
    let n = versions(&state, 6.0).await - 1;
    drop(served);
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_state_is_never_rewritten() {
    let quiet = writes_over_quiet_rounds(
        "local s = require('fas.stabilize')\nfunction scale(m, app) s.down(app, 2, 300) return {} end\n",
    )
    .await;
    assert_eq!(quiet, 0, "writes over 6 quiet rounds");
    let busy = writes_over_quiet_rounds(
        "function scale(m, app) app.state.n = (app.state.n or 0) + 1 return {} end\n",
    )
    .await;
    assert!(
        busy >= 4,
        "a state that changes each round is written each round: {busy}"
    );
}
