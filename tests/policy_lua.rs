//! Lua policies: the contract (metrics, app, state, params, return shapes), the
//! sandbox's escape routes, and the limits that turn runaway scripts into errors.

use std::path::PathBuf;

use fas::policy::{AppInput, Bounds, Limits, MachineCounts, Policy, PolicyError};
use serde_json::json;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/policies")
        .join(name)
}

fn load(name: &str) -> Policy {
    Policy::from_file(
        &fixture(name),
        &json!({"per_machine": 5}),
        Limits::default(),
    )
    .expect("policy loads")
}

fn decide(
    p: &mut Policy,
    app: &str,
    metrics: &[(&str, f64)],
) -> Result<fas::policy::Targets, PolicyError> {
    let m: Vec<(String, f64)> = metrics.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    let machines = MachineCounts {
        created: 3,
        started: 2,
        stopped: 1,
        by_region: vec![("iad".into(), 2, 1)],
    };
    p.decide(&AppInput {
        name: app,
        now: 1000.0,
        interval_secs: 15.0,
        round: fas::policy::Round::Full,
        machines: &machines,
        metrics: &m,
    })
}

#[test]
fn policy_reads_params_requires_modules_and_keeps_state_per_app() {
    let mut p = load("queue.lua");
    let t = decide(&mut p, "a", &[("queue_depth", 23.0)]).unwrap();
    assert_eq!(
        t.started,
        Some(Bounds {
            min: Some(5),
            max: Some(5)
        })
    );
    assert_eq!(
        t.created,
        Some(Bounds {
            min: Some(1),
            max: Some(10)
        })
    );
    decide(&mut p, "a", &[("queue_depth", 7.0)]).unwrap();
    decide(&mut p, "b", &[("queue_depth", 3.0)]).unwrap();
    assert_eq!(p.state_json("a").unwrap(), json!({"peak": 23.0}));
    assert_eq!(p.state_json("b").unwrap(), json!({"peak": 3.0}));
}

#[test]
fn runtime_errors_name_file_and_line() {
    let mut p = load("error.lua");
    let e = decide(&mut p, "a", &[]).unwrap_err().to_string();
    assert!(e.starts_with("policy error: "), "{e}");
    assert!(e.contains("error.lua:3:"), "{e}");
}

#[test]
fn syntax_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.lua");
    std::fs::write(&path, "function scale(m, a)\n  return {\nend\n").unwrap();
    let e = Policy::from_file(&path, &json!({}), Limits::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("broken.lua:3:"), "{e}");
}

#[test]
fn a_file_without_scale_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.lua");
    std::fs::write(&path, "local x = 1\n").unwrap();
    let e = Policy::from_file(&path, &json!({}), Limits::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("no global function scale"), "{e}");
}

