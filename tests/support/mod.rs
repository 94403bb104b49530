//! Helpers shared by the integration tests that run the `fas` binary.
#![allow(dead_code)]

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
