//! Moving a fly-autoscaler deployment to fas, through the real binary: upstream's
//! Go-style flags, `eval` refusing what `serve` refuses, the status page after a
//! failed round, `verbose` meaning fas's own lines, counters at zero on the first
//! scrape, and slog-style logfmt lines.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support::served::Served;
use support::{fas, stderr, stdout, vars};

#[test]
fn upstream_go_style_flags_work() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("up.yml"),
        "created-machine-count: \"min(50, qdepth / 2)\"\n",
    )
    .unwrap();
    for flags in [
        &["-config", "up.yml"][..],
        &["-config=up.yml"],
        &["--config", "up.yml"],
    ] {
        let mut args = vec!["eval"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["-set", "qdepth=41"]);
        let o = fas(&args, &[], dir.path());
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(v["created"]["max"], 21, "{args:?}");
    }
    let o = fas(&["serve", "-help"], &[], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("--config"), "{}", stdout(&o));
}

/// Every load-time check `serve` makes, `eval` makes too (with `--set`, with the same
/// message); only the API token is not needed by `eval`.
#[test]
fn eval_refuses_what_serve_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let base = [("FAS_STARTED_MACHINE_COUNT", "q")];
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("FAS_APP_NAME", "app-[")], "is not a valid wildcard"),
        (&[("FAS_APP_NAME", "app-*")], "an org is required"),
        (
            &[("FAS_APP_NAME", "web"), ("FAS_METRICS_ADDR", "nonsense")],
            "metrics address \"nonsense\" is not host:port",
        ),
        (
            &[("FAS_APP_NAME", "web"), ("FAS_LOG_FORMAT", "xml")],
            "log format must be text, json or logfmt",
        ),
        (
            &[
                ("FAS_APP_NAME", "web"),
                ("FAS_REDIS_ADDRESS", "redis://127.0.0.1:1"),
                ("FAS_REDIS_METRIC_NAME", "q"),
            ],
            "FAS_REDIS_COMMAND",
        ),
    ];
    for (case, want) in cases {
        let mut all: Vec<(&str, &str)> = base.to_vec();
        all.extend_from_slice(case);
        let eval = fas(&["eval", "--set", "q=1"], &vars(&all), dir.path());
        all.push(("FAS_API_TOKEN", "FlyV1 fm2_x"));
        let serve = fas(&["serve"], &vars(&all), dir.path());
        let (e, s) = (stderr(&eval), stderr(&serve));
        assert_eq!(eval.status.code(), Some(1), "eval accepted {case:?}");
        assert!(e.contains(want), "eval {case:?}: {e}");
        assert_eq!(e, s, "eval and serve differ on {case:?}");
    }
}

