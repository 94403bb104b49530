//! `fas script-test`: the shipped stdlib and ready policies pass their Lua tests, and
//! failures are reported with the test file's line, expected vs actual, exit 1.

mod support;

use support::{fas, repo, stdout};

#[test]
fn shipped_lua_passes_its_tests() {
    let o = fas(&["script-test", "scripts", "stdlib"], &[], &repo());
    let out = stdout(&o);
    assert!(o.status.success(), "{out}{}", support::stderr(&o));
    assert!(out.contains(" 0 failed"), "{out}");
    for policy in ["queue_per_machine", "hpa_target", "scale_to_zero", "pool"] {
        assert!(
            out.contains(&format!("scripts/{policy}_test.lua: test_")),
            "{policy} has tests: {out}"
        );
    }
    for module in ["cooldown", "stabilize", "step", "smooth", "target", "util"] {
        assert!(
            out.contains(&format!("stdlib/test/{module}_test.lua")),
            "{module} has tests: {out}"
        );
    }
}

#[test]
fn failures_show_file_line_expected_and_actual() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.lua"),
        "function scale(m, app) return { started = m.q * 2 } end\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("p_test.lua"),
        "local t = require('fas.testing')\n\
         function test_passes() t.eq(t.policy('p.lua'):scale({ q = 2 }).started, { min = 4, max = 4 }) end\n\
         function test_fails()\n  t.eq(t.policy('p.lua'):scale({ q = 2 }).started.min, 5)\nend\n\
         function test_loops() while true do end end\n\
         function test_policy_error() t.policy('p.lua'):scale({}) end\n",
    )
    .unwrap();
    let o = fas(&["script-test", "."], &[], dir.path());
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("ok   ./p_test.lua: test_passes"), "{out}");
    assert!(
        out.contains("FAIL ./p_test.lua: test_fails: ./p_test.lua:4: expected 5, got 4"),
        "{out}"
    );
    assert!(
        out.contains("test_loops") && out.contains("instruction budget"),
        "{out}"
    );
    assert!(
        out.contains("FAIL ./p_test.lua: test_policy_error: policy error:")
            && out.contains("p.lua:1:"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("1 passed, 3 failed"), "{out}");

    let o = fas(
        &["script-test", ".", "--filter", "passes", "--format", "json"],
        &[],
        dir.path(),
    );
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(v["tests"][0]["test"], "test_passes");
}

#[test]
fn a_file_that_does_not_load_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad_test.lua"), "function test_x( end\n").unwrap();
    let o = fas(&["script-test", "."], &[], dir.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("FAIL ./bad_test.lua: ./bad_test.lua:1:"),
        "{}",
        stdout(&o)
    );
}
