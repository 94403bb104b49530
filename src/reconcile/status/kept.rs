//! How `Status` keeps an app's history compactly: chart points in 9 bytes (times as
//! tenths of a second after a per-app base, a byte naming their counts, target and
//! flags in a small table), and detailed rounds that share
//! everything but their time and duration with the round before when equal, so a
//! steady app's six rounds cost one.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{Point, Round, DETAILED, HISTORY};

/// What a point shows besides its time and metric: few distinct ones per app (a
/// steady app has one), so each point names its shape by a byte.
#[derive(Clone, Copy, PartialEq)]
struct Shape {
    started: u16,
    created: u16,
    target: i16,
    flags: u8,
}

const ACTED: u8 = 1;
const FAILED: u8 = 2;
/// Shapes no point names any more, tolerated before the table is compacted.
const SPARE_SHAPES: usize = 16;

/// An app's chart points, 9 bytes each (a `Point` is 24): the time in tenths of a
/// second after `base`, the metric, and a byte naming the shape.
#[derive(Default)]
pub(super) struct Chart {
    /// What the times count from: the oldest kept, moved when a time falls outside
    /// (a clock set back, or 13 years on).
    base: f64,
    tenths: VecDeque<u32>,
    metric: VecDeque<f32>,
    shape: VecDeque<u8>,
    shapes: Vec<Shape>,
}

impl Chart {
    pub(super) fn len(&self) -> usize {
        self.tenths.len()
    }

    pub(super) fn points(&self) -> Vec<Point> {
        (0..self.len()).map(|i| self.point(i)).collect()
    }

    fn point(&self, i: usize) -> Point {
        let s = self.shapes[usize::from(self.shape[i])];
        Point {
            at: self.base + f64::from(self.tenths[i]) / 10.0,
            metric: self.metric[i],
            started: s.started,
            created: s.created,
            target: s.target,
            acted: s.flags & ACTED != 0,
            failed: s.flags & FAILED != 0,
        }
    }

    /// How many of the newest points are failed rounds, in a row.
    pub(super) fn failing_streak(&self) -> usize {
        self.shape
            .iter()
            .rev()
            .take_while(|i| self.shapes[usize::from(**i)].flags & FAILED != 0)
            .count()
    }

    pub(super) fn push(&mut self, p: Point) {
        if self.len() >= HISTORY {
            self.tenths.pop_front();
            self.metric.pop_front();
            self.shape.pop_front();
        }
        if self.tenths.capacity() == 0 {
            self.tenths.reserve_exact(HISTORY);
            self.metric.reserve_exact(HISTORY);
            self.shape.reserve_exact(HISTORY);
        }
        let Some(tenths) = tenths_after(p.at, self.base) else {
            let mut all = self.points();
            all.push(p);
            let base = all.iter().map(|q| q.at).fold(f64::INFINITY, f64::min);
            *self = Chart {
                base,
                ..Chart::default()
            };
            // Newer than 13 years after the oldest: the old points go.
            for q in all
                .into_iter()
                .filter(|q| tenths_after(q.at, base).is_some())
            {
                self.push(q);
            }
            return;
        };
        let shape = Shape {
            started: p.started,
            created: p.created,
            target: p.target,
            flags: if p.acted { ACTED } else { 0 } | if p.failed { FAILED } else { 0 },
        };
        let index = match self.shapes.iter().position(|s| *s == shape) {
            Some(i) => i,
            None => {
                if self.shapes.len() >= (self.len() + SPARE_SHAPES).min(usize::from(u8::MAX)) {
                    self.compact();
                }
                self.shapes.push(shape);
                self.shapes.len() - 1
            }
        };
        self.tenths.push_back(tenths);
        self.metric.push_back(p.metric);
        self.shape.push_back(index as u8);
    }

    /// Drops the shapes no point names.
    fn compact(&mut self) {
        let mut map = vec![u8::MAX; self.shapes.len()];
        let mut kept = Vec::new();
        for i in self.shape.iter_mut() {
            let old = usize::from(*i);
            if map[old] == u8::MAX {
                map[old] = kept.len() as u8;
                kept.push(self.shapes[old]);
            }
            *i = map[old];
        }
        self.shapes = kept;
    }
}

/// `at` as whole tenths of a second after `base`, when a u32 holds it.
fn tenths_after(at: f64, base: f64) -> Option<u32> {
    let tenths = ((at - base) * 10.0).round();
    (0.0..=f64::from(u32::MAX))
        .contains(&tenths)
        .then_some(tenths as u32)
}

/// A detailed round as kept: its time and duration, and the rest shared with the
/// round before when equal (a steady app's rounds differ in these two only).
pub(super) struct Timed {
    pub(super) at: f64,
    took_ms: f64,
    rest: Arc<Round>,
}

impl Timed {
    /// Sets `skipped` on this round alone (its shared rest is copied first).
    pub(super) fn mark_skipped(&mut self, reason: &'static str) {
        Arc::make_mut(&mut self.rest).skipped = Some(reason);
    }

