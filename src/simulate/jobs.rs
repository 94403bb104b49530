//! `fas simulate --jobs`: a worker workload, to count the jobs a scale-down interrupts.
//! Each round the history's demand column is the number of jobs that arrive; a started
//! Machine runs one job at a time, of a length drawn (deterministically) between
//! `min_secs` and `max_secs`, most of them short. A stop or destroy of a Machine whose
//! job would not end within the stop time interrupts it (the job goes back to the
//! queue). The policy sees `queue_depth` (queued + running) and, in the second run,
//! each Machine's `jobs_running` in `app.machines.list`; the same policy runs twice: with
//! upstream's order (no per-Machine view) and with its own (`fas.drain`, say).

use std::collections::{HashMap, VecDeque};

use super::{apply, Fleet, History, Options, Summary};
use crate::policy::{AppInput, Order, Policy};
use crate::reconcile::choose::{self, PerMachine};
use crate::reconcile::{counts, order_by_value, plan, Plan};

#[derive(Debug, Clone, Copy)]
pub struct JobModel {
    pub min_secs: f64,
    pub max_secs: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct JobSummary {
    pub arrived: u64,
    pub completed: u64,
    /// Jobs a scale-down stopped in the middle (each went back to the queue).
    pub interrupted: u64,
    /// Seconds of started Machines (the cost side of not interrupting).
    pub machine_seconds: f64,
}

/// splitmix64: a tiny deterministic generator, so runs are reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Replays `history` as job arrivals through `policy`; `own_order` gives the policy
/// `app.machines.list` with `jobs_running` and honours its `stop_order`/`protect` (and
/// the idlest-first default), else upstream's id order.
pub fn run(
    policy: &mut Policy,
    history: &History,
    opts: &Options,
    model: JobModel,
    own_order: bool,
) -> JobSummary {
    let mut fleet = Fleet::new(opts.initial_machines, opts.initial_started);
    let mut rng = Rng(model.seed);
    let mut queue: VecDeque<f64> = VecDeque::new(); // job lengths
    let mut running: HashMap<String, f64> = HashMap::new(); // machine -> job end time
    let mut out = JobSummary::default();
    let mut sum = Summary::default();
    let mut region_seq = 0;
    for (i, (t, values)) in history.rows.iter().enumerate() {
        let t = *t;
        let dt = history.rows.get(i + 1).map_or(15.0, |(n, _)| n - t);
        fleet.settle(t);
        // Jobs that ended; Machines no longer started lose nothing here (interruptions
        // are counted when the stop is sent).
        running.retain(|_, end| {
            let done = *end <= t;
            out.completed += u64::from(done);
            !done
        });
        let arrivals = values.first().copied().unwrap_or(0.0).max(0.0).round() as u64;
        for _ in 0..arrivals {
            // Most jobs short, a few long: the square stretches the tail.
            let u = rng.next();
            queue.push_back(model.min_secs + (model.max_secs - model.min_secs) * u * u);
        }
        out.arrived += arrivals;
        for m in fleet.machines.iter().filter(|m| m.state == "started") {
            if !running.contains_key(&m.id) {
                if let Some(len) = queue.pop_front() {
                    running.insert(m.id.clone(), t + len);
                }
            }
        }
        let mut listed = fleet.listed();
        let eligible: Vec<_> = listed.iter().collect();
        let c = counts(&eligible);
        out.machine_seconds += c.started as f64 * dt;
        let per_machine: Vec<(String, Vec<(String, f64)>)> = vec![(
            "jobs_running".into(),
            listed
                .iter()
                .map(|m| {
                    (
                        m.id.clone(),
                        f64::from(u8::from(running.contains_key(&m.id))),
                    )
                })
                .collect(),
        )];
        let list = if own_order {
            choose::machine_list(&eligible, &per_machine as &PerMachine)
        } else {
            Vec::new()
        };
        let metrics = vec![(
            "queue_depth".to_string(),
            (queue.len() + running.len()) as f64,
        )];
        let input = AppInput {
            name: "sim",
            now: t,
            interval_secs: dt,
            round: crate::policy::Round::Full,
            machines: &c,
            metrics: &metrics,
        };
        let Ok((targets, order)) = policy.decide_full(&input, &[], list) else {
            continue;
        };
        let order = if own_order { order } else { Order::default() };
        choose::protect(&mut listed, &order);
        let mut p = plan(&targets, &listed, &opts.plan, &mut region_seq);
        if own_order {
            order_by_value(&mut p, &listed, &per_machine[0].1);
            choose::stop_order(&mut p, &order);
        }
        if let Plan::Stop {
            candidates, count, ..
        }
        | Plan::Destroy { candidates, count } = &p
        {
            for id in candidates.iter().take(*count) {
                if let Some(end) = running.get(id).copied() {
                    if end > t + opts.stop_secs {
                        running.remove(id);
                        out.interrupted += 1;
                        queue.push_front(end - t);
                    }
                }
            }
        }
        apply(&mut fleet, &p, t, opts, &mut sum);
    }
    out
}
