//! What `fas serve` writes to stderr, as Fly's log capture sees it (not a terminal):
//! no ANSI colour codes; a round that changes nothing is not logged at the default
//! level; a round that acts is, with `targets` and `metrics` as `name=value` text,
//! which in `--log-format json` are JSON strings, not Rust Debug text.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

mod support;

fn serve(url: &str, json: bool, seconds: u64) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fas"));
    cmd.arg("serve");
    if json {
        cmd.args(["--log-format", "json"]);
    }
    let mut child = cmd
        .env_clear()
        .env("FAS_APP_NAME", "*")
        .env("FAS_ORG", "acme")
        .env("FAS_STARTED_MACHINE_COUNT", "1")
        .env("FAS_API_TOKEN", "FlyV1 fm2_serve_logs")
        .env("FAS_MACHINES_API_URL", url)
        .env("FAS_GRAPHQL_URL", format!("{url}/graphql"))
        .env("FAS_INTERVAL", "200ms")
        .env("FAS_METRICS_ADDR", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(seconds));
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let mut text = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_rounds_are_quiet_and_fields_are_plain_text() {
    // One app with two started Machines and a target of one: a round stops one, the
    // rest are steady.
    let s = support::sched::fleet("acme/web=2").await;
    let text = tokio::task::spawn_blocking({
        let url = s.url();
        move || serve(&url, false, 3)
    })
    .await
    .unwrap();
    assert!(
        !text.contains('\u{1b}'),
        "ANSI codes in captured logs:\n{text}"
    );
    let reconciled: Vec<&str> = text.lines().filter(|l| l.contains("reconciled")).collect();
    // 3 s at 200 ms is ~15 rounds; steady ones must not be logged at info.
    assert!(reconciled.len() <= 3, "steady rounds logged:\n{text}");
    assert!(!text.contains("Some("), "Debug text in logs:\n{text}");

    let s = support::sched::fleet("acme/api=2").await;
    let json = tokio::task::spawn_blocking({
        let url = s.url();
        move || serve(&url, true, 2)
    })
    .await
    .unwrap();
    let acted = json
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["fields"]["message"] == "reconciled")
        .unwrap_or_else(|| panic!("no reconciled line for an acting round:\n{json}"));
    assert_eq!(acted["fields"]["targets"], "started=1", "{acted}");
    assert!(acted["fields"]["action"].is_string(), "{acted}");
}
