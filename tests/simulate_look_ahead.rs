//! Policies that look ahead, backtested on the shipped two-week history
//! (examples/history/two_weeks.csv: a Berlin working day, a 09:00 batch, random
//! bursts): reactive, schedule, forecast-and-scale and forecast-only side by side,
//! judged on the second week after the forecast's first week of warm-up.

mod support;

use fas::policy::{Limits, Policy};
use fas::simulate::{self, History, Options, Round, Summary};
use support::{fas, repo, stderr, stdout};

const HISTORY: &str = "examples/history/two_weeks.csv";
const WEEK: f64 = 7.0 * 86400.0;

fn replay(policy: &str, judged: bool) -> (Vec<Round>, Summary) {
    let history = History::from_csv(&repo().join(HISTORY)).unwrap();
    let mut p = Policy::from_file(
        &repo().join("examples/look-ahead").join(policy),
        &serde_json::json!({}),
        Limits::default(),
    )
    .unwrap();
    let opts = Options {
        capacity_per_machine: Some(50.0),
        judge_from: if judged {
            history.rows[0].0 + WEEK
        } else {
            f64::NEG_INFINITY
        },
        ..Options::default()
    };
    simulate::run(&mut p, &history, &opts, |_| {})
}

fn started_targets(timeline: &[Round]) -> Vec<Option<i64>> {
    timeline.iter().map(|r| r.target_min).collect()
}

#[test]
fn forecast_and_scale_is_short_of_capacity_less_than_reactive() {
    let (_, reactive) = replay("reactive.lua", true);
    let (_, schedule) = replay("schedule.lua", true);
    let (_, forecast) = replay("forecast.lua", true);
    assert_eq!(
        reactive.policy_errors + schedule.policy_errors + forecast.policy_errors,
        0
    );
    assert!(
        reactive.seconds_under_capacity > 0.0,
        "the history must be hard for a reactive policy: {reactive:?}"
    );
    assert!(
        forecast.seconds_under_capacity < reactive.seconds_under_capacity,
        "forecast {} s under capacity, reactive {} s",
        forecast.seconds_under_capacity,
        reactive.seconds_under_capacity
    );
    assert!(
        schedule.seconds_under_capacity < reactive.seconds_under_capacity,
        "schedule {} s under capacity, reactive {} s",
        schedule.seconds_under_capacity,
        reactive.seconds_under_capacity
    );
    // Capacity ahead of the load is paid for.
    assert!(forecast.machine_seconds > reactive.machine_seconds);
}

#[test]
fn forecast_only_never_acts_and_the_warm_up_acts_as_reactive() {
    let (reactive, _) = replay("reactive.lua", false);
    let (only, _) = replay("forecast_only.lua", false);
    assert_eq!(
        started_targets(&only),
        started_targets(&reactive),
        "forecast-only must decide exactly as the reactive policy"
    );
    let (forecast, _) = replay("forecast.lua", false);
    let week_one = reactive
        .iter()
        .take_while(|r| r.t < reactive[0].t + WEEK)
        .count();
    assert_eq!(
        started_targets(&forecast[..week_one]),
        started_targets(&reactive[..week_one]),
        "no forecast before a full season of history"
    );
    assert_ne!(
        started_targets(&forecast[week_one..]),
        started_targets(&reactive[week_one..]),
        "in the second week the forecast raises the target"
    );
}

#[test]
fn the_binary_prints_the_three_way_table_after_the_warm_up() {
    let policies = ["reactive", "schedule", "forecast", "forecast_only"];
    let mut args = vec![
        "simulate".to_string(),
        "--metrics".into(),
        HISTORY.into(),
        "--capacity-per-machine".into(),
        "50".into(),
        "--warm-up".into(),
        "168h".into(),
    ];
    for p in policies {
        args.push("--policy".into());
        args.push(format!("examples/look-ahead/{p}.lua"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = fas(&args, &[], &repo());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for p in policies {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("{p} "))),
            "{p} missing:\n{out}"
        );
    }
    assert!(
        stderr(&o).contains("judged from 2026-11-08T23:00:00Z on"),
        "{}",
        stderr(&o)
    );
    let too_long = fas(
        &[
            "simulate",
            "--metrics",
            HISTORY,
            "--policy",
            "examples/look-ahead/reactive.lua",
            "--warm-up",
            "400h",
        ],
        &[],
        &repo(),
    );
    assert!(!too_long.status.success());
    assert!(
        stderr(&too_long).contains("the history is shorter than that"),
        "{}",
        stderr(&too_long)
    );
}
