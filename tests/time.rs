//! Time you can set: `fas eval --now` and schedules in real time zones, as a user
//! runs them (the real binary).

mod support;

use support::{fas, repo, stderr, stdout, vars};

fn assert_fails_with(o: &std::process::Output, prefix: &str) {
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    assert_eq!(stdout(o), "", "stdout must stay empty on failure");
    assert!(
        stderr(o).starts_with(prefix),
        "want {prefix:?}, got {:?}",
        stderr(o)
    );
}

/// `--now` sets the instant a schedule, `app.now` and Expr's `now()` see: one policy
/// with a Berlin business-hours floor, evaluated either side of 08:00 on the Sunday the
/// clocks spring forward and the Sunday before (a weekend window here, for the date).
#[test]
fn now_sets_the_instant_a_schedule_sees() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.lua");
    std::fs::write(
        &policy,
        r#"local hours = require("fas.schedule").new({ { "Sun 08:00-18:00 Europe/Berlin", min = 3 } })
function scale(m, app) return { started = hours:apply(app, m.q) } end
"#,
    )
    .unwrap();
    let eval = |now: &str| {
        let p = policy.to_str().unwrap();
        fas(
            &["eval", "--policy", p, "--set", "q=0", "--now", now],
            &vars(&[]),
            &repo(),
        )
    };
    let started = |o: &std::process::Output| {
        assert!(o.status.success(), "{}", stderr(o));
        let v: serde_json::Value = serde_json::from_str(&stdout(o)).unwrap();
        v["started"]["min"].as_i64().unwrap()
    };
    // Winter: 08:00 CET is 07:00 UTC. Summer (from 2026-03-29): 08:00 CEST is 06:00 UTC.
    assert_eq!(started(&eval("2026-03-22T06:59:59Z")), 0);
    assert_eq!(started(&eval("2026-03-22T07:00:00Z")), 3);
    assert_eq!(started(&eval("2026-03-29T05:59:59Z")), 0);
    assert_eq!(started(&eval("2026-03-29T08:00:00+02:00")), 3);
    let bad = eval("yesterday");
    assert_fails_with(&bad, "ERROR: --now \"yesterday\": not an RFC 3339 time");
    let expr = fas(
        &["eval", "--set", "q=1", "--now", "2026-03-29T06:00:00Z"],
        &vars(&[("FAS_STARTED_MACHINE_COUNT", "now().Hour()")]),
        &repo(),
    );
    assert_eq!(started(&expr), 6, "Expr's now() is --now (UTC)");
}
