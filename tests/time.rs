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

/// Expr's `date(s, layout, zone)` reads the wall clock in a real zone from the same
/// database, as Go's time.ParseInLocation does (the answers are Go's): the hour the
/// clocks skip resolves after the jump, the hour they repeat to the later occurrence
/// east of UTC and the earlier west of it (time.Date's rule), a matching offset in the
/// text keeps the zone and another one stays fixed, and `Add` is absolute time.
#[test]
fn expr_dates_in_real_zones_answer_as_go() {
    let count = |expr: &str| {
        let o = fas(
            &["eval", "--set", "q=1"],
            &vars(&[("FAS_STARTED_MACHINE_COUNT", expr)]),
            &repo(),
        );
        assert!(o.status.success(), "{expr}: {}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        v["started"]["min"].as_i64().unwrap()
    };
    let cases = [
        (
            r#"date("2024-03-01", "2006-01-02", "Europe/Paris").Hour()"#,
            0,
        ),
        (
            r#"date("2026-03-29 02:30", "2006-01-02 15:04", "Europe/Berlin").Hour()"#,
            3,
        ),
        // 02:30 CET (01:30 UTC), the second of the two.
        (
            r#"date("2026-10-25 02:30", "2006-01-02 15:04", "Europe/Berlin").Unix() - 1792891800"#,
            0,
        ),
        // 01:30 EDT (05:30 UTC), the first of the two.
        (
            r#"date("2026-11-01 01:30", "2006-01-02 15:04", "America/New_York").Unix() - 1793511000"#,
            0,
        ),
        (
            r#"date("2026-03-28 12:00", "2006-01-02 15:04", "Europe/Berlin").Add(duration("24h")).Hour()"#,
            13,
        ),
        (
            r#"date("2026-07-01 12:00", "2006-01-02 15:04", "Europe/Berlin").Format("MST -0700") == "CEST +0200" ? 1 : 0"#,
            1,
        ),
        (
            r#"date("2026-07-01T12:00:00+05:00", "2006-01-02T15:04:05Z07:00", "Europe/Berlin").Hour()"#,
            12,
        ),
        (
            r#"date("2026-07-01T12:00:00+02:00", "2006-01-02T15:04:05Z07:00", "Europe/Berlin").Format("MST") == "CEST" ? 1 : 0"#,
            1,
        ),
    ];
    for (expr, want) in cases {
        assert_eq!(count(expr), want, "{expr}");
    }
    let bad = fas(
        &["eval", "--set", "q=1"],
        &vars(&[(
            "FAS_STARTED_MACHINE_COUNT",
            r#"date("2026-07-01", "2006-01-02", "Mars/Base").Hour()"#,
        )]),
        &repo(),
    );
    assert_fails_with(&bad, "ERROR: cannot calculate min started machine count: execute expression: unknown time zone Mars/Base");
}
