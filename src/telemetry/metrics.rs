//! fas's Prometheus metrics, kept in a `prometheus` crate registry: counters, gauges
//! and one histogram, rendered in the text exposition format; the per-app gauges are
//! kept apart, compactly (app_gauges.rs). Upstream's names are kept; fas's own are
//! added.

use std::collections::HashMap;

use prometheus::{
    core::Collector as _, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, Opts,
    Registry, TextEncoder,
};

use super::app_gauges::AppGauges;
use super::families::{Family, FAMILIES, ZERO_SERIES};

const BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// fas's metrics in a `prometheus` registry. Callers name a family and give its labels
/// as pairs; the family's label order comes from `FAMILIES`.
pub struct Metrics {
    registry: Registry,
    counters: HashMap<&'static str, (IntCounterVec, &'static [&'static str])>,
    gauges: HashMap<&'static str, (GaugeVec, &'static [&'static str])>,
    duration: Histogram,
    /// Gauges whose first label is `app`, by name: their index in `app_families`.
    app_index: HashMap<&'static str, usize>,
    app_families: Vec<&'static Family>,
    app_gauges: AppGauges,
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new();
        let mut counters = HashMap::new();
        let mut gauges = HashMap::new();
        let mut duration = None;
        let (mut app_index, mut app_families) = (HashMap::new(), Vec::new());
        for family @ (name, kind, help, labels) in FAMILIES {
            if *kind == "gauge" && labels.first() == Some(&"app") {
                app_index.insert(*name, app_families.len());
                app_families.push(family);
                continue;
            }
            let opts = Opts::new(*name, *help);
            // The names and labels are constants of this file: a failure is a bug here.
            let registered = match *kind {
                "counter" => IntCounterVec::new(opts, labels).and_then(|v| {
                    registry.register(Box::new(v.clone()))?;
                    counters.insert(*name, (v, *labels));
                    Ok(())
                }),
                "gauge" => GaugeVec::new(opts, labels).and_then(|v| {
                    registry.register(Box::new(v.clone()))?;
                    gauges.insert(*name, (v, *labels));
                    Ok(())
                }),
                _ => {
                    Histogram::with_opts(HistogramOpts::new(*name, *help).buckets(BUCKETS.to_vec()))
                        .and_then(|h| {
                            registry.register(Box::new(h.clone()))?;
                            duration = Some(h);
                            Ok(())
                        })
                }
            };
            registered.expect("fas's metric families are valid");
        }
        for (name, label, values) in ZERO_SERIES {
            let (vec, _) = &counters[name];
            for v in *values {
                let _ = vec.get_metric_with_label_values(&[v]);
            }
            debug_assert_eq!(counters[name].1, [*label]);
        }
        Metrics {
            registry,
            counters,
            gauges,
            duration: duration.expect("FAMILIES has the duration histogram"),
            app_index,
            app_families,
            app_gauges: AppGauges::default(),
        }
    }
}

/// The label values of `pairs` in the family's order ("" for a missing one).
fn values<'a>(order: &[&str], pairs: &[(&str, &'a str)]) -> Vec<&'a str> {
    order
        .iter()
        .map(|l| pairs.iter().find(|(k, _)| k == l).map_or("", |(_, v)| *v))
        .collect()
}

impl Metrics {
    fn counter_of(&self, name: &str, pairs: &[(&str, &str)]) -> Option<IntCounter> {
        let (vec, order) = self.counters.get(name)?;
        vec.get_metric_with_label_values(&values(order, pairs)).ok()
    }

    pub fn inc(&self, name: &'static str, pairs: &[(&str, &str)]) {
        if let Some(c) = self.counter_of(name, pairs) {
            c.inc();
        }
    }

    /// Sets a counter kept elsewhere (it only grows there).
    pub fn set_counter(&self, name: &'static str, pairs: &[(&str, &str)], value: u64) {
        if let Some(c) = self.counter_of(name, pairs) {
            c.inc_by(value.saturating_sub(c.get()));
        }
    }

