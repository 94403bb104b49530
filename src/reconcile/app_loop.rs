//! One app's loop: a full round right away (after the app's offset), then every
//! interval; between rounds, a watch step every watch period (none when the period
//! reaches the interval), and one at once when the app is poked. One loop per app, so
//! an app is never reconciled twice at once; a round that overruns skips the missed
//! rounds instead of queueing them; `concurrency` permits bound the work on the
//! Machines API in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};
use tokio::time::Instant;

use super::watch::Step;
use super::Reconciler;
use crate::config::Watch;

/// What every app's loop shares.
pub struct LoopCtx {
    pub reconciler: Arc<Reconciler>,
    pub permits: Arc<Semaphore>,
    pub interval: Duration,
    pub watch: Watch,
    /// Apps scheduled now (the watch budget is shared among them).
    pub apps: Arc<AtomicUsize>,
    pub overruns: OverrunLog,
}

/// Overrun warnings, at most one per interval across all apps. When fas cannot keep
/// up, every app overruns, and a line per app per round (160,000 in a minute and a
/// half at 100,000 apps in `fas bench cluster`) only added to the load. The metric
/// and the status page still count every overrun.
#[derive(Default)]
pub struct OverrunLog(Mutex<(Option<Instant>, u64)>);

impl OverrunLog {
    /// Notes one overrun at `now`. When a warning is due (the first, then at most one
    /// per `every`), the overruns it reports: those since the last, this one included.
    pub fn note(&self, now: Instant, every: Duration) -> Option<u64> {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (last, unlogged) = &mut *guard;
        *unlogged += 1;
        if last.is_some_and(|t| now < t + every) {
            return None;
        }
        *last = Some(now);
        Some(std::mem::take(unlogged))
    }
}

impl LoopCtx {
    fn watch_period(&self) -> Option<Duration> {
        self.watch.period(
            self.apps.load(Ordering::Relaxed),
            self.reconciler.reads_per_step(),
            self.interval,
        )
    }
}

