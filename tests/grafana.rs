//! examples/grafana: the dashboard is valid JSON whose every query names metrics fas
//! serves, and the alert rules pass `promtool check rules` and name served metrics too.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use support::repo;

/// The metric families fas registers (the names in telemetry/families.rs).
fn served() -> BTreeSet<String> {
    let src = std::fs::read_to_string(repo().join("src/telemetry/families.rs")).unwrap();
    names(&src)
}

/// Every `fas_…` name in `text`, histogram suffixes dropped.
fn names(text: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\bfas_[a-z_]+").unwrap();
    re.find_iter(text)
        .map(|m| {
            let n = m.as_str();
            ["_bucket", "_sum"]
                .iter()
                .find_map(|s| n.strip_suffix(s).filter(|b| b.ends_with("_seconds")))
                .unwrap_or(n)
                .to_string()
        })
        .collect()
}

#[test]
fn the_dashboard_queries_metrics_fas_serves() {
    let text = std::fs::read_to_string(repo().join("examples/grafana/fas-dashboard.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let panels = dash["panels"].as_array().unwrap();
    assert!(panels.len() >= 10);
    let mut exprs = String::new();
    for p in panels {
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{p}");
        for t in targets {
            exprs.push_str(t["expr"].as_str().unwrap());
            exprs.push('\n');
        }
    }
    let served = served();
    // The regex in the actions panel names families by pattern: expand it.
    let used: BTreeSet<String> = names(&exprs)
        .into_iter()
        .filter(|n| n != "fas_machine_")
        .collect();
    let unknown: Vec<_> = used.difference(&served).collect();
    assert!(unknown.is_empty(), "not served by fas: {unknown:?}");
    for must in [
        "fas_machines",
        "fas_target",
        "fas_metric_value",
        "fas_dry_run",
        "fas_reconcile_count",
    ] {
        assert!(used.contains(must), "{must}");
    }
}

#[cfg_attr(
    fas_no_promtool,
    ignore = "needs promtool here: apt-get install -y prometheus"
)]
#[test]
fn the_alert_rules_check_and_name_served_metrics() {
    let Some(promtool) = support::servers::require(
        "promtool",
        &["/usr/bin/promtool".into()],
        "apt-get install -y prometheus",
    ) else {
        return;
    };
    let file = repo().join("examples/grafana/alerts.yml");
    let out = Command::new(promtool)
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let used = names(&text);
    let served = served();
    let unknown: Vec<_> = used.difference(&served).collect();
    assert!(unknown.is_empty(), "not served by fas: {unknown:?}");
    for must in [
        "fas_app_consecutive_failures",
        "fas_policy_errors_total",
        "fas_policy_quarantined",
    ] {
        assert!(used.contains(must), "{must}");
    }
}