#[test]
fn endless_loops_hit_the_instruction_budget() {
    for file in ["loop.lua", "loop_pcall.lua"] {
        let limits = Limits {
            instructions: 1_000_000,
            ..Limits::default()
        };
        let mut p = Policy::from_file(&fixture(file), &json!({}), limits).unwrap();
        let started = std::time::Instant::now();
        let e = decide(&mut p, "a", &[]).unwrap_err().to_string();
        assert!(
            e.contains("instruction budget of 1000000 exceeded"),
            "{file}: {e}"
        );
        assert!(e.contains(file), "{file}: {e}");
        assert!(
            started.elapsed().as_secs() < 10,
            "{file} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn memory_bombs_hit_the_memory_limit_and_the_state_stays_usable() {
    let limits = Limits {
        memory: 16 << 20,
        instructions: u64::MAX / 2,
        ..Limits::default()
    };
    let mut p = Policy::from_file(&fixture("bomb.lua"), &json!({}), limits).unwrap();
    let e = decide(&mut p, "a", &[]).unwrap_err().to_string();
    assert!(e.contains("memory limit exceeded"), "{e}");
    // The next call runs again from a clean slate and fails the same way, not worse.
    let e2 = decide(&mut p, "a", &[]).unwrap_err().to_string();
    assert_eq!(e, e2);
}

#[test]
fn bad_return_values_are_errors_not_actions() {
    let mut p = load("bad_return.lua");
    let e = decide(&mut p, "a", &[("mode", 1.0)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("`started` is a string"), "{e}");
    let e = decide(&mut p, "a", &[("mode", 2.0)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("`started.min` is NaN"), "{e}");
}

#[test]
fn sandbox_escape_routes_are_closed() {
    let mut p = load("escape.lua");
    let t = decide(&mut p, "a", &[]);
    assert_eq!(
        t.map(|t| t.started),
        Ok(Some(Bounds {
            min: Some(0),
            max: Some(0)
        }))
    );
}

#[test]
fn state_that_json_cannot_hold_is_reported_with_the_app() {
    let mut p = load("state_fn.lua");
    decide(&mut p, "web", &[]).unwrap();
    let e = p.state_json("web").unwrap_err().to_string();
    assert!(e.contains("app web"), "{e}");
}

/// What a policy returns with a typo or a contradiction would be ignored or flap
/// forever: each is an error naming the problem, and nothing is scaled.
#[test]
fn unknown_keys_and_min_above_max_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "return { startd = 3 }",
            "the table scale() returned has an unknown key `startd`; use created, started, stop_order, protect and forecast",
        ),
        (
            "return { started = { mn = 2, max = 4 } }",
            "`started` has an unknown key `mn`; use min and max",
        ),
        (
            "return { created = { min = 5, max = 3 } }",
            "min created machine count (5) is above max created machine count (3)",
        ),
        (
            "return { started = 1, forecast = 'soon' }",
            "`forecast` is soon; return a number (what fas.forecast predicts) or nil",
        ),
        (
            "return { started = { min = 2.6, max = 2.4 } }",
            "min started machine count (3) is above max started machine count (2)",
        ),
    ];
    for (body, want) in cases {
        let path = dir.path().join("p.lua");
        std::fs::write(&path, format!("function scale(m, app)\n  {body}\nend\n")).unwrap();
        let mut p = Policy::from_file(&path, &json!({}), Limits::default()).unwrap();
        let e = decide(&mut p, "a", &[]).unwrap_err().to_string();
        assert!(e.contains(want), "{body}: {e}");
        assert!(e.contains("p.lua"), "names the file: {e}");
    }
}

/// `stop_order` and `protect` must be lists of Machine ids; the policy sees
/// `app.machines.list` and cannot write to it.
#[test]
fn stop_order_and_protect_are_id_lists() {
    let dir = tempfile::tempdir().unwrap();
    for (body, want) in [
        (
            "return { started = 1, stop_order = 'a' }",
            "`stop_order` is a string; return a list of Machine ids",
        ),
        (
            "return { started = 1, protect = { 1 } }",
            "`protect`[1] is a number; return Machine ids (strings)",
        ),
        (
            "app.machines.list[1] = {} return nil",
            "app.machines.list is read-only",
        ),
    ] {
        let path = dir.path().join("p.lua");
        std::fs::write(&path, format!("function scale(m, app)\n  {body}\nend\n")).unwrap();
        let mut p = Policy::from_file(&path, &json!({}), Limits::default()).unwrap();
        let e = decide(&mut p, "a", &[]).unwrap_err().to_string();
        assert!(e.contains(want), "{body}: {e}");
    }
}

/// `app.machines.list` is built only when read, yet always shows the decision's own
/// app: a decision that skips it does not leave a stale list for the next, another
/// app's list never shows through, and a policy that replaced `app.machines` with
/// its own table still gets the list.
#[test]
fn the_machine_list_is_built_when_read_and_belongs_to_its_app() {
    use fas::policy::MachineInfo;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.lua");
    std::fs::write(
        &path,
        "local kept\n\
         function scale(m, app)\n\
         if app.name == 'a' then kept = app.machines end\n\
         if m.read == 0 then\n\
           if app.name == 'own' then app.machines = setmetatable({}, {}) end\n\
           return { started = 0 }\n\
         end\n\
         local l = app.machines.list\n\
         if app.name == 'other' then l = kept.list end\n\
         return { started = #l, created = 10 + ((l[1] and #l[1].id) or 0) }\n\
         end\n",
    )
    .unwrap();
    let mut p = Policy::from_file(&path, &json!({}), Limits::default()).unwrap();
    let info = |id: &str| MachineInfo {
        id: id.into(),
        state: "started".into(),
        ..Default::default()
    };
    let counts = MachineCounts::default();
    let mut run = |app: &str, read: f64, list: Vec<MachineInfo>| {
        let metrics = vec![("read".to_string(), read)];
        let input = AppInput {
            name: app,
            now: 1000.0,
            interval_secs: 15.0,
            round: fas::policy::Round::Full,
            machines: &counts,
            metrics: &metrics,
        };
        let (t, _) = p.decide_full(&input, &[], list).unwrap();
        let b = |b: Option<Bounds>| b.and_then(|b| b.max).unwrap_or(0);
        (b(t.started), b(t.created))
    };
    assert_eq!(run("a", 0.0, vec![info("m1"), info("m2")]), (0, 0));
    assert_eq!(
        run("a", 1.0, vec![info("abc")]),
        (1, 13),
        "this decision's list"
    );
    assert_eq!(run("a", 1.0, vec![]), (0, 10), "no Machines: an empty list");
    // `other` reads `a`'s `app.machines`, kept from a decision of `a` that did not
    // read its list: it must not see its own Machines as `a`'s.
    run("a", 0.0, vec![info("m1")]);
    assert_eq!(run("other", 1.0, vec![info("x")]), (0, 10));
    run("own", 0.0, vec![]);
    assert_eq!(
        run("own", 1.0, vec![info("m1"), info("m2")]),
        (2, 12),
        "a replaced app.machines still gets the list"
    );
}
