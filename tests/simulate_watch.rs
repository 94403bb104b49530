//! `fas simulate --interval/--watch-interval`: the fast path backtested on the shipped
//! bursty history. Watch steps cut the time under capacity and the reactions; only
//! increases happen between rounds; the replay is deterministic; bad flags are named.

mod support;

use serde_json::Value;
use support::{fas, repo, stderr, stdout};

fn run(extra: &[&str]) -> std::process::Output {
    let mut a = vec![
        "simulate",
        "--metrics",
        "examples/history/bursts.csv",
        "--policy",
        "scripts/queue_per_machine.lua",
        "--capacity-per-machine",
        "10",
        "--watch-interval",
        "off",
        "--watch-interval",
        "1s",
    ];
    a.extend_from_slice(extra);
    fas(&a, &[], &repo())
}

/// (under-capacity seconds, reaction median, reaction p95) of a table row.
fn figures(line: &str) -> (f64, f64, f64) {
    let cells: Vec<&str> = line.split_whitespace().collect();
    let s = cells.iter().position(|c| *c == "s").unwrap();
    let under: f64 = cells[s - 1].parse().unwrap();
    let slash = cells.iter().position(|c| *c == "/").unwrap();
    (
        under,
        cells[slash - 2].parse().unwrap(),
        cells[slash + 1].parse().unwrap(),
    )
}

#[test]
fn watch_steps_cut_the_time_under_capacity() {
    let o = run(&[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let table = stdout(&o);
    assert_eq!(table, stdout(&run(&[])), "deterministic");
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].starts_with("queue_per_machine @ rounds 15s "),
        "{table}"
    );
    assert!(
        rows[1].starts_with("queue_per_machine @ rounds 15s + watch 1s"),
        "{table}"
    );
    let (rounds, watch) = (figures(rows[0]), figures(rows[1]));
    assert!(watch.0 * 3.0 < rounds.0, "under capacity: {table}");
    assert!(watch.2 < rounds.2, "reaction p95: {table}");
    assert!(watch.1 <= rounds.1, "reaction median: {table}");
}

#[test]
fn only_full_rounds_take_machines_away() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.json");
    let o = run(&["--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let watch = &runs[1]["timeline"];
    let t0 = watch[0]["t"].as_f64().unwrap();
    let at_round = |r: &Value| (r["t"].as_f64().unwrap() - t0) % 15.0 == 0.0;
    let rows = watch.as_array().unwrap();
    let between: Vec<&Value> = rows.iter().filter(|r| !at_round(r)).collect();
    assert!(!between.is_empty(), "watch steps acted between rounds");
    assert!(
        between
            .iter()
            .all(|r| matches!(r["action"].as_str(), Some("start" | "create"))),
        "only increases between rounds"
    );
    assert!(
        rows.iter().any(|r| at_round(r) && r["action"] == "stop"),
        "scale-down came at full rounds"
    );
    assert!(runs[1]["summary"]["reaction"]["episodes"].as_u64().unwrap() > 5);
}

#[test]
fn bad_cadences_name_their_flag() {
    for (flag, value) in [("--watch-interval", "soon"), ("--interval", "0s")] {
        let o = fas(
            &[
                "simulate",
                "--metrics",
                "examples/history/bursts.csv",
                "--expr",
                "ceil(queue_depth / 10)",
                flag,
                value,
            ],
            &[],
            &repo(),
        );
        assert!(!o.status.success());
        assert!(stderr(&o).contains(flag), "{}", stderr(&o));
    }
}
