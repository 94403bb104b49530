//! `fas eval` as a user runs it: upstream's JSON on stdout, and on failure exit status
//! 1, nothing on stdout, one `ERROR:` line on stderr, and never a secret.

mod support;

use support::{fas, repo, stderr, stdout, vars};

fn assert_fails_with(o: &std::process::Output, prefix: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert_eq!(stdout(o), "", "stdout must stay empty on failure");
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with(prefix), "want {prefix:?}, got {err:?}");
}

#[test]
fn prints_upstream_json_for_a_single_count() {
    let o = fas(
        &["eval", "--set", "qdepth=41"],
        &vars(&[("FAS_CREATED_MACHINE_COUNT", "min(50, qdepth / 2)")]),
        &repo(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "{\n  \"created\": {\n    \"min\": 21,\n    \"max\": 21\n  },\n  \"started\": {\n    \"min\": null,\n    \"max\": null\n  }\n}\n"
    );
}

#[test]
fn min_max_pairs_and_both_dimensions() {
    let o = fas(
        &["eval", "--set", "q=10", "--set", "r=-0.0"],
        &vars(&[
            ("FAS_MIN_CREATED_MACHINE_COUNT", "q"),
            ("FAS_MAX_CREATED_MACHINE_COUNT", "q * 2"),
            ("FAS_STARTED_MACHINE_COUNT", "r"),
        ]),
        &repo(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"created": {"min": 10, "max": 20}, "started": {"min": 0, "max": 0}})
    );
}

#[test]
fn errors_are_one_line_with_upstream_classes() {
    let cases = [
        ("nosuch + 1", "ERROR: cannot calculate min started machine count: compile expression: unknown name nosuch (1:1)"),
        ("[1][3]", "ERROR: cannot calculate min started machine count: execute expression: index out of range"),
        ("q / 0 * 0", "ERROR: cannot calculate min started machine count: expression returned NaN"),
        ("q / 0", "ERROR: cannot calculate min started machine count: expression returned Inf"),
    ];
    for (expr, want) in cases {
        let o = fas(
            &["eval", "--set", "q=1"],
            &vars(&[("FAS_STARTED_MACHINE_COUNT", expr)]),
            &repo(),
        );
        assert_fails_with(&o, want);
    }
}

#[test]
fn set_accepts_any_float_and_rejects_the_rest() {
    for (value, want) in [
        ("NaN", "expression returned NaN"),
        ("inf", "returned Inf"),
        ("-inf", "returned Inf"),
    ] {
        let o = fas(
            &["eval", "--set", &format!("q={value}")],
            &vars(&[("FAS_STARTED_MACHINE_COUNT", "q")]),
            &repo(),
        );
        assert!(stderr(&o).contains(want), "{value}: {}", stderr(&o));
    }
    let o = fas(
        &["eval", "--set", "q=lots"],
        &vars(&[("FAS_STARTED_MACHINE_COUNT", "q")]),
        &repo(),
    );
    assert_fails_with(&o, "ERROR: --set \"q=lots\": \"lots\" is not a number");
    let o = fas(
        &["eval", "--set", "q"],
        &vars(&[("FAS_STARTED_MACHINE_COUNT", "q")]),
        &repo(),
    );
    assert_fails_with(&o, "ERROR: --set \"q\": expected NAME=VALUE");
}

#[test]
fn lua_policy_errors_show_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.lua"),
        "function scale(m, app)\n  return { started = m.q + nil }\nend\n",
    )
    .unwrap();
    let o = fas(
        &["eval", "--policy", "p.lua", "--set", "q=1"],
        &[],
        dir.path(),
    );
    assert_fails_with(&o, "ERROR: policy error: p.lua:2:");
}

#[test]
fn invalid_config_fails_before_anything_else() {
    let o = fas(
        &["eval"],
        &vars(&[("FAS_STARTED_MACHINE_COUNT", "1")]),
        &repo(),
    );
    assert_fails_with(&o, "ERROR: app name required");
}

