//! The rows of the fault matrix: one fault each, for the app named `faulty`.

use super::{Metric, Row};
use crate::sim::{FaultRule, Latencies};

fn fault(action: &str) -> FaultRule {
    FaultRule {
        action: action.into(),
        app: "faulty".into(),
        ..FaultRule::default()
    }
}

fn row(name: &'static str) -> Row {
    Row {
        name,
        faults: vec![],
        metric: Metric::Fine,
        policy: None,
        machines: vec![],
        release_running: false,
        max_created: 2,
        expect_no_action: false,
        counter: None,
        latencies: None,
        deploy_lease: false,
    }
}

/// A policy that fails for the faulty app: no action, counted as a policy error.
fn bad_policy(name: &'static str) -> Row {
    Row {
        max_created: 1,
        expect_no_action: true,
        counter: Some(("fas_policy_errors_total", "app", "faulty")),
        ..row(name)
    }
}

/// A start, stop or destroy of the faulty app that takes effect but answers 500.
fn applied_but_500(action: &str) -> FaultRule {
    FaultRule {
        status: Some(500),
        apply_first: true,
        probability: Some(0.5),
        ..fault(action)
    }
}

const USES_METRIC: &str = "function scale(m, app) return { started = m.q / 10 } end";

pub fn rows() -> Vec<Row> {
    // A call was resent, or failed for good: which, depends on the coin tosses.
    let api = Some(("fas_api_retries_total|fas_api_errors_total", "*", "*"));
    vec![
        Row { faults: vec![FaultRule { status: Some(500), probability: Some(0.5), ..fault("*") }], counter: api, ..row("API 500s (half the calls)") },
        Row { faults: vec![FaultRule { status: Some(503), probability: Some(0.5), ..fault("*") }], counter: api, ..row("API 503s (half the calls)") },
        Row { faults: vec![FaultRule { status: Some(429), retry_after: Some(1), count: Some(2), ..fault("list") }], ..row("429 with Retry-After") },
        Row { faults: vec![FaultRule { hang: true, count: Some(3), ..fault("list") }], counter: api, ..row("hung list past the timeout") },
        Row {
            faults: vec![FaultRule { hang: true, apply_first: true, count: Some(1), ..fault("create") }],
            counter: Some(("fas_machine_create_count", "status", "failed")),
            ..row("create times out but succeeded")
        },
        Row { faults: vec![FaultRule { status: Some(500), ..fault("create") }], counter: Some(("fas_machine_create_count", "status", "failed")), max_created: 1, ..row("create always fails") },
        Row { machines: vec![(0, Some("starting"), None, true)], ..row("Machine stuck in starting") },
        Row { machines: vec![(0, Some("stopping"), None, true)], ..row("Machine stuck in stopping") },
        Row {
            machines: vec![(0, None, Some("unreachable"), false)],
            max_created: 1,
            expect_no_action: true,
            counter: Some(("fas_reconcile_errors_total", "kind", "nothing_to_clone")),
            ..row("host unreachable")
        },
        Row { release_running: true, max_created: 1, expect_no_action: true, counter: Some(("fas_reconcile_skipped_total", "reason", "release")), ..row("release running") },
        Row { metric: Metric::Down, max_created: 1, expect_no_action: true, counter: Some(("fas_collector_errors_total", "collector", "q")), ..row("Prometheus down") },
        Row { metric: Metric::Slow, max_created: 1, expect_no_action: true, counter: Some(("fas_reconcile_errors_total", "kind", "timeout")), ..row("Prometheus slower than the timeout") },
        Row { metric: Metric::NaN, policy: Some(USES_METRIC), ..bad_policy("NaN metric") },
        Row { metric: Metric::Inf, policy: Some(USES_METRIC), ..bad_policy("+Inf metric") },
        Row { policy: Some("function scale(m, app) error('boom') end"), ..bad_policy("policy runtime error") },
        Row { policy: Some("function scale(m, app) while true do end end"), ..bad_policy("policy endless loop") },
        Row {
            policy: Some("function scale(m, app) local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end end"),
            ..bad_policy("policy memory bomb")
        },
        Row { policy: Some("function scale(m, app) return { started = 'three' } end"), ..bad_policy("policy returns a string") },
        Row {
            policy: Some("function scale(m, app) app.state.f = function() end return { created = { min = 2, max = 5 }, started = 3 } end"),
            ..row("policy stores a function in state")
        },
        Row { latencies: Some(Latencies::default()), ..row("Fly's slow transitions (seconds)") },
        Row { faults: vec![FaultRule { status: Some(429), retry_after: Some(u64::MAX), count: Some(2), ..fault("list") }], ..row("429 with a Retry-After of 2^64 s") },
        Row { policy: Some(r#"function scale(m, app) return ("a"):rep(40):find(("a-"):rep(15) .. "b") end"#), ..bad_policy("policy: endless pattern match") },
        Row { policy: Some("function scale(m, app) setmetatable({}, { __gc = function() while true do end end }) end"), ..bad_policy("policy: endless finalizer") },
        Row { policy: Some("function scale(m, app) xpcall(function() while true do end end, function() while true do end end) end"), ..bad_policy("policy: endless xpcall handler") },
        Row { policy: Some("function scale(m, app) string.format = nil end"), ..bad_policy("policy rewrites string.format") },
        Row { policy: Some("function scale(m, app) return { startd = 3 } end"), ..bad_policy("policy returns an unknown key") },
        Row { policy: Some("function scale(m, app) return { started = { min = 4, max = 2 } } end"), ..bad_policy("policy returns min above max") },
        Row {
            latencies: Some(Latencies { list_lag_ms: 1500, ..Latencies::instant(20) }),
            max_created: 2,
            ..row("list lags creates and destroys 1.5 s")
        },
        Row {
            deploy_lease: true,
            policy: Some("function scale(m, app) return { created = { min = 2, max = 5 }, started = 0 } end"),
            counter: Some(("fas_machine_leased_skips_total", "app", "faulty")),
            ..row("a deploy holds a Machine's lease")
        },
        Row {
            faults: vec![applied_but_500("start"), applied_but_500("stop"), applied_but_500("destroy")],
            policy: Some(
                "function scale(m, app) app.state.n = (app.state.n or 0) + 1 \
                 if app.state.n % 4 < 2 then return { created = { min = 4, max = 5 }, started = 3 } end \
                 return { created = 1, started = 1 } end",
            ),
            max_created: 4,
            latencies: Some(Latencies { jitter: 0.5, ..Latencies::instant(60) }),
            counter: Some(("fas_machine_readbacks_total", "result", "applied")),
            ..row("start/stop/destroy applied but 500")
        },
    ]
}