pub async fn app_loop(
    ctx: Arc<LoopCtx>,
    app: String,
    offset: Duration,
    at_once: bool,
    poked: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    // When the round is due by the interval; it runs at the next slot of the grid
    // (kept apart, so a grid that does not divide the interval adds no drift).
    let start = Instant::now();
    let mut next_round = if at_once { start } else { start + offset };
    // An app taken at once returns to its place in the interval after that round:
    // else every app of a shard gained together (all of them, at start) would keep
    // its rounds bunched with the others', a burst each interval.
    let mut place = at_once.then_some(start + offset);
    let round_grid = ROUND_GRID.min(ctx.interval / 10);
    let round_at = |next_round: Instant| on_grid_of(next_round, round_grid);
    let mut next_watch: Option<Instant> = None;
    // An app taken over has its first round now, off the grid: its previous owner is
    // gone, and the wait is part of the handoff.
    let mut off_grid = at_once || offset.is_zero();
    loop {
        // With clustering on, the loop lives while this instance owns the app; what it
        // shows and remembers of the app goes with it (the owner reports it now).
        if let Some(gate) = &ctx.reconciler.cluster {
            if !gate.owns(&app) {
                ctx.reconciler.forget_app(&app);
                return;
            }
        }
        let round = if std::mem::take(&mut off_grid) {
            next_round
        } else {
            round_at(next_round)
        };
        let wake = next_watch.map_or(round, |w| w.min(round));
        let poke = tokio::select! {
            _ = tokio::time::sleep_until(wake) => false,
            _ = poked.notified() => true,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        if *shutdown.borrow() {
            return;
        }
        let round_due = Instant::now() >= round;
        let mut full = round_due && !poke;
        if !full {
            let step = {
                let (c, a) = (ctx.clone(), app.clone());
                let step = tokio::spawn(async move { c.reconciler.watch(&a, &c.permits).await });
                isolated(&ctx.reconciler, &app, step).await
            };
            // Poked before any round has listed the app: the round comes now.
            full = poke && matches!(step, Some(Ok(Step::Unknown)));
        }
        if full {
            if !full_round(&ctx, &app).await {
                return;
            }
            next_round += ctx.interval;
            if let Some(place) = place.take() {
                // Its place, at least half an interval after the round taken at once.
                let earliest = Instant::now() + ctx.interval / 2;
                next_round = place;
                while next_round < earliest {
                    next_round += ctx.interval;
                }
            }
            let now = Instant::now();
            if next_round <= now {
                ctx.reconciler
                    .metrics
                    .inc("fas_reconcile_skipped_total", &[("reason", "overrun")]);
                ctx.reconciler.status.mark_skipped(&app, "overrun");
                if let Some(n) = ctx.overruns.note(now, ctx.interval) {
                    tracing::warn!(app = %app, overruns = n, "reconcile overran the interval; skipping the missed rounds ({n} overrun(s) of any app since the last such warning; one warning per interval)");
                }
                while next_round <= now {
                    next_round += ctx.interval;
                }
            }
        }
        next_watch = ctx
            .watch_period()
            .map(|p| on_grid(Instant::now() + p))
            .filter(|at| *at < round_at(next_round));
    }
}

/// Watch steps fall on a shared grid: the apps due in one slot wake together, so
/// their reads share the collectors' connections (one write and one read for many)
/// and the policy thread decides them in one run instead of waking for each — at
/// 1,000 apps that cut fas's CPU by a quarter (14.5% to 11.1% of a core), for at
/// most `GRID` more reaction.
const GRID: Duration = Duration::from_millis(100);

/// Full rounds fall on a coarser grid of their own, for the same reason: at 10,000
/// apps, rounds spread to the millisecond woke fas once per app (`fas bench
/// reconcile`: 19% of a core); batched on 500 ms slots, about 10%. Each app keeps its place
/// in the interval, moved by under 500 ms (a tenth of the interval when that is
/// shorter); the permits still bound the calls in flight.
const ROUND_GRID: Duration = Duration::from_millis(500);

fn on_grid(at: Instant) -> Instant {
    on_grid_of(at, GRID)
}

fn on_grid_of(at: Instant, grid: Duration) -> Instant {
    if grid.is_zero() {
        return at;
    }
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    let grid = grid.as_nanos();
    let since = at.saturating_duration_since(epoch).as_nanos();
    let slots = since.div_ceil(grid);
    epoch + Duration::from_nanos((slots * grid) as u64)
}

/// One full round under a permit; false when the permits are gone (shutting down).
async fn full_round(ctx: &Arc<LoopCtx>, app: &str) -> bool {
    let Ok(_permit) = ctx.permits.acquire().await else {
        return false;
    };
    let r = ctx.reconciler.clone();
    let a = app.to_string();
    let round = tokio::spawn(async move {
        let _ = r.reconcile(&a).await;
    });
    isolated(&ctx.reconciler, app, round).await;
    true
}

/// Awaits `work`, spawned as its own task so a panic in it (a bug, a library's
/// assert) ends that round or step, not the app's loop: logged and counted; None then.
/// (Spawned by the caller: the round's future then lives in its task while it runs,
/// not inside every app's idle loop — 10,000 loops would hold 40 MB of them.)
async fn isolated<T: Send + 'static>(
    reconciler: &Reconciler,
    app: &str,
    work: tokio::task::JoinHandle<T>,
) -> Option<T> {
    match work.await {
        Ok(v) => Some(v),
        Err(e) => {
            if e.is_panic() {
                let why = panic_text(e.into_panic());
                reconciler
                    .metrics
                    .inc("fas_reconcile_panics_total", &[("app", app)]);
                tracing::error!(app = %app, panic = %why, "a reconcile panicked; nothing more was done this round, the next runs as usual");
            }
            None
        }
    }
}

/// A panic's message, cut short (it may quote anything).
fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    let text = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    crate::redact::quote(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overruns_are_warned_once_an_interval_with_their_count() {
        let log = OverrunLog::default();
        let (t0, every) = (Instant::now(), Duration::from_secs(15));
        assert_eq!(log.note(t0, every), Some(1), "the first is warned at once");
        let quiet = (0..10_000)
            .filter_map(|i| log.note(t0 + Duration::from_millis(i), every))
            .count();
        assert_eq!(quiet, 0, "10,000 more within the interval: no line");
        assert_eq!(log.note(t0 + every, every), Some(10_001));
        assert_eq!(log.note(t0 + every * 3, every), Some(1));
    }
}
