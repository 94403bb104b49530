//! A policy cannot hold the policy thread: work in C that no hook reaches (pattern
//! matching, building huge strings) is bounded before it starts, finalizers are
//! refused, message handlers cannot outlive the budget, and every call has a
//! wall-clock deadline besides its instruction budget. Each attack runs on its own
//! thread with a timeout, so a regression fails instead of hanging the suite.

use std::time::Duration;

use fas::policy::{AppInput, Limits, MachineCounts, Policy};
use serde_json::json;

/// Runs `scale` with `body` once; the error text, or "ok".
fn attack(body: &str, limits: Limits) -> String {
    let src = format!("function scale(metrics, app)\n{body}\nend\n");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("attack.lua");
        std::fs::write(&path, src).unwrap();
        let mut p = Policy::from_file(&path, &json!({}), limits).unwrap();
        let machines = MachineCounts::default();
        let r = p.decide(&AppInput {
            name: "a",
            now: 0.0,
            interval_secs: 15.0,
            round: fas::policy::Round::Full,
            machines: &machines,
            metrics: &[],
        });
        let _ = tx.send(
            r.map(|_| "ok".to_string())
                .unwrap_or_else(|e| e.to_string()),
        );
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("the policy held its thread for 20 s: {body}"))
}

#[test]
fn pattern_matching_that_would_never_end_is_refused() {
    let cases = [
        r#"("a"):rep(40):find(("a-"):rep(15) .. "b")"#,
        r#"("a"):rep(65536):find(".-b")"#,
        r#"string.match(("a"):rep(50000), "(.-)(.-)(.-)b")"#,
        r#"for w in ("x"):rep(100000):gmatch(".-.-y") do end"#,
        r#"string.gsub(("a"):rep(30000), "a*a*a*b", "")"#,
    ];
    for code in cases {
        let e = attack(code, Limits::default());
        assert!(e.contains("too costly for a"), "{code}: {e}");
    }
    // Patterns on ordinary strings, and plain finds on long ones, still work.
    let ok = attack(
        r#"assert(("worker-42"):match("^(%a+)%-(%d+)$") == "worker")
           assert(("a"):rep(100000):find("b", 1, true) == nil)
           assert(select(2, ("a,b,c"):gsub(",", ";")) == 2)
           return { started = 1 }"#,
        Limits::default(),
    );
    assert_eq!(ok, "ok");
}

#[test]
fn huge_strings_and_finalizers_are_refused() {
    let e = attack(r#"local s = ("x"):rep(1e8)"#, Limits::default());
    assert!(e.contains("string.rep: 100000000 bytes asked for"), "{e}");
    let e = attack(
        r#"setmetatable({}, { __gc = function() while true do end end })"#,
        Limits::default(),
    );
    assert!(e.contains("__gc metamethods are not allowed"), "{e}");
    let e = attack(r#"table.move({}, 1, 1 << 40, 1, {})"#, Limits::default());
    assert!(
        e.contains("table.move: 1099511627776 elements asked for"),
        "{e}"
    );
}

#[test]
fn a_message_handler_cannot_outlive_the_budget() {
    let limits = Limits {
        instructions: 1_000_000,
        ..Limits::default()
    };
    let e = attack(
        "xpcall(function() while true do end end, function(e) while true do end end)",
        limits,
    );
    assert!(e.contains("exceeded"), "{e}");
}

#[test]
fn expensive_calls_within_the_budget_meet_the_deadline() {
    // Few instructions, each slow: the instruction budget alone would allow hours.
    let limits = Limits {
        instructions: u64::MAX / 2,
        deadline: Duration::from_millis(300),
        ..Limits::default()
    };
    let started = std::time::Instant::now();
    let e = attack(
        r#"local s = ("x"):rep(1 << 20)
           while true do local t = table.concat({ s, s, s, s, s, s, s, s }) end"#,
        limits,
    );
    assert!(e.contains("deadline of 300ms exceeded"), "{e}");
    println!("ended after {:?}", started.elapsed());
}

/// One app's branch of a policy cannot change the standard libraries or the shipped
/// modules for the others: every such write is an error, and nothing changed.
#[test]
fn the_standard_libraries_and_the_stdlib_are_read_only() {
    let writes = [
        ("string.format = nil", "string.format is read-only"),
        ("math = {}", "the global math is read-only"),
        ("_G.string = nil", "the global string is read-only"),
        (
            "rawset(string, 'find', print)",
            "the standard libraries are read-only",
        ),
        ("table.insert = nil", "table.insert is read-only"),
        (
            "require('fas.util').clamp = nil",
            "fas.util.clamp is read-only",
        ),
        ("pcall = nil", "the global pcall is read-only"),
    ];
    for (code, want) in writes {
        let e = attack(code, Limits::default());
        assert!(e.contains(want), "{code}: {e}");
    }
    // Reading, iterating and a policy's own globals still work.
    let ok = attack(
        r#"local n = 0
           for k in pairs(string) do n = n + 1 end
           assert(n > 10 and #("abc"):rep(2) == 6 and math.floor(2.5) == 2)
           assert(require("fas.util").clamp(5, 1, 3) == 3)
           my_global = 1
           return { started = my_global }"#,
        Limits::default(),
    );
    assert_eq!(ok, "ok");
}

#[test]
fn a_huge_error_is_cut_to_a_few_kib() {
    let e = attack(r#"error(("x"):rep(1000000))"#, Limits::default());
    assert!(e.len() < 4300, "{} bytes", e.len());
    assert!(
        e.ends_with(" bytes in all)") && e.contains("attack.lua:2:"),
        "{}",
        &e[e.len() - 40..]
    );
}