#[test]
fn secrets_never_appear_in_output() {
    let secret = "FlyV1 fm2_TOPSECRET";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        format!("app-name: a\napi-token: {secret}\nbogus: 1\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("bad2.yml"),
        "app-name: a\nconcurrency: \"${FAS_API_TOKEN}\"\n",
    )
    .unwrap();
    let runs = [
        fas(
            &["eval", "--config", "bad.yml", "--set", "q=1"],
            &vars(&[]),
            dir.path(),
        ),
        fas(
            &["eval", "--config", "bad2.yml", "--set", "q=1"],
            &vars(&[("FAS_API_TOKEN", secret)]),
            dir.path(),
        ),
        fas(
            &["eval", "--set", "q=1"],
            &vars(&[
                ("FAS_API_TOKEN", secret),
                ("FAS_PROMETHEUS_TOKEN", secret),
                ("FAS_STARTED_MACHINE_COUNT", "x"),
            ]),
            dir.path(),
        ),
        fas(
            &["eval", "--set", "q=1"],
            &vars(&[
                ("FAS_API_TOKEN", secret),
                ("FAS_STARTED_MACHINE_COUNT", "q"),
            ]),
            dir.path(),
        ),
    ];
    for o in &runs {
        let all = format!("{}{}", stdout(o), stderr(o));
        assert!(!all.contains("TOPSECRET"), "secret leaked: {all}");
    }
    assert!(!runs[0].status.success() && !runs[1].status.success() && !runs[2].status.success());
    assert!(runs[3].status.success());
}

