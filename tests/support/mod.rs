//! Helpers shared by the integration tests that run the `fas` binary.
#![allow(dead_code)]

pub mod cluster_rig;
pub mod drain;
pub mod nats_jwt;
pub mod nats_setup;
pub mod rig;
pub mod sched;
pub mod served;
pub mod servers;
pub mod simapi;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Environment pairs as `fas` takes them.
pub fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs `fas` with exactly the given environment (nothing inherited but PATH).
pub fn fas(args: &[&str], env: &[(String, String)], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fas"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .output()
        .expect("fas runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}{}", stdout(o), stderr(o)))
}

/// `fas` as `fas()` runs it, with its peak memory (KiB, the kernel's VmHWM of the
/// child's own image, polled while it runs: `ru_maxrss` would count this test process,
/// whose memory the child inherits until exec) and how long it took: for attacks whose
/// damage is memory or time.
pub fn fas_measured(
    args: &[&str],
    env: &[(String, String)],
    dir: &Path,
) -> (Output, u64, std::time::Duration) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fas"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("fas runs");
    let status_file = format!("/proc/{}/status", child.id());
    let peak = std::thread::spawn(move || {
        let mut peak = 0u64;
        // Until the process is gone (or a zombie, whose status has no VmHWM line).
        while let Some(kib) = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            peak = peak.max(kib);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        peak
    });
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let mut stdout = Vec::new();
    let _ = out.read_to_end(&mut stdout);
    let stderr = reader.join().unwrap();
    let peak = peak.join().unwrap();
    let status = child.wait().unwrap();
    (
        Output {
            status,
            stdout,
            stderr,
        },
        peak,
        started.elapsed(),
    )
}

/// Whether `text` holds any 6-character piece of `secret` (a secret cut in half leaks).
pub fn leaks(text: &str, secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(6)
        .any(|w| text.contains(&w.iter().collect::<String>()))
}
