//! Conformance of the Expr shim with fly-autoscaler (expr-lang/expr v1.16.0, Go's
//! math.Round, NaN/Inf errors, negative -> 0). Each case is what `fas eval` prints as
//! the started target for FAS_STARTED_MACHINE_COUNT=<expr>, or the class of the error
//! upstream reports. Expected values were worked out from the Expr language definition
//! and Go's semantics, not by running this implementation.

use fas::policy::expr::CountExprs;
use fas::policy::{AppInput, Limits, MachineCounts, Policy};

#[derive(Debug, Clone, Copy)]
enum Want {
    N(i64),
    Compile,
    Execute,
    NaN,
    Inf,
}
use Want::*;

const BASE: &[(&str, f64)] = &[
    ("qdepth", 41.0),
    ("queue_depth", 95.0),
    ("x", 1.2),
    ("y", 0.4),
];

fn metrics(overrides: &[(&str, f64)]) -> Vec<(String, f64)> {
    let mut m: Vec<(String, f64)> = BASE.iter().map(|(n, v)| (n.to_string(), *v)).collect();
    for (n, v) in overrides {
        m.retain(|(k, _)| k != n);
        m.push((n.to_string(), *v));
    }
    m
}

fn eval(expr: &str, overrides: &[(&str, f64)], created: bool) -> Result<(i64, i64), String> {
    let m = metrics(overrides);
    let names: Vec<String> = m.iter().map(|(n, _)| n.clone()).collect();
    let e = Some(expr.to_string());
    let exprs = if created {
        CountExprs {
            min_created: e.clone(),
            max_created: e,
            ..Default::default()
        }
    } else {
        CountExprs {
            min_started: e.clone(),
            max_started: e,
            ..Default::default()
        }
    };
    let mut p = Policy::from_exprs(&exprs, &names, Limits::default()).map_err(|e| e.to_string())?;
    let machines = MachineCounts::default();
    let input = AppInput {
        name: "app",
        now: 0.0,
        interval_secs: 15.0,
        round: fas::policy::Round::Full,
        machines: &machines,
        metrics: &m,
    };
    let t = p.decide(&input).map_err(|e| e.to_string())?;
    let b = if created { t.created } else { t.started }.expect("dimension configured");
    Ok((b.min.unwrap(), b.max.unwrap()))
}