    pub fn set(&self, name: &'static str, pairs: &[(&str, &str)], value: f64) {
        if let Some(i) = self.app_index.get(name) {
            let (_, _, _, order) = self.app_families[*i];
            let vals = values(order, pairs);
            self.app_gauges.set(*i, vals[0], &vals[1..], value);
            return;
        }
        let Some((vec, order)) = self.gauges.get(name) else {
            return;
        };
        if let Ok(g) = vec.get_metric_with_label_values(&values(order, pairs)) {
            g.set(value);
        }
    }

    /// Drops every gauge of an app that is no longer reconciled.
    pub fn forget_app(&self, app: &str) {
        self.app_gauges.forget(app);
    }

    pub fn observe_duration(&self, secs: f64) {
        self.duration.observe(secs);
    }

    /// A counter's value (0 for a series never counted), read without creating it.
    pub fn counter(&self, name: &'static str, pairs: &[(&str, &str)]) -> u64 {
        self.counter_series(name)
            .filter(|(labels, _)| {
                pairs
                    .iter()
                    .all(|(k, v)| labels.get(*k) == Some(&v.to_string()))
            })
            .filter(|(labels, _)| labels.len() == pairs.len())
            .map(|(_, v)| v)
            .sum()
    }

    /// The sum of a counter's series whose labels include `key="value"` (every
    /// series when `key` is `*`).
    pub fn counter_sum(&self, name: &str, key: &str, value: &str) -> u64 {
        self.counter_series(name)
            .filter(|(labels, _)| key == "*" || labels.get(key).map(String::as_str) == Some(value))
            .map(|(_, v)| v)
            .sum()
    }

    fn counter_series(&self, name: &str) -> impl Iterator<Item = (HashMap<String, String>, u64)> {
        let family = self.counters.get(name).map(|(vec, _)| vec.collect());
        let family = family.into_iter().flatten();
        family.flat_map(|f| {
            f.get_metric()
                .iter()
                .map(|m| {
                    let labels = m
                        .get_label()
                        .iter()
                        .map(|l| (l.name().to_string(), l.value().to_string()))
                        .collect();
                    (labels, m.get_counter().get_value() as u64)
                })
                .collect::<Vec<_>>()
        })
    }

    /// The text exposition format (families without a series yet are left out).
    pub fn render(&self) -> String {
        let mut out = TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# fas: cannot encode metrics: {e}\n"));
        self.app_gauges.render(&self.app_families, &mut out);
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
            text.contains("# TYPE fas_reconcile_count counter\n"),
            "{text}"
        );
        assert!(
            text.contains("\nfas_reconcile_count{status=\"no_scale\"} 2\n"),
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

    /// Upstream's counters, and every documented value of fas's fixed-label ones,
    /// are on the first scrape at 0.
    #[test]
    fn documented_counter_series_start_at_zero() {
        let text = Metrics::default().render();
        for (name, label, values) in ZERO_SERIES {
            for v in *values {
                let series = format!("{name}{{{label}=\"{v}\"}} 0\n");
                assert!(text.contains(&series), "{series} missing:\n{text}");
            }
        }
        assert!(text.contains("fas_machine_start_count{status=\"failed\"} 0\n"));
    }

    #[test]
    fn counters_read_back_without_creating_series() {
        let m = Metrics::default();
        assert_eq!(m.counter("fas_api_errors_total", &[("call", "get")]), 0);
        assert!(
            !m.render().contains("fas_api_errors_total{"),
            "reading made a series"
        );
        m.set_counter("fas_api_retries_total", &[("call", "start")], 3);
        m.set_counter("fas_api_retries_total", &[("call", "start")], 5);
        m.set_counter("fas_api_retries_total", &[("call", "stop")], 2);
        assert_eq!(m.counter("fas_api_retries_total", &[("call", "start")]), 5);
        assert_eq!(m.counter_sum("fas_api_retries_total", "*", ""), 7);
        m.inc(
            "fas_machine_readbacks_total",
            &[("call", "stop"), ("result", "applied")],
        );
        assert_eq!(
            m.counter_sum("fas_machine_readbacks_total", "result", "applied"),
            1
        );
        assert_eq!(
            m.counter_sum("fas_machine_readbacks_total", "result", "unknown"),
            0
        );
    }
}