/// A one-route HTTP server answering `{"q": 1}` while `up`, else 500.
fn flaky_metric(up: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/q", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let reply = if up.load(Ordering::SeqCst) {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 8\r\nconnection: close\r\n\r\n{\"q\": 1}"
            } else {
                "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            };
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failed_round_the_status_page_keeps_the_last_known_counts() {
    let sim = support::sched::fleet("acme/web=2").await;
    let dir = tempfile::tempdir().unwrap();
    let up = Arc::new(AtomicBool::new(true));
    let url = flaky_metric(up.clone());
    let fas = Served::start(
        &sim.url(),
        &[
            ("FAS_APP_NAME", "web"),
            ("FAS_STARTED_MACHINE_COUNT", "2"),
            ("FAS_HTTP_URL", &url),
            ("FAS_HTTP_METRIC_NAME", "q"),
            ("FAS_HTTP_JSON_POINTER", "/q"),
            ("FAS_INTERVAL", "300ms"),
        ],
        &[],
        dir.path(),
    );
    fas.wait_for("/api/apps", "a good round", |v| {
        v["apps"][0]["last"]["started"] == 2
    })
    .await;
    up.store(false, Ordering::SeqCst);
    let v = fas
        .wait_for("/api/apps", "a failed round", |v| {
            v["apps"][0]["last"]["action"] == "error"
        })
        .await;
    let last = &v["apps"][0]["last"];
    assert_eq!(
        (&last["started"], &last["created"]),
        (&2.into(), &2.into()),
        "{v}"
    );
    assert!(last["counts_from"].is_number(), "marked as last known: {v}");
    let (_, page) = fas.get("/").await;
    assert!(page.contains("2 started / 2 created"), "{page}");
    assert!(page.contains("last known at"), "{page}");
}

/// `verbose: true` adds fas's own debug lines, none of its libraries'; and every
/// documented counter series is on the first scrape, at 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_is_fas_s_own_lines_and_counters_start_at_zero() {
    let sim = support::sched::fleet("acme/web=1").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("fas.yml"), "verbose: true\n").unwrap();
    let fas = Served::start(
        &sim.url(),
        &[
            ("FAS_APP_NAME", "web"),
            ("FAS_STARTED_MACHINE_COUNT", "1"),
            ("FAS_INTERVAL", "200ms"),
        ],
        &["--config", "fas.yml"],
        dir.path(),
    );
    let first = loop {
        let (code, text) = fas.get("/metrics").await;
        if code == 200 {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for series in [
        "fas_machine_start_count{status=\"failed\"} 0",
        "fas_machine_stop_count{status=\"failed\"} 0",
        "fas_reconcile_count{status=\"destroy\"} 0",
        "fas_reconcile_errors_total{kind=\"collect\"} 0",
    ] {
        assert!(
            first.contains(series),
            "{series} missing on the first scrape:\n{first}"
        );
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = fas.stop();
    let debug: Vec<&str> = log.lines().filter(|l| l.contains("DEBUG")).collect();
    assert!(!debug.is_empty(), "verbose wrote no debug line:\n{log}");
    for line in &debug {
        assert!(
            line.contains(" fas::"),
            "a library's debug line under verbose: {line}"
        );
    }
}

/// One `key=value` pair list per line, as go-logfmt reads it: bare values end at a
/// space; quoted ones end at an unescaped quote.
fn parse_logfmt(line: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=').ok_or(format!("no '=' in {rest:?}"))?;
        if key.is_empty() || key.contains([' ', '"']) {
            return Err(format!("bad key {key:?}"));
        }
        let (value, after) = if let Some(q) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = q.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c)) => value.push(c),
                        None => return Err("escape at the end".into()),
                    },
                    Some((_, c)) => value.push(c),
                    None => return Err(format!("unterminated quote in {line:?}")),
                }
            };
            (value, &q[end + 1..])
        } else {
            let end = after.find(' ').unwrap_or(after.len());
            if after[..end].contains(['"', '=']) {
                return Err(format!("bare value {:?} needs quotes", &after[..end]));
            }
            (after[..end].to_string(), &after[end..])
        };
        out.push((key.to_string(), value));
        rest = match after.strip_prefix(' ') {
            Some(r) => r,
            None if after.is_empty() => after,
            None => return Err(format!("no space after a value: {after:?}")),
        };
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logfmt_lines_read_as_slog_writes_them() {
    let sim = support::sched::fleet("acme/web=2").await;
    let dir = tempfile::tempdir().unwrap();
    let fas = Served::start(
        &sim.url(),
        &[
            ("FAS_APP_NAME", "web"),
            ("FAS_STARTED_MACHINE_COUNT", "1"),
            ("FAS_INTERVAL", "200ms"),
            ("FAS_LOG_FORMAT", "logfmt"),
        ],
        &[],
        dir.path(),
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = fas.stop();
    let lines: Vec<Vec<(String, String)>> = log
        .lines()
        .map(|l| parse_logfmt(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(lines.len() >= 2, "{log}");
    for pairs in &lines {
        let keys: Vec<&str> = pairs.iter().take(3).map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["time", "level", "msg"], "{pairs:?}");
        assert!(["DEBUG", "INFO", "WARN", "ERROR"].contains(&pairs[1].1.as_str()));
        assert!(
            pairs[0].1.ends_with('Z') && pairs[0].1.len() == 24,
            "{pairs:?}"
        );
    }
    let acted = lines
        .iter()
        .find(|p| p[2].1 == "reconciled")
        .unwrap_or_else(|| panic!("no reconciled line:\n{log}"));
    let get = |k: &str| {
        acted
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("app"), Some("web"), "{acted:?}");
    assert_eq!(get("targets"), Some("started=1"), "{acted:?}");
}

/// Errors say what to do and say it once: an unknown metric lists the metrics there
/// are and how to add one; a Temporal error does not repeat its causes; a collector
/// that cannot be set up fails with the prefix every collection error has.
#[test]
fn errors_name_the_fix_and_say_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let o = fas(
        &["eval", "--set", "q=1"],
        &vars(&[("FAS_STARTED_MACHINE_COUNT", "qq + 1")]),
        dir.path(),
    );
    let e = stderr(&o);
    assert!(
        e.contains("unknown name qq (1:1) (metrics: q; give one with --set NAME=VALUE"),
        "{e}"
    );

    let csv = support::repo().join("examples/history/queue_depth.csv");
    let o = fas(
        &[
            "simulate",
            "--metrics",
            csv.to_str().unwrap(),
            "--expr",
            "ceil(queue / 10)",
        ],
        &[],
        dir.path(),
    );
    let e = stderr(&o);
    assert!(
        e.contains("(metrics: queue_depth; the metrics are the columns of the --metrics CSV)"),
        "{e}"
    );

    let temporal = [
        ("FAS_APP_NAME", "web"),
        ("FAS_STARTED_MACHINE_COUNT", "q"),
        ("FAS_TEMPORAL_ADDRESS", "127.0.0.1:1"),
        ("FAS_TEMPORAL_METRIC_NAME", "q"),
        ("FAS_TEMPORAL_NAMESPACE", "ns"),
    ];
    let o = fas(&["eval"], &vars(&temporal), dir.path());
    let e = stderr(&o);
    assert!(e.starts_with("ERROR: metrics collection failed: "), "{e}");
    assert_eq!(e.matches("tcp connect error").count(), 1, "{e}");

    let mut bad_key = temporal.to_vec();
    bad_key.extend([
        ("FAS_TEMPORAL_CERT_DATA", "x"),
        ("FAS_TEMPORAL_KEY_DATA", "y"),
    ]);
    let o = fas(&["eval"], &vars(&bad_key), dir.path());
    let e = stderr(&o);
    assert!(e.starts_with("ERROR: metrics collection failed: "), "{e}");
    assert!(e.contains("TLS"), "{e}");
}
