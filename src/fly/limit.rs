//! Fly's documented Machines API rate limits as token buckets: per action and per
//! Machine (or per app for calls without one), 1 request/s with bursts of 3; Get
//! Machine 5/s with bursts of 10. The client waits for a token (so a 1,000-app org
//! earns no 429s); the simulator answers 429 when a bucket is empty.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    List,
    Get,
    Create,
    Start,
    Stop,
    Destroy,
    Wait,
    Suspend,
    /// Acquire, read or release a lease.
    Lease,
    /// App listing and release status (GraphQL and `/v1/apps`).
    Apps,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Get => "get",
            Action::Create => "create",
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Destroy => "destroy",
            Action::Wait => "wait",
            Action::Suspend => "suspend",
            Action::Lease => "lease",
            Action::Apps => "apps",
        }
    }

    /// (requests per second, burst).
    fn limits(self) -> (f64, f64) {
        match self {
            Action::Get => (5.0, 10.0),
            // Not documented for GraphQL; generous, so the limiter only smooths bursts.
            Action::Apps => (10.0, 20.0),
            _ => (1.0, 3.0),
        }
    }
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

#[derive(Default)]
pub struct Buckets {
    map: Mutex<HashMap<(Action, String), Bucket>>,
    /// Refill slower than the documented rate by this fraction (0 = exact).
    margin: f64,
}

impl Buckets {
    /// Buckets for a client: 10% under Fly's rates, so network jitter between two
    /// requests can never push one over the server's limit.
    pub fn for_client() -> Buckets {
        Buckets {
            margin: 0.1,
            ..Buckets::default()
        }
    }

    /// Takes a token now, or says how long until one is available.
    pub fn try_take(&self, action: Action, scope: &str) -> Result<(), Duration> {
        let (rate, burst) = action.limits();
        let rate = rate * (1.0 - self.margin);
        let now = Instant::now();
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 50_000 {
            // Forget idle buckets (full ones behave exactly like new ones).
            map.retain(|(a, _), b| {
                b.tokens + now.duration_since(b.last).as_secs_f64() * a.limits().0 < a.limits().1
            });
        }
        let b = map.entry((action, scope.to_string())).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        b.tokens = (b.tokens + now.duration_since(b.last).as_secs_f64() * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }

    /// Waits until a token is available, then takes it.
    pub async fn take(&self, action: Action, scope: &str) {
        while let Err(wait) = self.try_take(action, scope) {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_one_per_second() {
        let b = Buckets::default();
        for _ in 0..3 {
            assert!(b.try_take(Action::Create, "app").is_ok());
        }
        let wait = b.try_take(Action::Create, "app").unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::from_millis(900),
            "{wait:?}"
        );
        assert!(
            b.try_take(Action::Create, "other-app").is_ok(),
            "scopes are separate"
        );
        assert!(
            b.try_take(Action::Start, "app").is_ok(),
            "actions are separate"
        );
        let start = Instant::now();
        b.take(Action::Create, "app").await;
        assert!(start.elapsed() >= Duration::from_millis(900));
    }
}