fn check(cases: &[(&str, Want)], overrides: &[(&str, f64)]) {
    let mut failures = Vec::new();
    for (expr, want) in cases {
        let got = eval(expr, overrides, false);
        let ok = match (want, &got) {
            (N(n), Ok((a, b))) => a == n && b == n,
            (Compile, Err(e)) => e.contains(": compile expression: "),
            (Execute, Err(e)) => e.contains(": execute expression: "),
            (NaN, Err(e)) => e.ends_with(": expression returned NaN"),
            (Inf, Err(e)) => e.ends_with(": expression returned Inf"),
            _ => false,
        };
        if !ok {
            failures.push(format!("{expr:?}: want {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn literals() {
    check(
        &[
            ("2.6", N(3)),
            ("2.5", N(3)),
            ("2.4999", N(2)),
            ("-2.5", N(0)),
            ("1_000", N(1000)),
            ("1__0", N(10)),
            ("0x1F", N(31)),
            ("0X10", N(16)),
            ("0o17", N(15)),
            ("0b101", N(5)),
            (".5", N(1)),
            ("5.", N(5)),
            ("1e3", N(1000)),
            ("1E2", N(100)),
            ("2.5e-1", N(0)),
            ("9223372036854775808", Compile),
            ("1e400", Compile),
            ("12abc", Compile),
            ("0x", Compile),
            ("  7  ", N(7)),
            ("true", Compile),
            ("'abc'", Compile),
            ("[1, 2]", Compile),
        ],
        &[],
    );
}

#[test]
fn arithmetic() {
    check(
        &[
            ("7 / 2", N(4)),
            ("1 / 3 * 3", N(1)),
            ("x / y", N(3)),
            ("1 / 4", N(0)),
            ("10 - 3 * 2", N(4)),
            ("(10 - 3) * 2", N(14)),
            ("2 + 3 * 4 ** 2", N(50)),
            ("7 % 3", N(1)),
            ("-7 % 3 + 5", N(4)),
            ("7 % -3 + 5", N(6)),
            ("-7 % -3 + 5", N(4)),
            ("qdepth % 2", Compile),
            // v1.16.0 folds the constants and refuses this when compiling.
            ("7 % 0", Compile),
            ("let z = 0; 7 % z", Execute),
            ("7.0 % 2", Compile),
            ("int(qdepth) % 4", N(1)),
            ("10 / 4 % 2", Compile),
            ("9223372036854775807 + 1", N(0)),
            ("(9223372036854775807 + 2) % 10 + 10", N(3)),
            ("9223372036854775807 * 2 % 7 + 7", N(5)),
            ("1/0", Inf),
            ("-1/0", Inf),
            ("0/0", NaN),
            ("x - x", N(0)),
            ("0.1 + 0.2", N(0)),
            ("0.5 + 0.1 * 10", N(2)),
            ("2.5 * 2", N(5)),
            ("3 - 4.5", N(0)),
            ("qdepth / 0", Inf),
            ("-qdepth / 0", Inf),
            ("qdepth * 1e308 * 10", Inf),
            ("+5", N(5)),
            ("+qdepth", N(41)),
            ("- -5", N(5)),
            ("--5", N(5)),
            ("5 - -3", N(8)),
            ("qdepth - 41", N(0)),
            ("3 * x", N(4)),
            ("x + y + 2", N(4)),
            ("min(50, qdepth / 2)", N(21)),
            ("ceil(queue_depth / 10)", N(10)),
        ],
        &[],
    );
}

#[test]
fn power_is_right_associative_and_binds_tighter_than_unary_minus() {
    check(
        &[
            ("2 ** 3 ** 2", N(512)),
            ("2 ^ 3 ^ 2", N(512)),
            ("(2 ** 3) ** 2", N(64)),
            ("-2 ** 2", N(0)),
            ("-2 ** 2 + 10", N(6)),
            ("(-2) ** 2", N(4)),
            ("2 ** 10", N(1024)),
            ("2 ** -1", N(1)),
            ("4 ** 0.5", N(2)),
            ("(-8) ** (1/3)", NaN),
            ("0 ** -1", Inf),
            ("qdepth ** 2", N(1681)),
            ("10 ** 2 ** -1", N(3)),
            ("1.5 ** 2", N(2)),
            ("2.5 ** 2", N(6)),
            ("1.1 ** 2 * 100", N(121)),
            ("2 ** 3 % 2", Compile),
        ],
        &[],
    );
}

#[test]
fn comparisons_and_logic_want_booleans() {
    check(
        &[
            ("qdepth > 10 ? 5 : 1", N(5)),
            ("qdepth < 10 ? 5 : 1", N(1)),
            ("qdepth > 10 && x > 1 ? 2 : 3", N(2)),
            ("qdepth > 10 and x > 2 ? 2 : 3", N(3)),
            ("qdepth > 10 || x > 2 ? 2 : 3", N(2)),
            ("qdepth > 100 or x > 2 ? 2 : 3", N(3)),
            ("!(qdepth > 10) ? 2 : 3", N(3)),
            ("not (qdepth > 10) ? 2 : 3", N(3)),
            ("qdepth ? 1 : 2", Compile),
            ("0 ? 1 : 2", Compile),
            ("qdepth and true ? 1 : 2", Compile),
            ("!qdepth ? 1 : 2", Compile),
            ("1 < 2 < 3", Compile),
            ("qdepth == 41 ? 1 : 0", N(1)),
            ("qdepth == 41.0 ? 1 : 0", N(1)),
            ("1 == 1.0 ? 7 : 0", N(7)),
            ("qdepth != 41 ? 1 : 0", N(0)),
            ("'a' == 'a' ? 3 : 0", N(3)),
            ("'a' < 'b' ? 3 : 0", N(3)),
            ("'a' == 1 ? 3 : 0", Compile),
            ("'a' < 1 ? 1 : 0", Compile),
            ("true == false ? 1 : 2", N(2)),
            ("nil == nil ? 1 : 2", N(1)),
            ("not true == false ? 1 : 2", N(1)),
            ("!true == false ? 1 : 2", N(1)),
            ("true ? 1 : 2 + 10", N(1)),
            ("false ? 1 : 2 + 10", N(12)),
            ("true ? false ? 1 : 2 : 3", N(2)),
            ("qdepth > 40 ? qdepth > 50 ? 3 : 2 : 1", N(2)),
            ("qdepth > 10 ? 5 : 0.5", N(5)),
            ("(qdepth > 10 ? 5 : 0.5) * 2", N(10)),
            ("(qdepth > 100 ? 5 : 0.5) * 3", N(2)),
            ("(qdepth > 10 ? 5 : 2.5) % 2", N(1)),
            ("(qdepth > 100 ? 5 : 2.5) % 2", Execute),
            ("true && false || true ? 1 : 0", N(1)),
            ("true || false && false ? 1 : 0", N(1)),
            ("false && [1][5] == 1 ? 1 : 2", N(2)),
            ("true && [1][5] == 1 ? 1 : 2", Execute),
            ("true || [1][5] == 1 ? 1 : 2", N(1)),
            ("qdepth > 10 ? 1 : [1][5]", N(1)),
            ("qdepth < 10 ? 1 : [1][5]", Execute),
            ("(0 > -1) ? 4 : 5", N(4)),
            ("x > 1 ? 0 : 9", N(0)),
            ("(qdepth > 10 ? false : true) ? 1 : 2", N(2)),
            ("(qdepth < 10 ? false : true) ? 1 : 2", N(1)),
            ("qdepth > 1 == true ? 1 : 2", N(1)),
            ("x * 3 == 3.6 ? 1 : 0", N(0)),
            ("0.1 + 0.2 == 0.3 ? 1 : 0", N(0)),
        ],
        &[],
    );
}

#[test]
fn coalesce_and_let() {
    check(
        &[
            ("qdepth ?? 3", N(41)),
            ("nil ?? 3", N(3)),
            ("nil ?? nil ?? 4", N(4)),
            ("(qdepth ?? 3) + 1", N(42)),
            ("qdepth ?? 3 + 1", Compile),
            ("1 + qdepth ?? 3", N(42)),
            ("qdepth * 2 ?? 3", N(82)),
            ("(qdepth > 10 ? nil : 1) ?? 7", N(7)),
            ("(qdepth < 10 ? nil : 1) ?? 7", N(1)),
            ("let a = qdepth; a * 2", N(82)),
            ("let a = 2; let b = a * 3; b + a", N(8)),
            ("let qdepth = 1; qdepth", Compile),
            ("let min = 1; min", Compile),
            ("let a = 1; let a = 2; a", Compile),
            ("let a = qdepth > 10; a ? 1 : 2", N(1)),
            ("(let a = 3; a * 2) + 1", N(7)),
            ("qdepth > 10 ? (let b = 5; b) : 0", N(5)),
            ("let a = 1; a +", Compile),
            ("let a = 1 a", Compile),
            ("let a = 2.5; a % 2", Compile),
            ("let a = 7; a % 4", N(3)),
            ("if qdepth > 1 { 1 } else { 2 }", Compile),
        ],
        &[],
    );
}

#[test]
fn builtins() {
    check(
        &[
            ("abs(-5)", N(5)),
            ("abs(x - 3)", N(2)),
            ("abs(-5) % 3", N(2)),
            ("ceil(4.1)", N(5)),
            ("ceil(-4.1) + 10", N(6)),
            ("ceil(4) % 2", Compile),
            ("floor(4.9)", N(4)),
            ("floor(-4.1) + 10", N(5)),
            ("round(2.5)", N(3)),
            ("round(-2.5) + 10", N(7)),
            ("round(0.49999999999999994) * 10", N(0)),
            ("int(2.7)", N(2)),
            ("int(-2.7) + 10", N(8)),
            ("int(qdepth / 3)", N(13)),
            ("int(2.7) % 2", N(0)),
            ("float(7) / 2", N(4)),
            ("float(7) % 2", Compile),
            ("int('42')", N(42)),
            ("float('2.5') * 2", N(5)),
            ("int('abc')", Execute),
            ("min(10, qdepth / 2)", N(10)),
            ("max(3, qdepth / 10)", N(4)),
            ("max(1, 2, 3)", N(3)),
            ("min(3, 1, 2)", N(1)),
            ("min(5)", N(5)),
            ("min()", Compile),
            ("min(50, qdepth / 2) % 2", Execute),
            ("min(qdepth / 2, 50) % 2", Compile),
            ("max(1, 4) % 3", N(1)),
            ("max([1, 5, 3])", Compile),
            ("min([4, 2], 3)", Compile),
            ("max('a', 1)", Compile),
            ("abs('x')", Compile),
            ("ceil()", Compile),
            ("abs(1, 2)", Compile),
            ("len([1, 2, 3])", N(3)),
            ("len('hello')", N(5)),
            ("len(qdepth)", Compile),
            ("sum([1, 2, 3.5])", N(7)),
            ("sum(1..4)", N(10)),
            ("sum(1..4) % 3", N(1)),
            ("mean([1, 2, 3, 4])", N(3)),
            ("median([5, 1, 3])", N(3)),
            ("median([1, 2, 3, 4]) * 10", N(25)),
            ("sum(qdepth)", Compile),
            ("foo(1)", Compile),
            ("qdepth(1)", Compile),
            ("upper('a')", Compile),
            ("filter([1, 2], # > 1)", Compile),
            ("now()", Compile),
        ],
        &[],
    );
}

#[test]
fn arrays_ranges_and_in() {
    check(
        &[
            ("[1, 2, 3][0]", N(1)),
            ("[1, 2, 3][-1]", N(3)),
            ("[1, 2, 3][3]", Execute),
            ("[1, 2, 3][1.5]", Compile),
            ("len(1..10)", N(10)),
            ("len(5..1) + 3", N(3)),
            ("1.5..3", Compile),
            ("qdepth in [41, 42] ? 1 : 0", N(1)),
            ("qdepth not in [41, 42] ? 1 : 0", N(0)),
            ("3 in 1..5 ? 1 : 0", N(1)),
            ("7 in 1..5 ? 1 : 0", N(0)),
            ("7 not in 1..5 ? 1 : 0", N(1)),
            ("qdepth in 1 ? 1 : 0", Compile),
            ("[1, 2] == [1, 2] ? 1 : 0", N(1)),
            ("[1, 2] == [2, 1] ? 1 : 0", N(0)),
            ("[1, 'a'][1] == 'a' ? 1 : 0", N(1)),
            ("[][0]", Execute),
            ("[1, 2,][1]", N(2)),
            ("len([]) + 1", N(1)),
            ("[1, 2, 3][0] % 2", N(1)),
            ("[1, 2.5][0] % 2", N(1)),
            ("[1, 2.5][1] % 2", Execute),
            ("[qdepth, 1][0]", N(41)),
            ("[1, 2][0:1]", Compile),
        ],
        &[],
    );
}

#[test]
fn strings_comments_and_syntax() {
    check(
        &[
            ("'a' + 'b' == 'ab' ? 1 : 0", N(1)),
            ("'abc' contains 'b' ? 1 : 0", N(1)),
            ("'abc' startsWith 'ab' ? 1 : 0", N(1)),
            ("'abc' endsWith 'x' ? 1 : 0", N(0)),
            ("'abc' not contains 'x' ? 1 : 0", N(1)),
            ("'abc' matches 'b' ? 1 : 0", N(1)),
            ("'a' + 1", Compile),
            ("'5' * 2", Compile),
            ("\"a\\\"b\" == 'a\"b' ? 1 : 0", N(1)),
            ("`raw` == 'raw' ? 1 : 0", N(1)),
            ("1 // 2", N(1)),
            ("1 /* two */ + 2", N(3)),
            ("qdepth\n + 1", N(42)),
            ("", Compile),
            ("1 +", Compile),
            ("(1 + 2", Compile),
            ("1 2", Compile),
            ("qdepth.value", Compile),
            ("{a: 1}", Compile),
            ("1 & 2", Compile),
            ("1 = 2", Compile),
            ("@", Compile),
            ("$env", Compile),
            ("x | y", Compile),
            ("nosuch + 1", Compile),
            ("'unterminated", Compile),
        ],
        &[],
    );
}

#[test]
fn metrics_may_shadow_builtin_names() {
    check(
        &[("min + 1", N(8)), ("min(min, 3)", N(3)), ("len * 2", N(14))],
        &[("min", 7.0), ("len", 7.0)],
    );
}

#[test]
fn non_finite_metric_values() {
    check(
        &[
            ("qdepth", NaN),
            ("max(1, qdepth)", N(1)),
            ("min(qdepth, 5)", NaN),
            ("qdepth > 1 ? 1 : 2", N(2)),
            ("qdepth == qdepth ? 1 : 2", N(2)),
            ("int(qdepth)", N(0)),
        ],
        &[("qdepth", f64::NAN)],
    );
    check(
        &[("min(qdepth, 5)", N(5)), ("qdepth", Inf), ("-qdepth", Inf)],
        &[("qdepth", f64::INFINITY)],
    );
    check(
        &[("qdepth", N(0)), ("1 / qdepth", Inf)],
        &[("qdepth", -0.0)],
    );
}

#[test]
fn created_counts_never_go_below_one() {
    for (expr, want) in [
        ("0", 1),
        ("-5", 1),
        ("0.4", 1),
        ("qdepth / 10", 4),
        ("2.5", 3),
    ] {
        assert_eq!(eval(expr, &[], true), Ok((want, want)), "{expr}");
    }
}

#[test]
fn errors_name_the_expression_and_position() {
    let e = eval("nosuch + 1", &[], false).unwrap_err();
    assert_eq!(
        e,
        "cannot calculate min started machine count: compile expression: unknown name nosuch (1:1)"
    );
    let e = eval("qdepth % 2", &[], false).unwrap_err();
    assert!(
        e.ends_with("invalid operation: % (mismatched types float64 and int) (1:8)"),
        "{e}"
    );
    let e = eval("7 % 0", &[], false).unwrap_err();
    assert_eq!(
        e,
        "cannot calculate min started machine count: compile expression: integer divide by zero (1:3)"
    );
    let e = eval("let z = 0; 7 % z", &[], false).unwrap_err();
    assert_eq!(e, "cannot calculate min started machine count: execute expression: runtime error: integer divide by zero");
}

#[test]
fn loops_run_under_the_budget_and_plain_arithmetic_without_it() {
    // Closures and ranges loop: a runaway one is stopped (an execute error, nothing
    // scaled), not left to the watchdog; the same shapes at a normal size answer.
    let runaway = eval("count(1..3000, count(1..3000, # > 0) > 0)", &[], false);
    let e = runaway.expect_err("a 9-million-step closure must be stopped");
    assert!(e.contains("execute expression"), "{e}");
    assert_eq!(
        eval("count(1..30, count(1..30, # > 0) > 0)", &[], false),
        Ok((30, 30))
    );
    let huge = eval("len(1..200000000)", &[], false).expect_err("a 200M range");
    assert!(
        e.contains("execute expression") && huge.contains("execute expression"),
        "{huge}"
    );
    let lua = fas::policy::expr::translate_policy(
        &CountExprs {
            min_started: Some("min(50, qdepth / 2)".into()),
            max_started: Some("min(50, qdepth / 2)".into()),
            ..Default::default()
        },
        &["qdepth".to_string()],
    )
    .unwrap();
    assert!(!lua.contains(fas::policy::expr::LOOPS_MARK));
}

#[test]
fn now_is_the_clock_passed_in_so_simulate_replays_it() {
    // 2024-03-01T10:30:00Z, a Friday: what a decision at that time sees.
    let at = |expr: &str| {
        let e = Some(expr.to_string());
        let exprs = CountExprs {
            min_started: e.clone(),
            max_started: e,
            ..Default::default()
        };
        let mut p = Policy::from_exprs(&exprs, &["q".to_string()], Limits::default()).unwrap();
        let machines = MachineCounts::default();
        let metrics = vec![("q".to_string(), 4.0)];
        let input = AppInput {
            name: "app",
            now: 1_709_289_000.0,
            interval_secs: 15.0,
            round: fas::policy::Round::Full,
            machines: &machines,
            metrics: &metrics,
        };
        p.decide(&input).map(|t| t.started.unwrap().min.unwrap())
    };
    assert_eq!(at("now().Hour()"), Ok(10));
    assert_eq!(at("now().Minute()"), Ok(30));
    assert_eq!(at("now().Weekday().String() == 'Friday' ? q : 0"), Ok(4));
    assert_eq!(at("now().Hour() >= 9 && now().Hour() < 17 ? 5 : 1"), Ok(5));
    assert_eq!(at("(now() - date('2024-03-01')).Minutes()"), Ok(630));
}
