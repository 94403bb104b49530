//! Fault injection and observability for the simulator: rules that make chosen calls
//! fail, stall or hang, and the counters and request log tests read back.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::world::Rng;

/// One fault rule; the first rule that matches a request (and wins its coin toss)
/// applies. Set at start (`--faults FILE`) or at run time (`POST /__sim/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    /// `list`, `get`, `create`, `start`, `stop`, `destroy`, `wait`, `apps`, `graphql`, or `*`.
    pub action: String,
    /// Only requests for this app (any app when empty).
    pub app: String,
    /// Answer with this status (e.g. 500, 503, 429) and an error body.
    pub status: Option<u16>,
    /// Chance that a matching request is hit, 0..1 (default 1).
    pub probability: Option<f64>,
    /// How many requests to hit before the rule retires (unlimited when absent).
    pub count: Option<u32>,
    /// `Retry-After` seconds to send with the status.
    pub retry_after: Option<u64>,
    /// Extra latency before answering.
    pub delay_ms: u64,
    /// Never answer (until the client gives up).
    pub hang: bool,
    /// Carry the request out first, then fail or hang: a create that "timed out"
    /// but succeeded server-side.
    pub apply_first: bool,
}

/// What to do with one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fault {
    pub status: Option<u16>,
    pub retry_after: Option<u64>,
    pub delay_ms: u64,
    pub hang: bool,
    pub apply_first: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// A fingerprint of the token the request carried (8 hex digits; "" without one).
    pub caller: String,
    pub at_ms: u64,
    pub method: String,
    pub path: String,
    pub action: String,
    pub app: String,
    pub status: u16,
}

#[derive(Debug)]
pub struct Faults {
    pub rules: Vec<FaultRule>,
    /// The coin for `probability`, apart from the fleet's generator, so the same seed
    /// tosses the same coins whatever jitter the latencies drew.
    pub coin: Rng,
    /// "action status" -> count, e.g. "list 200".
    pub requests: BTreeMap<String, u64>,
    pub log: VecDeque<LogEntry>,
    /// Requests a rule was applied to.
    pub injected: u64,
}

const LOG_LIMIT: usize = 100_000;

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rules: Vec::new(),
            coin: Rng::new(1),
            requests: BTreeMap::new(),
            log: VecDeque::new(),
            injected: 0,
        }
    }
}

impl Faults {
    pub fn pick(&mut self, action: &str, app: &str) -> Option<Fault> {
        for rule in &mut self.rules {
            let action_ok = rule.action == "*" || rule.action == action;
            let app_ok = rule.app.is_empty() || rule.app == app;
            if !action_ok || !app_ok || rule.count == Some(0) {
                continue;
            }
            if self.coin.unit() >= rule.probability.unwrap_or(1.0) {
                continue;
            }
            if let Some(c) = rule.count.as_mut() {
                *c -= 1;
            }
            self.injected += 1;
            return Some(Fault {
                status: rule.status,
                retry_after: rule.retry_after,
                delay_ms: rule.delay_ms,
                hang: rule.hang,
                apply_first: rule.apply_first,
            });
        }
        None
    }

    pub fn record(&mut self, entry: LogEntry) {
        *self
            .requests
            .entry(format!("{} {}", entry.action, entry.status))
            .or_default() += 1;
        if self.log.len() >= LOG_LIMIT {
            self.log.pop_front();
        }
        self.log.push_back(entry);
    }
}
