//! `fallback` (KEDA's, for Fly): what an app does when a metric keeps failing. Until
//! `failure-threshold` rounds in a row have failed to collect, the app holds (as
//! always); from then on, until a round collects again, its targets come from
//! `behavior`: `static` (`started` / `created` as given), `current` (hold what runs),
//! `current-if-higher` / `current-if-lower` (the current count when it is higher /
//! lower than the given one, else the given one).

use serde::Deserialize;

use super::{invalid, ConfigError, Env};

#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    pub failure_threshold: u32,
    pub behavior: String,
    pub started: Option<i64>,
    pub created: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileFallback {
    pub failure_threshold: Option<u32>,
    pub behavior: Option<String>,
    pub started: Option<i64>,
    pub created: Option<i64>,
}

impl From<FileFallback> for Fallback {
    fn from(f: FileFallback) -> Fallback {
        Fallback {
            failure_threshold: f.failure_threshold.unwrap_or(3),
            behavior: f.behavior.unwrap_or_else(|| "static".into()),
            started: f.started,
            created: f.created,
        }
    }
}

/// `FAS_FALLBACK_*`: set when any of them is.
pub fn from_env(env: Env) -> Result<Option<Fallback>, ConfigError> {
    let get = |n: &str| env(n).filter(|s| !s.trim().is_empty());
    let num = |n: &str| -> Result<Option<i64>, ConfigError> {
        get(n)
            .map(|s| {
                s.trim()
                    .parse()
                    .map_err(|_| invalid(format!("cannot parse {n} as integer: {s:?}")))
            })
            .transpose()
    };
    let names = [
        "FAS_FALLBACK_FAILURE_THRESHOLD",
        "FAS_FALLBACK_BEHAVIOR",
        "FAS_FALLBACK_STARTED",
        "FAS_FALLBACK_CREATED",
    ];
    if names.iter().all(|n| get(n).is_none()) {
        return Ok(None);
    }
    let threshold = num("FAS_FALLBACK_FAILURE_THRESHOLD")?;
    Ok(Some(Fallback::from(FileFallback {
        failure_threshold: threshold.map(|n| n.clamp(0, i64::from(u32::MAX)) as u32),
        behavior: get("FAS_FALLBACK_BEHAVIOR"),
        started: num("FAS_FALLBACK_STARTED")?,
        created: num("FAS_FALLBACK_CREATED")?,
    })))
}

impl Fallback {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let key = "(fallback / FAS_FALLBACK_*)";
        if self.failure_threshold == 0 {
            return Err(invalid(format!(
                "fallback failure-threshold must be at least 1 {key}"
            )));
        }
        let needs_count = match self.behavior.as_str() {
            "current" => false,
            "static" | "current-if-higher" | "current-if-lower" => true,
            other => {
                return Err(invalid(format!(
                    "fallback behavior must be static, current, current-if-higher or current-if-lower {key}, got {other:?}"
                )))
            }
        };
        if needs_count && self.started.is_none() && self.created.is_none() {
            return Err(invalid(format!(
                "fallback behavior {:?} needs started and/or created counts {key}",
                self.behavior
            )));
        }
        if self.started.is_some_and(|n| n < 0) || self.created.is_some_and(|n| n < 0) {
            return Err(invalid(format!("fallback counts must be 0 or more {key}")));
        }
        Ok(())
    }

    /// The target for one dimension given what runs now, or None to leave it alone.
    pub fn target(&self, given: Option<i64>, current: i64) -> Option<i64> {
        match self.behavior.as_str() {
            "current" => Some(current),
            "current-if-higher" => given.map(|g| g.max(current)),
            "current-if-lower" => given.map(|g| g.min(current)),
            _ => given,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fb(behavior: &str) -> Fallback {
        Fallback {
            failure_threshold: 3,
            behavior: behavior.into(),
            started: Some(4),
            created: None,
        }
    }

    #[test]
    fn behaviors_as_keda_defines_them() {
        assert_eq!(fb("static").target(Some(4), 9), Some(4));
        assert_eq!(fb("current").target(Some(4), 9), Some(9));
        assert_eq!(fb("current").target(None, 2), Some(2));
        assert_eq!(fb("current-if-higher").target(Some(4), 9), Some(9));
        assert_eq!(fb("current-if-higher").target(Some(4), 1), Some(4));
        assert_eq!(fb("current-if-lower").target(Some(4), 9), Some(4));
        assert_eq!(fb("current-if-lower").target(Some(4), 1), Some(1));
        assert_eq!(fb("static").target(None, 3), None);
        assert!(fb("sometimes").validate().is_err());
        let none = Fallback {
            started: None,
            ..fb("static")
        };
        assert!(none.validate().is_err());
        assert!(Fallback {
            failure_threshold: 0,
            ..fb("static")
        }
        .validate()
        .is_err());
    }

    #[test]
    fn from_the_environment() {
        let env = |n: &str| match n {
            "FAS_FALLBACK_BEHAVIOR" => Some("current-if-higher".to_string()),
            "FAS_FALLBACK_STARTED" => Some("2".to_string()),
            _ => None,
        };
        let f = from_env(&env).unwrap().unwrap();
        assert_eq!((f.failure_threshold, f.started), (3, Some(2)));
        assert!(from_env(&|_| None).unwrap().is_none());
    }
}
