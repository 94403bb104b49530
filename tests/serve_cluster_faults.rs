//! The cluster's fault run: three `fas serve` instances (the real binary, each reaching
//! PostgreSQL through its own cuttable proxy) scale 60 apps whose target moves every
//! 4 s, while 20 random events — `kill -9` (and a restart), a partition from the
//! database, a database restart — come over five minutes. Zero double actions (two
//! instances changing one app within an interval), zero over-scale, and every app
//! reconciled within three intervals of each event (of the database's return, for a
//! restart).

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::cluster_rig::{self, no_double_actions, Proxy, Rig, INTERVAL_MS};

const EVENTS: usize = 20;
const EVERY_MS: u64 = 15_000;
/// The simulator's ms after which the sampler stops (set when the events are over).
static STOP_SAMPLING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(u64::MAX);

/// xorshift64*, seeded from the clock and printed, so a failing run can be replayed.
struct Coin(u64);

impl Coin {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    }
}

/// Machines of each app that exist (not destroyed or on their way out).
fn fleet_sizes(sim: &fas::sim::Sim) -> BTreeMap<String, usize> {
    let size = |a: &fas::sim::world::SimApp| {
        let n = a
            .machines
            .iter()
            .filter(|m| !matches!(m.state.as_str(), "destroyed" | "destroying"))
            .count();
        Some((a.name.clone(), n))
    };
    let now = tokio::time::Instant::now();
    sim.world.select(now, size).into_iter().collect()
}

#[cfg_attr(
    fas_no_postgres,
    ignore = "needs postgresql here: apt-get install -y postgresql"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_random_faults_in_five_minutes() {
    let Some(mut rig) = Rig::start(cluster_rig::COUNTING).await else {
        return;
    };
    let seed = std::env::var("FAS_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("fault run seed {seed} (FAS_FAULT_SEED={seed} replays it)");
    let mut coin = Coin(seed);
    let names = ["m-a", "m-b", "m-c"];
    let mut proxies = Vec::new();
    for _ in names {
        proxies.push(Proxy::start(&rig.db.url).await);
    }
    let mut instances: Vec<_> = names
        .iter()
        .zip(&proxies)
        .map(|(n, p)| rig.instance_via(n, &p.url(&rig)))
        .collect();
    rig.wait_split(&instances.iter().collect::<Vec<_>>()).await;

    // Sampled while the run goes: the most Machines any app had.
    let sampler = {
        let sim = rig.sim.sim.clone();
        tokio::spawn(async move {
            let mut most: BTreeMap<String, usize> = BTreeMap::new();
            for _ in 0..(EVENTS as u64 * EVERY_MS / 250) {
                if sim.elapsed_ms() > STOP_SAMPLING.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                for (app, n) in fleet_sizes(&sim) {
                    let e = most.entry(app).or_default();
                    *e = (*e).max(n);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            most
        })
    };

    // The membership lines of instances killed, for a failure's message.
    let mut earlier: Vec<String> = Vec::new();
    // (what, when it ended in the simulator's ms): every app must be listed after it.
    let mut events: Vec<(String, u64)> = Vec::new();
    let events_wanted = std::env::var("FAS_FAULT_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(EVENTS);
    for i in 0..events_wanted {
        let pick = coin.below(3);
        let who = coin.below(3) as usize;
        let out_ms = 2_000 + coin.below(4_000);
        let started = std::time::Instant::now();
        match pick {
            0 => {
                let at = rig.sim_ms().await;
                let mut gone = instances.remove(who);
                gone.child.kill().unwrap();
                let _ = gone.child.wait();
                earlier.push(format!(
                    "{} until {i}:\n{}",
                    names[who],
                    cluster_rig::cluster_lines(&gone)
                ));
                events.push((format!("{i}: kill -9 {}", names[who]), at));
                tokio::time::sleep(Duration::from_millis(out_ms)).await;
                instances.insert(who, rig.instance_via(names[who], &proxies[who].url(&rig)));
            }
            1 => {
                let at = rig.sim_ms().await;
                proxies[who].cut();
                events.push((format!("{i}: partition {}", names[who]), at));
                tokio::time::sleep(Duration::from_millis(out_ms)).await;
                proxies[who].heal();
            }
            _ => {
                tokio::task::block_in_place(|| {
                    support::servers::restart_postgres(&mut rig.db, Duration::from_millis(out_ms))
                });
                events.push((format!("{i}: database restart"), rig.sim_ms().await));
            }
        }
        let rest = Duration::from_millis(EVERY_MS).saturating_sub(started.elapsed());
        tokio::time::sleep(rest).await;
    }

    STOP_SAMPLING.store(rig.sim_ms().await, std::sync::atomic::Ordering::Relaxed);
    let log = rig.log().await;
    no_double_actions(&log);
    let most = sampler.await.unwrap();
    let over: Vec<_> = most.iter().filter(|(_, n)| **n > 2).collect();
    assert!(
        over.is_empty(),
        "over-scaled past the policy's 2 Machines: {over:?}"
    );
    assert_eq!(most.len(), cluster_rig::APPS);
    for (what, at) in &events {
        // The margin, for the run's output: how long the slowest app waited.
        let slowest = (1..=cluster_rig::APPS)
            .filter_map(|i| cluster_rig::first_list_after(&log, &format!("clu-{i}"), *at, ""))
            .max()
            .map(|t| t - at);
        eprintln!("after {what}: every app listed within {slowest:?} ms");
        let listed = cluster_rig::listers(&log, *at, at + 3 * INTERVAL_MS);
        let missing: Vec<_> = (1..=cluster_rig::APPS)
            .map(|i| format!("clu-{i}"))
            .filter(|a| !listed.contains_key(a))
            .collect();
        assert!(
            missing.is_empty(),
            "after {what} (at {at} ms) not reconciled within three intervals: {missing:?}; seed {seed}\n\
             first listed after it: {}\nthe simulator started at {}\n{}",
            cluster_rig::first_lists(&rig, &log, &missing, *at, &names),
            rig.sim_started_at(),
            earlier
                .iter()
                .cloned()
                .chain(instances.iter().zip(names).map(|(s, n)| format!("{n} now:\n{}", cluster_rig::cluster_lines(s))))
                .collect::<Vec<_>>()
                .join("\n---\n")
        );
    }
}
