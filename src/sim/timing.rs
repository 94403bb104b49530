//! How long the simulator's Machines take to move, with jitter. The defaults sit in
//! the ranges of the reference (§5): Fly's transitions take seconds, often longer
//! than a reconcile interval, and fas must be right while Machines move.

use std::time::Duration;

use serde::Deserialize;

use super::world::Rng;

/// Transition latencies in milliseconds; every one is multiplied by a random factor
/// in `[1 - jitter, 1 + jitter]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Latencies {
    /// create -> started. The first half is spent in `created` (image and rootfs being
    /// prepared: a start answers 412 `'created'`), the second in `starting`. A Machine
    /// created with `skip_launch` stays `created`; it can be started after the first half.
    pub create_ms: u64,
    /// stopped (or created) -> started, through `starting`.
    pub start_ms: u64,
    /// suspended -> started (resume from the snapshot), through `starting`.
    pub resume_ms: u64,
    /// started -> stopped, through `stopping` (the app's kill timeout, at most).
    pub stop_ms: u64,
    /// started -> suspended, through `suspending`.
    pub suspend_ms: u64,
    /// -> destroyed, through `destroying`.
    pub destroy_ms: u64,
    /// Relative jitter, 0..1.
    pub jitter: f64,
    /// A created Machine appears in list, and a destroyed one leaves it (showing its
    /// old state until then), only this long after the call. Get is never stale.
    pub list_lag_ms: u64,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            create_ms: 5000,
            start_ms: 800,
            resume_ms: 300,
            stop_ms: 3000,
            suspend_ms: 2000,
            destroy_ms: 2000,
            jitter: 0.5,
            list_lag_ms: 0,
        }
    }
}

impl Latencies {
    /// Every transition this fast, without jitter (unit tests of the API shape).
    pub fn instant(ms: u64) -> Latencies {
        Latencies {
            create_ms: ms,
            start_ms: ms,
            resume_ms: ms,
            stop_ms: ms,
            suspend_ms: ms,
            destroy_ms: ms,
            jitter: 0.0,
            list_lag_ms: 0,
        }
    }

    /// Every latency divided by `speed` (the sandbox's time scale), at least 1 ms.
    pub fn scaled(&self, speed: f64) -> Latencies {
        let s = |ms: u64| ((ms as f64 / speed).max(1.0)) as u64;
        Latencies {
            create_ms: s(self.create_ms),
            start_ms: s(self.start_ms),
            resume_ms: s(self.resume_ms),
            stop_ms: s(self.stop_ms),
            suspend_ms: s(self.suspend_ms),
            destroy_ms: s(self.destroy_ms),
            jitter: self.jitter,
            list_lag_ms: if self.list_lag_ms == 0 {
                0
            } else {
                s(self.list_lag_ms)
            },
        }
    }

    /// `ms` with this jitter applied.
    pub fn jittered(&self, ms: u64, rng: &mut Rng) -> Duration {
        let j = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 - j + 2.0 * j * rng.unit();
        Duration::from_micros((ms as f64 * 1000.0 * factor) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_in_its_band_and_zero_jitter_is_exact() {
        let mut rng = Rng::new(7);
        let l = Latencies::default();
        for _ in 0..1000 {
            let d = l.jittered(2000, &mut rng).as_millis();
            assert!((1000..=3000).contains(&d), "{d}");
        }
        assert_eq!(
            Latencies::instant(20).jittered(20, &mut rng),
            Duration::from_millis(20)
        );
        assert_eq!(Latencies::default().scaled(1e9).create_ms, 1);
    }
}