    /// (created, started, stopped, counts_from) of this round.
    pub(super) fn counts(&self) -> (u64, u64, u64, Option<f64>) {
        let r = &self.rest;
        (r.created, r.started, r.stopped, r.counts_from)
    }

    pub(super) fn round(&self) -> Round {
        Round {
            at: self.at,
            took_ms: self.took_ms,
            ..(*self.rest).clone()
        }
    }
}

#[derive(Default)]
pub(super) struct Kept {
    pub(super) chart: Chart,
    pub(super) rounds: VecDeque<Timed>,
}

impl Kept {
    pub(super) fn push_round(&mut self, mut round: Round) {
        if self.rounds.len() >= DETAILED {
            self.rounds.pop_front();
        }
        if self.rounds.capacity() == 0 {
            self.rounds.reserve_exact(DETAILED);
        }
        let (at, took_ms) = (round.at, round.took_ms);
        let rest = match self.rounds.back() {
            Some(prev) => {
                (round.at, round.took_ms) = (prev.rest.at, prev.rest.took_ms);
                if round == *prev.rest {
                    prev.rest.clone()
                } else {
                    Arc::new(round)
                }
            }
            None => Arc::new(round),
        };
        self.rounds.push_back(Timed { at, took_ms, rest });
    }

    pub(super) fn last(&self) -> Option<Round> {
        self.rounds.back().map(Timed::round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::MachineCounts;

    fn round(at: f64, started: u64) -> Round {
        let counts = MachineCounts {
            created: 3,
            started,
            ..Default::default()
        };
        Round {
            action: "no_scale",
            took_ms: at / 100.0,
            ..Round::new(at, &counts)
        }
    }

    fn kept(c: &Chart) -> Vec<(f64, u16)> {
        c.points().iter().map(|p| (p.at, p.started)).collect()
    }

    #[test]
    fn points_keep_their_times_across_a_new_base() {
        let mut c = Chart::default();
        let t = 1_764_728_000.25;
        for (i, at) in [t, t + 15.0, t + 30.1].into_iter().enumerate() {
            c.push(Point::of(&round(at, i as u64)));
        }
        assert_eq!(kept(&c), [(t, 0), (t + 15.0, 1), (t + 30.1, 2)]);
        // A clock set back: the base moves, nothing is lost.
        c.push(Point::of(&round(t - 100.0, 9)));
        let four = [(t, 0), (t + 15.0, 1), (t + 30.1, 2), (t - 100.0, 9)];
        assert_eq!(kept(&c), four);
        assert_eq!(c.base, t - 100.0);
        // Decades back (a test's clock from 0): what no u32 of tenths reaches goes.
        c.push(Point::of(&round(5.0, 7)));
        assert_eq!(kept(&c), [(5.0, 7)]);
    }

    #[test]
    fn shapes_are_shared_and_the_table_stays_small() {
        let mut c = Chart::default();
        for i in 0..HISTORY {
            c.push(Point::of(&round(15.0 * i as f64, 2)));
        }
        assert_eq!(
            (c.len(), c.shapes.len()),
            (HISTORY, 1),
            "a steady app: one shape"
        );
        // Every round a new shape, for ten histories: the table never holds more than
        // the points name plus the spare, and every point reads back as pushed.
        for i in 0..10 * HISTORY as u64 {
            c.push(Point::of(&round(2000.0 + i as f64, i % 1000)));
            assert!(c.shapes.len() <= HISTORY + SPARE_SHAPES);
        }
        let last: Vec<u16> = c.points().iter().map(|p| p.started).collect();
        let want: Vec<u16> = (10 * HISTORY as u64 - HISTORY as u64..10 * HISTORY as u64)
            .map(|i| (i % 1000) as u16)
            .collect();
        assert_eq!(last, want);
        let failed = |at: f64| Point {
            failed: true,
            ..Point::of(&round(at, 0))
        };
        c.push(failed(9000.0));
        c.push(failed(9015.0));
        assert_eq!(c.failing_streak(), 2);
    }

    #[test]
    fn steady_rounds_share_their_rest_and_each_keeps_its_time() {
        let mut k = Kept::default();
        for i in 0..DETAILED as u64 + 2 {
            k.push_round(round(15.0 * i as f64, 2));
        }
        let first = &k.rounds[0].rest;
        assert!(
            k.rounds.iter().all(|r| Arc::ptr_eq(&r.rest, first)),
            "one rest for all"
        );
        let rounds: Vec<Round> = k.rounds.iter().map(Timed::round).collect();
        assert_eq!(rounds[0].at, 30.0);
        assert_eq!(rounds[5].took_ms, 1.05);
        // A round that differs is kept apart, and marking one round touches it alone.
        k.push_round(round(200.0, 3));
        assert!(!Arc::ptr_eq(&k.rounds[5].rest, &k.rounds[4].rest));
        k.rounds[4].mark_skipped("overrun");
        assert_eq!(k.rounds[3].round().skipped, None);
        assert_eq!(k.rounds[4].round().skipped, Some("overrun"));
        assert_eq!(k.last().map(|r| (r.at, r.started)), Some((200.0, 3)));
    }
}
