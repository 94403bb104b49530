//! `fas simulate --interval D [--watch-interval W]`: the replay on a clock instead of
//! row by row. The history is a step function (each row holds until the next); the
//! clock ticks every second (or every W, when shorter); full rounds come every D and
//! may scale either way; with W, watch steps come between them and act, as `fas
//! serve`'s do, only when the decision asks for more Machines than the fleet has —
//! and then only on the increase. Machines take their create, start and resume times.
//! Besides Machine-hours, each under-capacity episode's length is a reaction: seconds
//! from demand exceeding what started Machines serve to enough of them started.

use crate::policy::{AppInput, Policy, Round as Cadence};
use crate::reconcile::watch::{asks_for_more, up_only};
use crate::reconcile::{counts, plan};

use super::{apply, Fleet, History, Options, Round, Summary};
use crate::fly::Machine;

/// When decisions come.
#[derive(Debug, Clone, Copy)]
pub struct Cadences {
    /// Seconds between full rounds.
    pub interval: f64,
    /// Seconds between watch steps; None: full rounds only.
    pub watch: Option<f64>,
}

/// Replays `history` through `policy` at `cadence`.
pub fn run(
    policy: &mut Policy,
    history: &History,
    opts: &Options,
    cadence: Cadences,
) -> (Vec<Round>, Summary) {
    let demand_col = opts.demand_column(history);
    let mut fleet = Fleet::new(opts.initial_machines, opts.initial_started);
    let mut sum = Summary::default();
    let mut timeline = Vec::new();
    let mut region_seq = 0;
    let mut metrics: Vec<(String, f64)> = history.names.iter().map(|n| (n.clone(), 0.0)).collect();
    let (Some(first), Some(last)) = (history.rows.first(), history.rows.last()) else {
        return (timeline, sum);
    };
    let tick = cadence.watch.map_or(1.0, |w| w.min(1.0));
    let steps = ((last.0 - first.0) / tick).floor() as u64;
    let (mut row, mut next_round, mut next_watch) = (0, first.0, f64::INFINITY);
    let mut episode: Option<f64> = None;
    let mut flaps = super::Flaps::default();
    let mut reactions = Vec::new();
    let mut judging = false;
    for k in 0..=steps {
        let t = first.0 + k as f64 * tick;
        if !judging && t >= opts.judge_from {
            judging = true;
            sum.start_judging();
            reactions.clear();
            episode = None;
        }
        while history.rows.get(row + 1).is_some_and(|(at, _)| *at <= t) {
            row += 1;
        }
        let values = &history.rows[row].1;
        for (slot, v) in metrics.iter_mut().zip(values) {
            slot.1 = *v;
        }
        fleet.settle(t);
        let listed = fleet.listed();
        let c = counts(&listed.iter().collect::<Vec<&Machine>>());
        let full = t + 1e-9 >= next_round;
        let watch = !full && t + 1e-9 >= next_watch;
        if full || watch {
            let input = AppInput {
                name: "sim",
                now: t,
                interval_secs: cadence.interval,
                round: if full { Cadence::Full } else { Cadence::Watch },
                machines: &c,
                metrics: &metrics,
            };
            let (targets, error) = super::decide(policy, &input, &mut sum);
            let acts = full || asks_for_more(&targets, &c);
            let targets = if full { targets } else { up_only(targets, &c) };
            let p = if acts {
                plan(&targets, &listed, &opts.plan, &mut region_seq)
            } else {
                crate::reconcile::Plan::NoScale
            };
            apply(&mut fleet, &p, t, opts, &mut sum);
            if acts {
                flaps.see(&targets, c.started as i64, t, opts, &mut sum);
            }
            if full || p.kind() != "no_scale" {
                let demand = values.get(demand_col).copied().unwrap_or(0.0);
                timeline.push(Round::of(t, demand, &c, &targets, p.kind(), error));
            }
            if full {
                next_round += cadence.interval;
            }
            next_watch = cadence.watch.map_or(f64::INFINITY, |w| t + w);
        }
        // Accounting, by tick: what runs now (Machines still booting serve nothing).
        let running = fleet
            .machines
            .iter()
            .filter(|m| m.state == "started")
            .count() as u64;
        sum.machine_seconds += running as f64 * tick;
        sum.peak_started = sum.peak_started.max(running);
        sum.peak_created = sum.peak_created.max(c.created);
        if let Some(cap) = opts.capacity_per_machine {
            let demand = values.get(demand_col).copied().unwrap_or(0.0);
            let short = demand > running as f64 * cap;
            if short {
                sum.seconds_under_capacity += tick;
            }
            match (short, episode) {
                (true, None) => episode = Some(t),
                (false, Some(since)) => {
                    reactions.push(t - since);
                    episode = None;
                }
                _ => {}
            }
        }
    }
    sum.rounds = timeline.iter().filter(|r| r.t >= opts.judge_from).count();
    reactions.sort_by(f64::total_cmp);
    sum.reaction = Reaction::of(&reactions);
    (timeline, sum)
}

/// Under-capacity episodes: how many, and their lengths' median and 95th percentile.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Reaction {
    pub episodes: usize,
    pub median_secs: f64,
    pub p95_secs: f64,
}

impl Reaction {
    fn of(sorted: &[f64]) -> Option<Reaction> {
        if sorted.is_empty() {
            return None;
        }
        let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
        Some(Reaction {
            episodes: sorted.len(),
            median_secs: at(0.5),
            p95_secs: at(0.95),
        })
    }
}