#[test]
fn show_lua_prints_the_translation() {
    let o = fas(
        &["eval", "--show-lua", "--set", "q=1"],
        &vars(&[("FAS_STARTED_MACHINE_COUNT", "q % 2")]),
        &repo(),
    );
    assert_fails_with(&o, "ERROR: cannot calculate min started machine count: compile expression: invalid operation: %");
    let o = fas(
        &["eval", "--show-lua", "--set", "q=1"],
        &vars(&[("FAS_STARTED_MACHINE_COUNT", "ceil(q / 10)")]),
        &repo(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("function scale(metrics, clock)"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_min_above_its_max_is_an_error_not_a_flap() {
    let o = fas(
        &["eval", "--set", "q=10"],
        &vars(&[
            ("FAS_MIN_STARTED_MACHINE_COUNT", "q"),
            ("FAS_MAX_STARTED_MACHINE_COUNT", "q / 2"),
        ]),
        &repo(),
    );
    assert_fails_with(
        &o,
        "ERROR: cannot calculate started machine count: min started machine count (10) is above max started machine count (5)",
    );
    assert!(stderr(&o).contains("FAS_MIN_STARTED_MACHINE_COUNT / FAS_MAX_STARTED_MACHINE_COUNT"));
}

/// Deep or long Expr never overflows a stack: within the limit it works, past it the
/// same clear compile error comes from `eval` and from `serve` (at start, before
/// anything is scaled).
#[test]
fn deep_and_long_expressions_get_a_clear_error_in_every_command() {
    let sum = |n: usize| vec!["q"; n].join(" + ");
    let ok = fas(
        &["eval", "--set", "q=1"],
        &vars(&[("FAS_STARTED_MACHINE_COUNT", sum(60).as_str())]),
        &repo(),
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("60"), "{}", stdout(&ok));
    let split = format!("let a = {}; a + {}", sum(60), sum(60));
    let ok = fas(
        &["eval", "--set", "q=1"],
        &vars(&[("FAS_STARTED_MACHINE_COUNT", split.as_str())]),
        &repo(),
    );
    assert!(
        stdout(&ok).contains("120"),
        "a top-level let does not nest: {}{}",
        stdout(&ok),
        stderr(&ok)
    );
    let deep = [
        sum(20_000),
        format!("{}q{}", "(".repeat(20_000), ")".repeat(20_000)),
        format!("{}q", "-".repeat(20_000)),
        format!("{}q{}", "abs(".repeat(5_000), ")".repeat(5_000)),
        format!("{}1{}", "(q > 1 ? ".repeat(5_000), " : 2)".repeat(5_000)),
    ];
    let want = "ERROR: cannot calculate min started machine count: compile expression: expression nested too deeply: more than 64 levels";
    for e in &deep {
        let o = fas(
            &["eval", "--set", "q=1"],
            &vars(&[("FAS_STARTED_MACHINE_COUNT", e.as_str())]),
            &repo(),
        );
        assert_fails_with(&o, want);
        let o = fas(
            &["serve"],
            &vars(&[
                ("FAS_APP_NAME", "web"),
                ("FAS_STARTED_MACHINE_COUNT", e.as_str()),
                ("FAS_API_TOKEN", "FlyV1 fm2_x"),
                ("FAS_MACHINES_API_URL", "http://127.0.0.1:9"),
                ("FAS_METRICS_ADDR", "127.0.0.1:0"),
            ]),
            &repo(),
        );
        assert_fails_with(&o, want);
    }
}

#[test]
fn print_goes_to_the_log_not_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.lua");
    std::fs::write(
        &path,
        "function scale(m, app)\n  print('deciding', m.q, ('x'):rep(5000))\n  return { started = 2 }\nend\n",
    )
    .unwrap();
    let o = fas(
        &["eval", "--set", "q=3"],
        &vars(&[("FAS_POLICY", path.to_str().unwrap())]),
        &repo(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("stdout is JSON only");
    assert_eq!(v["started"]["min"], 2);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("policy print") && err.contains("deciding\t3.0\txxx"),
        "{err}"
    );
    assert!(err.len() < 1300, "capped: {} bytes", err.len());
    assert!(
        !err.contains('\x1b'),
        "no colour codes off a terminal: {err:?}"
    );
}

/// Every error path that can quote a configured value: the value expanded from a
/// secret-looking variable is redacted wherever it lands.
#[test]
fn expanded_secrets_are_redacted_on_every_error_path() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        "interval: ${FAS_API_TOKEN}",
        "started-machine-count: ${FAS_API_TOKEN}",
        "policy: /x/${FAS_API_TOKEN}.lua",
        "${FAS_API_TOKEN}: 1",
        "initial-machine-state: ${MY_DB_PASSWORD}\nstarted-machine-count: 1",
        "stop-mode: ${MY_DB_PASSWORD}\nstarted-machine-count: 1",
        "app-list-refresh-interval: ${MY_DB_PASSWORD}",
        "created-machine-count: q\nmetric-collectors: [{type: prometheus, metric-name: q, address: \"http://127.0.0.1:9/${PROM_TOKEN}\", query: up}]",
        // A Prometheus that echoes the query in its error, as a real one does.
        "created-machine-count: q\nmetric-collectors: [{type: prometheus, metric-name: q, address: \"ECHO\", query: \"up{k='${PROM_TOKEN}'} +\"}]",
    ];
    let echo = echoing_prometheus();
    for body in cases {
        let path = dir.path().join("fas.yml");
        let body = body.replace("ECHO", &echo);
        std::fs::write(&path, format!("app-name: web\n{body}\n")).unwrap();
        let o = fas(
            &["eval", "--config", path.to_str().unwrap()],
            &vars(&[
                ("FAS_API_TOKEN", "FlyV1 fm2_SUPERSECRETTOKEN123"),
                ("MY_DB_PASSWORD", "hunter2hunter2"),
                ("PROM_TOKEN", "promSECRETvalue"),
            ]),
            &repo(),
        );
        let all = format!("{}{}", stdout(&o), stderr(&o));
        assert!(!o.status.success(), "{body}: {all}");
        for secret in ["SUPERSECRET", "hunter2", "promSECRET"] {
            assert!(!all.contains(secret), "{body}: {all}");
        }
        assert!(
            all.contains("<redacted>") || all.contains("must be either"),
            "{body}: {all}"
        );
    }
}

/// An HTTP server answering every request with a Prometheus-style error that quotes
/// the request body (the form-encoded query).
fn echoing_prometheus() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut c) = conn else { continue };
            let mut buf = [0u8; 8192];
            let n = c.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let body = req.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
            let answer = serde_json::json!({"status": "error", "errorType": "bad_data", "error": format!("parse error in {body}")}).to_string();
            let _ = write!(
                c,
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_policy_reading_a_metric_nobody_provides_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.lua");
    std::fs::write(
        &policy,
        "function scale(metrics, app)\n  return { started = math.ceil((metrics.queue_dept or 0) / 10) }\nend\n",
    )
    .unwrap();
    let args = [
        "eval",
        "--policy",
        policy.to_str().unwrap(),
        "--set",
        "queue_depth=95",
    ];
    let o = fas(&args, &vars(&[("FAS_APP_NAME", "web")]), &repo());
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("`queue_dept`") && err.contains("provided: queue_depth"),
        "{err}"
    );
    // Spelled right, nothing to say.
    std::fs::write(
        &policy,
        "function scale(metrics, app)\n  return { started = math.ceil(metrics.queue_depth / 10) }\nend\n",
    )
    .unwrap();
    let o = fas(&args, &vars(&[("FAS_APP_NAME", "web")]), &repo());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    assert!(stdout(&o).contains("\"min\": 10"), "{}", stdout(&o));
}
