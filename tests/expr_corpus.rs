//! Replays the Expr conformance corpus: thousands of expressions answered by the real
//! expr-lang/expr v1.16.0 the way fly-autoscaler's evalInt uses it (tools/expr-oracle,
//! run once with Go; its answers are committed in tests/expr_corpus/answers.jsonl), and
//! checks that fas answers every one the same: the same whole number, or an error of
//! the same class (compile, execute, NaN, Inf). Cases fas is known to answer
//! differently are listed in tests/expr_corpus/known_gaps.txt; the test fails when any
//! other case differs, and when a listed case starts agreeing (so the list stays true).

use std::collections::BTreeSet;

use fas::policy::expr::CountExprs;
use fas::policy::{AppInput, Limits, MachineCounts, Policy};
use serde::Deserialize;

#[derive(Deserialize)]
struct Answer {
    expr: String,
    n: Option<i64>,
    err: Option<String>,
    raw: Option<f64>,
    #[serde(default)]
    msg: String,
}

/// Go's int() of a rounded float beyond int64 gives i64::MIN on amd64, so
/// fly-autoscaler turns a huge count into a negative one; fas saturates instead (the
/// deliberate difference of deliberate.txt, applied to every case it touches).
fn deliberate_overflow(want: &Answer, got: &Result<i64, String>) -> bool {
    let huge = want
        .raw
        .is_some_and(|r| r.abs().round() >= 9.223_372_036_854_775e18);
    huge && want.n == Some(i64::MIN) && *got == Ok(i64::MAX)
}

fn corpus_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expr_corpus")
}

fn metrics() -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(corpus_dir().join("env.json")).unwrap();
    let env: std::collections::BTreeMap<String, f64> = serde_json::from_str(&text).unwrap();
    env.into_iter().collect()
}

/// What fas says for `expr` as FAS_STARTED_MACHINE_COUNT: the count, or an error class.
fn fas_answer(expr: &str, m: &[(String, f64)], names: &[String]) -> Result<i64, String> {
    let e = Some(expr.to_string());
    let exprs = CountExprs {
        min_started: e.clone(),
        max_started: e,
        ..Default::default()
    };
    let mut p = match Policy::from_exprs(&exprs, names, Limits::default()) {
        Ok(p) => p,
        Err(e) => return Err(classify(&e.to_string())),
    };
    let machines = MachineCounts::default();
    // The real clock, as the oracle's `now()` reads it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let input = AppInput {
        name: "app",
        now,
        interval_secs: 15.0,
        round: fas::policy::Round::Full,
        machines: &machines,
        metrics: m,
    };
    match p.decide(&input) {
        Ok(t) => Ok(t.started.expect("started configured").min.unwrap()),
        Err(e) => Err(classify(&e.to_string())),
    }
}

fn classify(e: &str) -> String {
    if e.contains(": compile expression: ") {
        "compile".into()
    } else if e.contains(": execute expression: ") {
        "execute".into()
    } else if e.ends_with(": expression returned NaN") {
        "nan".into()
    } else if e.ends_with(": expression returned Inf") {
        "inf".into()
    } else {
        format!("other: {e}")
    }
}

/// Expressions listed in a file of the corpus, one per line (`\\n` for a newline;
/// `#` starts a comment line).
fn listed(file: &str) -> BTreeSet<String> {
    std::fs::read_to_string(corpus_dir().join(file))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.replace("\\n", "\n"))
        .collect()
}

#[test]
fn fas_answers_every_corpus_case_as_expr_v1_16_0_does() {
    let m = metrics();
    let names: Vec<String> = m.iter().map(|(n, _)| n.clone()).collect();
    let text = std::fs::read_to_string(corpus_dir().join("answers.jsonl")).unwrap();
    let known = listed("known_gaps.txt");
    let deliberate = listed("deliberate.txt");
    let (mut total, mut compiled, mut agree, mut on_purpose) = (0, 0, 0, 0);
    let mut surprises = Vec::new();
    let mut fixed = Vec::new();
    let mut gaps = Vec::new();
    for line in text.lines() {
        let want: Answer = serde_json::from_str(line).unwrap();
        total += 1;
        let got = fas_answer(&want.expr, &m, &names);
        if want.err.as_deref() != Some("compile") {
            compiled += 1;
        }
        let same = match (&got, want.n, &want.err) {
            (Ok(a), Some(b), _) => *a == b,
            (Err(a), None, Some(b)) => a == b,
            _ => false,
        };
        if deliberate.contains(&want.expr) || deliberate_overflow(&want, &got) {
            agree += 1;
            on_purpose += 1;
            continue;
        }
        let listed = known.contains(&want.expr);
        if same {
            agree += 1;
            if listed {
                fixed.push(want.expr.clone());
            }
        } else if !listed {
            gaps.push(want.expr.replace('\n', "\\n"));
            surprises.push(format!(
                "{:?}: expr says {} {}, fas says {:?}",
                want.expr,
                want.n.map(|n| n.to_string()).unwrap_or_default(),
                want.err
                    .as_deref()
                    .map(|e| format!("{e}: {}", want.msg))
                    .unwrap_or_default(),
                got
            ));
        }
    }
    eprintln!(
        "expr corpus: {agree} of {total} cases agree, {on_purpose} of them by a deliberate difference ({compiled} compile under expr v1.16.0); {} known gaps",
        known.len()
    );
    if std::env::var_os("FAS_UPDATE_GAPS").is_some() {
        // A maintainer's shortcut after a change to the shim: list today's gaps.
        let mut all: Vec<String> = known
            .iter()
            .filter(|k| !fixed.contains(k))
            .cloned()
            .collect();
        all.extend(gaps);
        all.sort();
        let path = corpus_dir().join("known_gaps.txt");
        std::fs::write(path, all.join("\n") + "\n").unwrap();
        return;
    }
    assert!(
        surprises.is_empty(),
        "{} cases differ from expr v1.16.0 and are not in known_gaps.txt:\n{}",
        surprises.len(),
        surprises.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these cases now agree; remove them from known_gaps.txt:\n{}",
        fixed.join("\n")
    );
}
