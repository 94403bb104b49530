//! The fast path's settings: how often an app is re-decided between full rounds
//! (`watch-interval`), how many collector reads per second those steps may make over
//! all apps (`watch-budget`), and the push endpoints' bearer token and alert label.

use std::time::Duration;

use super::{invalid, text, ConfigError, Env, Secret};

/// Collector reads per second the watch steps of all apps may make. 500 keeps up to
/// 500 one-metric apps at a 1 s watch, 1,000 apps at 2 s, and from 7,500 apps on (at a
/// 15 s interval) the watch period reaches the interval, so the sources see exactly
/// the reads fly-autoscaler makes (one per app per interval) and no more.
pub const DEFAULT_BUDGET: f64 = 500.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    /// Shortest time between two watch steps of one app; zero turns watching off.
    pub interval: Duration,
    /// Collector reads per second over all apps' watch steps.
    pub budget: f64,
    /// Bearer token of `POST /v1/apps/{app}/poke` and `/v1/alertmanager`; empty: off.
    pub poke_token: Secret,
    /// The alert label that names the app to poke.
    pub alert_label: String,
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            interval: Duration::from_secs(1),
            budget: DEFAULT_BUDGET,
            poke_token: Secret::default(),
            alert_label: "app".into(),
        }
    }
}

impl Watch {
    /// Full rounds only (benchmarks and tests that count a round's reads).
    pub fn off() -> Watch {
        Watch {
            interval: Duration::ZERO,
            ..Watch::default()
        }
    }
}

/// The YAML keys, as read from the file.
#[derive(Default)]
pub struct WatchKeys {
    pub interval: Option<String>,
    pub budget: Option<String>,
    pub poke_token: Option<String>,
    pub alert_label: Option<String>,
}

impl Watch {
    /// `FAS_WATCH_INTERVAL`, `FAS_WATCH_BUDGET`, `FAS_POKE_TOKEN`, `FAS_ALERTMANAGER_LABEL`.
    pub fn from_env(env: Env) -> Result<Watch, ConfigError> {
        let get = |n: &str| env(n).filter(|s| !s.trim().is_empty());
        let mut w = Watch::default();
        w.apply(
            WatchKeys {
                interval: get("FAS_WATCH_INTERVAL"),
                budget: get("FAS_WATCH_BUDGET"),
                poke_token: get("FAS_POKE_TOKEN"),
                alert_label: get("FAS_ALERTMANAGER_LABEL"),
            },
            ["FAS_WATCH_INTERVAL", "FAS_WATCH_BUDGET"],
        )?;
        Ok(w)
    }

    /// Sets what is given; `names` are the two keys' names for errors.
    pub fn apply(&mut self, k: WatchKeys, names: [&str; 2]) -> Result<(), ConfigError> {
        if let Some(s) = k.interval {
            self.interval = parse_interval(&s)
                .map_err(|e| invalid(format!("cannot parse {} as duration: {e}", names[0])))?;
        }
        if let Some(s) = k.budget {
            self.budget = s.trim().parse().map_err(|_| {
                invalid(format!(
                    "cannot parse {} as a number of reads per second: {s:?}",
                    names[1]
                ))
            })?;
        }
        if let Some(t) = k.poke_token {
            self.poke_token = Secret::new(t.trim());
        }
        if let Some(l) = k.alert_label {
            self.alert_label = l.trim().to_string();
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.interval.is_zero() && self.interval < Duration::from_millis(100) {
            return Err(invalid(format!(
                "watch interval {:?} is too short: use 0 (off) or at least 100ms (FAS_WATCH_INTERVAL / watch-interval)",
                self.interval
            )));
        }
        if !(self.budget.is_finite() && self.budget > 0.0) {
            return Err(invalid(format!(
                "watch budget must be a positive number of collector reads per second, got {} (FAS_WATCH_BUDGET / watch-budget)",
                self.budget
            )));
        }
        if self.alert_label.is_empty() {
            return Err(invalid(
                "alertmanager label must name a label, such as app (FAS_ALERTMANAGER_LABEL / alertmanager-label)",
            ));
        }
        Ok(())
    }

    /// One app's time between watch steps: the watch interval, or longer when
    /// `apps` apps reading `reads` collectors each would exceed the budget. None when
    /// that reaches the full round's interval (full rounds only, as upstream).
    pub fn period(&self, apps: usize, reads: usize, round: Duration) -> Option<Duration> {
        if self.interval.is_zero() || reads == 0 {
            return None;
        }
        let spread = Duration::from_secs_f64((reads * apps.max(1)) as f64 / self.budget);
        let period = self.interval.max(spread);
        (period < round).then_some(period)
    }
}

/// A duration, where `0` and `off` turn watching off.
fn parse_interval(s: &str) -> Result<Duration, String> {
    match s.trim() {
        // YAML reads a bare `off` as the boolean false.
        "0" | "off" | "false" => Ok(Duration::ZERO),
        t => text::parse_duration(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_spreads_reads_over_the_budget_and_stops_at_the_interval() {
        let w = Watch::default();
        let round = Duration::from_secs(15);
        let secs = |apps, reads| w.period(apps, reads, round).map(|d| d.as_secs_f64());
        assert_eq!(secs(1, 1), Some(1.0));
        assert_eq!(secs(10, 1), Some(1.0));
        assert_eq!(secs(500, 1), Some(1.0));
        assert_eq!(secs(1_000, 1), Some(2.0));
        assert_eq!(secs(1_000, 2), Some(4.0));
        assert_eq!(secs(7_500, 1), None, "15 s: full rounds only");
        assert_eq!(secs(10_000, 1), None);
        assert_eq!(secs(10, 0), None, "nothing to watch");
        let off = Watch {
            interval: Duration::ZERO,
            ..Watch::default()
        };
        assert_eq!(off.period(1, 1, round), None);
    }

    #[test]
    fn bad_values_name_their_key() {
        let env = |n: &str| (n == "FAS_WATCH_BUDGET").then(|| "lots".to_string());
        let e = Watch::from_env(&env).unwrap_err().to_string();
        assert!(e.contains("FAS_WATCH_BUDGET"), "{e}");
        let env = |n: &str| (n == "FAS_WATCH_INTERVAL").then(|| "off".to_string());
        assert_eq!(Watch::from_env(&env).unwrap().interval, Duration::ZERO);
        let env = |n: &str| (n == "FAS_WATCH_INTERVAL").then(|| "10ms".to_string());
        let e = Watch::from_env(&env).unwrap().validate().unwrap_err();
        assert!(e.to_string().contains("watch-interval"), "{e}");
        let w = Watch {
            budget: 0.0,
            ..Watch::default()
        };
        assert!(w
            .validate()
            .unwrap_err()
            .to_string()
            .contains("FAS_WATCH_BUDGET"));
    }
}
