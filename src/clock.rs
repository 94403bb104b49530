//! Time as the caller passes it in: the system clock in production, a fake one in
//! tests and simulations, so no test waits for real intervals.

use std::sync::Mutex;

pub trait Clock: Send + Sync {
    /// Unix seconds.
    fn now(&self) -> f64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}

/// A clock that moves only when told to.
pub struct FakeClock(Mutex<f64>);

impl FakeClock {
    pub fn new(start: f64) -> FakeClock {
        FakeClock(Mutex::new(start))
    }
    pub fn advance(&self, secs: f64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) += secs;
    }
}

impl Clock for FakeClock {
    fn now(&self) -> f64 {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
