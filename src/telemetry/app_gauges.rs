//! The per-app gauges (`fas_machines{app,state}`, `fas_target{app,…}`, …), kept
//! compactly and written at scrape time. In the `prometheus` crate every series holds
//! its own copy of the family's description, help text included, and its label pairs
//! as protobuf messages: a few KB per app over the per-app families, tens of MB at
//! 10,000 apps. Here a series is its label values after `app` and a number.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use super::families::Family;

struct Series {
    family: usize,
    /// The values of the family's labels after `app`, in the family's order.
    labels: Box<[Box<str>]>,
    value: f64,
}

/// The per-app families (their index in the list given to `render`) and series.
#[derive(Default)]
pub struct AppGauges {
    apps: Mutex<BTreeMap<String, Vec<Series>>>,
}

impl AppGauges {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Series>>> {
        self.apps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets `family`'s series of `app` with these other label values.
    pub fn set(&self, family: usize, app: &str, labels: &[&str], value: f64) {
        let mut apps = self.lock();
        let series = match apps.get_mut(app) {
            Some(s) => s,
            None => apps.entry(app.to_string()).or_default(),
        };
        let same = |s: &&mut Series| {
            s.family == family && s.labels.iter().map(|l| &**l).eq(labels.iter().copied())
        };
        match series.iter_mut().find(same) {
            Some(s) => s.value = value,
            None => series.push(Series {
                family,
                labels: labels.iter().map(|l| Box::from(*l)).collect(),
                value,
            }),
        }
    }

    pub fn forget(&self, app: &str) {
        self.lock().remove(app);
    }

    /// Writes every family of `families` that has a series, in the text format.
    pub fn render(&self, families: &[&Family], out: &mut String) {
        let apps = self.lock();
        for (i, (name, _, help, labels)) in families.iter().enumerate() {
            let mut lines = apps.iter().flat_map(|(app, series)| {
                series
                    .iter()
                    .filter(move |s| s.family == i)
                    .map(move |s| (app, s))
            });
            let Some(first) = lines.next() else {
                continue;
            };
            let _ = writeln!(
                out,
                "# HELP {name} {}",
                help.replace('\\', "\\\\").replace('\n', "\\n")
            );
            let _ = writeln!(out, "# TYPE {name} gauge");
            for (app, s) in std::iter::once(first).chain(lines) {
                // Label names in sorted order, as the prometheus crate writes them.
                let mut pairs: Vec<(&str, &str)> = vec![("app", app)];
                pairs.extend(
                    labels[1..]
                        .iter()
                        .copied()
                        .zip(s.labels.iter().map(|l| &**l)),
                );
                pairs.sort();
                out.push_str(name);
                for (k, (label, value)) in pairs.iter().enumerate() {
                    out.push(if k == 0 { '{' } else { ',' });
                    let _ = write!(out, "{label}=\"{}\"", escape(value));
                }
                out.push_str("} ");
                out.push_str(&number(s.value));
                out.push('\n');
            }
        }
    }
}

/// A label value in the text format: backslash, quote and newline escaped.
fn escape(v: &str) -> std::borrow::Cow<'_, str> {
    if !v.contains(['\\', '"', '\n']) {
        return v.into();
    }
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .into()
}

/// A sample value as Prometheus reads it (`NaN`, `+Inf`, `-Inf`).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMS: [Family; 2] = [
        ("fas_machines", "gauge", "Machines.", &["app", "state"]),
        (
            "fas_target",
            "gauge",
            "Targets.",
            &["app", "dimension", "bound"],
        ),
    ];

    #[test]
    fn writes_sorted_labels_escaped_values_and_forgets_apps() {
        let g = AppGauges::default();
        g.set(0, "web", &["started"], 2.0);
        g.set(0, "web", &["started"], 3.0);
        g.set(1, "we\"b", &["started", "min"], f64::INFINITY);
        let mut out = String::new();
        g.render(&[&FAMS[0], &FAMS[1]], &mut out);
        assert_eq!(
            out,
            "# HELP fas_machines Machines.\n# TYPE fas_machines gauge\n\
             fas_machines{app=\"web\",state=\"started\"} 3\n\
             # HELP fas_target Targets.\n# TYPE fas_target gauge\n\
             fas_target{app=\"we\\\"b\",bound=\"min\",dimension=\"started\"} +Inf\n"
        );
        g.forget("web");
        g.forget("we\"b");
        let mut out = String::new();
        g.render(&[&FAMS[0], &FAMS[1]], &mut out);
        assert_eq!(out, "", "families without a series are left out");
    }
}
