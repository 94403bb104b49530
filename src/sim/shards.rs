//! The simulator's world split by app: each app lives in one of `SHARDS` worlds, by a
//! stable hash of its name, each behind its own lock. A call about one app locks that
//! app's shard only, so calls about different apps run on every core (one lock over
//! 100,000 apps made the simulator a one-core server). Calls about a whole org visit
//! the shards one at a time.

use std::sync::{Mutex, MutexGuard};

use tokio::time::Instant;

use super::timing::Latencies;
use super::world::{SimApp, World};

/// Enough to spread a 2-core machine's threads (and a larger one's) over shards
/// that are rarely contended; fixed, so a seed names the same fleet everywhere.
const SHARDS: usize = 16;

pub struct Worlds {
    shards: Box<[Mutex<World>]>,
}

impl Worlds {
    /// Shard `i` draws from its own generator, derived from `seed`: the same seed
    /// still gives the same ids, whatever order calls about other shards come in.
    pub fn new(seed: u64, latencies: Latencies) -> Worlds {
        let shards = (0..SHARDS as u64)
            .map(|i| Mutex::new(World::new(seed ^ (i << 40), latencies.clone())))
            .collect();
        Worlds { shards }
    }

    /// The shard that holds `app` (or would), locked. A panic while it was held
    /// leaves the fleet as it was at the panic: still the best answer to give.
    pub fn of(&self, app: &str) -> MutexGuard<'_, World> {
        let i = (crate::cluster::fnv1a(app.as_bytes()) % SHARDS as u64) as usize;
        lock(&self.shards[i])
    }

    /// Calls `f` on every shard in turn, one locked at a time.
    pub fn each(&self, mut f: impl FnMut(&mut World)) {
        for shard in self.shards.iter() {
            f(&mut lock(shard));
        }
    }

    /// What `f` picks from the apps (settled to `now`), in app-name order, as the
    /// one world listed them.
    pub fn select<T>(&self, now: Instant, mut f: impl FnMut(&SimApp) -> Option<T>) -> Vec<T> {
        let mut picked: Vec<(String, T)> = Vec::new();
        self.each(|w| {
            w.settle(now);
            picked.extend(
                w.apps
                    .values()
                    .filter_map(|a| f(a).map(|t| (a.name.clone(), t))),
            );
        });
        picked.sort_by(|a, b| a.0.cmp(&b.0));
        picked.into_iter().map(|(_, t)| t).collect()
    }

    /// `f` of `app`, its Machines settled to now; None when there is no such app.
    pub fn read_app<T>(&self, app: &str, f: impl FnOnce(&SimApp) -> T) -> Option<T> {
        let mut w = self.of(app);
        w.settle_app(app, Instant::now());
        w.apps.get(app).map(f)
    }

    /// Sets whether a start clears a Machine's cordon, in every shard.
    pub fn set_cordon_clears_on_start(&self, clears: bool) {
        self.each(|w| w.cordon_clears_on_start = clears);
    }
}

fn lock(shard: &Mutex<World>) -> MutexGuard<'_, World> {
    shard.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_spread_over_shards_and_list_in_name_order() {
        let worlds = Worlds::new(1, Latencies::instant(0));
        let names: Vec<String> = (0..200).map(|i| format!("app-{i}")).collect();
        for n in &names {
            worlds.of(n).create_app(n, "org").unwrap();
        }
        let mut used = 0;
        worlds.each(|w| used += usize::from(!w.apps.is_empty()));
        assert_eq!(used, SHARDS, "200 apps reach every shard");
        let listed = worlds.select(Instant::now(), |a| Some(a.name.clone()));
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(listed, sorted);
        assert!(worlds.of("app-7").apps.contains_key("app-7"));
        assert!(worlds.of("app-7").create_app("app-7", "org").is_err());
    }
}
