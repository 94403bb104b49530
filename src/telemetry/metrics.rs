//! A small Prometheus registry: counters, gauges and one histogram, rendered in the
//! text exposition format. Upstream's names are kept; fas's own are added.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// (name, type, help) of every metric fas exposes.
const FAMILIES: &[(&str, &str, &str)] = &[
    (
        "fas_reconcile_count",
        "counter",
        "Reconciles by outcome: create, destroy, start, stop, suspend, no_scale.",
    ),
    (
        "fas_machine_create_count",
        "counter",
        "Machines created, by status.",
    ),
    (
        "fas_machine_destroy_count",
        "counter",
        "Machines destroyed, by status.",
    ),
    (
        "fas_machine_start_count",
        "counter",
        "Machines started, by status.",
    ),
    (
        "fas_machine_stop_count",
        "counter",
        "Machines stopped, by status.",
    ),
    (
        "fas_machine_suspend_count",
        "counter",
        "Machines suspended (stop-mode suspend), by status.",
    ),
    (
        "fas_machine_leased_skips_total",
        "counter",
        "Machines left alone for a round because someone else (a deploy) held their lease, by app.",
    ),
    (
        "fas_machine_readbacks_total",
        "counter",
        "Machines read back after an ambiguous answer, by call and what the read showed (applied, not_applied, unknown).",
    ),
    (
        "fas_api_retries_total",
        "counter",
        "Fly API requests resent after a transient failure (5xx, 429, timeout, connection), by call.",
    ),
    (
        "fas_reconcile_errors_total",
        "counter",
        "Reconciles that changed nothing because of an error, by kind.",
    ),
    (
        "fas_collector_errors_total",
        "counter",
        "Failed metric collections, by collector.",
    ),
    (
        "fas_policy_errors_total",
        "counter",
        "Failed policy decisions, by app.",
    ),
    (
        "fas_api_errors_total",
        "counter",
        "Failed Fly API calls, by call.",
    ),
    (
        "fas_reconcile_panics_total",
        "counter",
        "Reconciles that panicked (a bug): the round ended, the app's loop went on, by app.",
    ),
    (
        "fas_reconcile_skipped_total",
        "counter",
        "Reconciles skipped, by reason (release, overrun).",
    ),
    (
        "fas_metric_value",
        "gauge",
        "Last collected value of each metric, by app.",
    ),
    (
        "fas_target",
        "gauge",
        "Last targets of the policy, by app, dimension and bound.",
    ),
    (
        "fas_machines",
        "gauge",
        "Machines of the process group at the last reconcile, by app and state.",
    ),
    ("fas_apps", "gauge", "Apps being reconciled."),
    (
        "fas_policy_quarantined",
        "gauge",
        "1 for an app whose decision overran the policy watchdog: it is no longer scaled until fas restarts.",
    ),
    (
        "fas_reconcile_duration_seconds",
        "histogram",
        "Time one app's reconcile took.",
    ),
];

const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

type Key = (&'static str, String);

#[derive(Default)]
struct Registry {
    counters: BTreeMap<Key, u64>,
    gauges: BTreeMap<Key, f64>,
    /// bucket counts, sum, count
    duration: (Vec<u64>, f64, u64),
}

#[derive(Default)]
pub struct Metrics {
    reg: Mutex<Registry>,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn line(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.reg.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn inc(&self, name: &'static str, pairs: &[(&str, &str)]) {
        *self
            .lock()
            .counters
            .entry((name, labels(pairs)))
            .or_default() += 1;
    }

    /// Sets a counter kept elsewhere (it only grows there).
    pub fn set_counter(&self, name: &'static str, pairs: &[(&str, &str)], value: u64) {
        self.lock().counters.insert((name, labels(pairs)), value);
    }

    pub fn set(&self, name: &'static str, pairs: &[(&str, &str)], value: f64) {
        self.lock().gauges.insert((name, labels(pairs)), value);
    }

    /// Drops every gauge of an app that is no longer reconciled.
    pub fn forget_app(&self, app: &str) {
        let needle = format!("app=\"{}\"", escape(app));
        self.lock()
            .gauges
            .retain(|(_, l), _| !l.split(',').any(|p| p == needle));
    }

    pub fn observe_duration(&self, secs: f64) {
        let mut reg = self.lock();
        if reg.duration.0.is_empty() {
            reg.duration.0 = vec![0; BUCKETS.len()];
        }
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                reg.duration.0[i] += 1;
            }
        }
        reg.duration.1 += secs;
        reg.duration.2 += 1;
    }

    pub fn counter(&self, name: &'static str, pairs: &[(&str, &str)]) -> u64 {
        self.lock()
            .counters
            .get(&(name, labels(pairs)))
            .copied()
            .unwrap_or(0)
    }

    /// The sum of a counter's series whose labels include `key="value"` (every
    /// series when `key` is `*`).
    pub fn counter_sum(&self, name: &str, key: &str, value: &str) -> u64 {
        let pair = labels(&[(key, value)]);
        let any = key == "*";
        self.lock()
            .counters
            .iter()
            .filter(|((n, l), _)| *n == name && (any || l.split(',').any(|p| p == pair)))
            .map(|(_, v)| *v)
            .sum()
    }

    pub fn render(&self) -> String {
        let reg = self.lock();
        let mut out = String::new();
        for (name, kind, help) in FAMILIES {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            match *kind {
                "counter" => reg
                    .counters
                    .iter()
                    .filter(|((n, _), _)| n == name)
                    .for_each(|((n, l), v)| line(&mut out, n, l, v)),
                "gauge" => reg
                    .gauges
                    .iter()
                    .filter(|((n, _), _)| n == name)
                    .for_each(|((n, l), v)| line(&mut out, n, l, v)),
                _ => {
                    let (buckets, sum, count) = &reg.duration;
                    for (i, b) in BUCKETS.iter().enumerate() {
                        line(
                            &mut out,
                            &format!("{name}_bucket"),
                            &format!("le=\"{b}\""),
                            buckets.get(i).copied().unwrap_or(0),
                        );
                    }
                    line(&mut out, &format!("{name}_bucket"), "le=\"+Inf\"", count);
                    line(&mut out, &format!("{name}_sum"), "", sum);
                    line(&mut out, &format!("{name}_count"), "", count);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_exposition_text() {
        let m = Metrics::default();
        m.inc("fas_reconcile_count", &[("status", "no_scale")]);
        m.inc("fas_reconcile_count", &[("status", "no_scale")]);
        m.set(
            "fas_metric_value",
            &[("app", "web"), ("metric", "q\"x")],
            4.5,
        );
        m.observe_duration(0.02);
        let text = m.render();
        assert!(
            text.contains(
                "# TYPE fas_reconcile_count counter\nfas_reconcile_count{status=\"no_scale\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("fas_metric_value{app=\"web\",metric=\"q\\\"x\"} 4.5"),
            "{text}"
        );
        assert!(
            text.contains("fas_reconcile_duration_seconds_bucket{le=\"0.025\"} 1"),
            "{text}"
        );
        assert!(text.contains("fas_reconcile_duration_seconds_count 1"));
        m.forget_app("web");
        assert!(!m.render().contains("app=\"web\""));
    }
}
