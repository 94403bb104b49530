//! The rows of the fault matrix: one fault each, for the app named `faulty`.

use super::{Metric, Row};
use crate::sim::FaultRule;

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
    }
}

const USES_METRIC: &str = "function scale(m, app) return { started = m.q / 10 } end";

pub fn rows() -> Vec<Row> {
    let api = Some(("fas_reconcile_errors_total", "kind", "api"));
    let policy_errors = Some(("fas_policy_errors_total", "app", "faulty"));
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
        Row { metric: Metric::NaN, policy: Some(USES_METRIC), max_created: 1, expect_no_action: true, counter: policy_errors, ..row("NaN metric") },
        Row { metric: Metric::Inf, policy: Some(USES_METRIC), max_created: 1, expect_no_action: true, counter: policy_errors, ..row("+Inf metric") },
        Row { policy: Some("function scale(m, app) error('boom') end"), max_created: 1, expect_no_action: true, counter: policy_errors, ..row("policy runtime error") },
        Row { policy: Some("function scale(m, app) while true do end end"), max_created: 1, expect_no_action: true, counter: policy_errors, ..row("policy endless loop") },
        Row {
            policy: Some("function scale(m, app) local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end end"),
            max_created: 1,
            expect_no_action: true,
            counter: policy_errors,
            ..row("policy memory bomb")
        },
        Row { policy: Some("function scale(m, app) return { started = 'three' } end"), max_created: 1, expect_no_action: true, counter: policy_errors, ..row("policy returns a string") },
        Row {
            policy: Some("function scale(m, app) app.state.f = function() end return { created = { min = 2, max = 5 }, started = 3 } end"),
            ..row("policy stores a function in state")
        },
    ]
}
