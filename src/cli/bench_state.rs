//! `fas bench state`: how much `app.state` each stdlib module and each shipped policy
//! keeps per app, and how often a quiet app would make fas rewrite its state file.
//! Each case decides an hour of a noisy metric at a 2 s cadence (the worst case for a
//! history kept per decision), then a steady metric: ten minutes to settle, then 100
//! quiet rounds in which every change of the state is one write of the state file
//! (fas writes it only when some app's state changed). Goal: at most 1 KB per app
//! (a forecast's history excepted: 16 KB for a week of 5-minute buckets), and 0 writes
//! in the quiet rounds.

use crate::policy::{AppInput, Limits, MachineCounts, Policy, Round};

const CADENCE: f64 = 2.0;
const BUSY_ROUNDS: u32 = 1800;
const SETTLE_ROUNDS: u32 = 300;
const QUIET_ROUNDS: u32 = 100;

/// (case, policy source): one policy per stdlib module, then the shipped scripts.
const CASES: &[(&str, &str)] = &[
    (
        "fas.cooldown (down 300 s)",
        r#"local c = require("fas.cooldown")
function scale(m, app) return { started = c.down(app, math.ceil(m.queue_depth / 10), 300) } end"#,
    ),
    (
        "fas.stabilize (down 300 s)",
        r#"local s = require("fas.stabilize")
function scale(m, app) return { started = s.down(app, math.ceil(m.queue_depth / 10), 300) } end"#,
    ),
    (
        "fas.smooth.ewma",
        r#"local s = require("fas.smooth")
function scale(m, app) return { started = math.ceil(s.ewma(app, "q", m.queue_depth) / 10) } end"#,
    ),
    (
        "fas.smooth.mean (300 s)",
        r#"local s = require("fas.smooth")
function scale(m, app) return { started = math.ceil(s.mean(app, "q", m.queue_depth, 300) / 10) } end"#,
    ),
    (
        "fas.smooth.max (300 s)",
        r#"local s = require("fas.smooth")
function scale(m, app) return { started = math.ceil(s.max(app, "q", m.queue_depth, 300) / 10) } end"#,
    ),
    (
        "fas.step (up 2, down 1)",
        r#"local s = require("fas.step")
function scale(m, app) return { started = s.limit(app, math.ceil(m.queue_depth / 10), { up = 2, down = 1 }) } end"#,
    ),
    (
        "fas.schedule (2 windows)",
        r#"local hours = require("fas.schedule").new({
  { "Mon-Fri 08:00-18:00 Europe/Berlin", min = 2 }, { "Sat,Sun 00:00-24:00 UTC", max = 4 } })
function scale(m, app) return { started = hours:apply(app, math.ceil(m.queue_depth / 10)) } end"#,
    ),
    (
        "fas.forecast (week, 5 min)",
        r#"local f = require("fas.forecast").new({ season = "week", bucket = 300 })
function scale(m, app)
  local ahead = f:predict(app, m.queue_depth)
  return { started = f:apply(math.ceil(m.queue_depth / 10), ahead and math.ceil(ahead / 10)) }
end"#,
    ),
    (
        "scripts/hpa_target.lua",
        include_str!("../../scripts/hpa_target.lua"),
    ),
    ("scripts/pool.lua", include_str!("../../scripts/pool.lua")),
    (
        "scripts/queue_per_machine.lua",
        include_str!("../../scripts/queue_per_machine.lua"),
    ),
    (
        "scripts/scale_to_zero.lua",
        include_str!("../../scripts/scale_to_zero.lua"),
    ),
    (
        "scripts/worker_drain.lua",
        include_str!("../../scripts/worker_drain.lua"),
    ),
];

/// A noisy queue (a slow wave, a fast wobble, bursts) for the busy hour; the last
/// value holds after it.
fn depth(round: u32) -> f64 {
    let round = round.min(BUSY_ROUNDS);
    let t = f64::from(round) * CADENCE;
    let burst = if (round / 97).is_multiple_of(5) {
        300.0
    } else {
        0.0
    };
    (200.0 + 150.0 * (t / 600.0).sin() + 40.0 * (t / 7.0).sin() + burst).max(0.0)
}

struct Figures {
    bytes_end: usize,
    bytes_most: usize,
    quiet_writes: u32,
}

fn measure(source: &str, dir: &std::path::Path) -> anyhow::Result<Figures> {
    let path = dir.join("policy.lua");
    std::fs::write(&path, source)?;
    let mut policy = Policy::from_file(&path, &serde_json::json!({}), Limits::default())?;
    let app = "bench-app";
    let mut started: u64 = 1;
    let (mut bytes_most, mut quiet_writes) = (0, 0);
    let mut last = serde_json::Value::Null;
    let start = 1_796_000_000.0; // a Tuesday, 2026-12-01 (UTC)
    for round in 0..BUSY_ROUNDS + SETTLE_ROUNDS + QUIET_ROUNDS {
        let q = depth(round);
        // CPU per started Machine, as the HPA-like policy reads it.
        let cpu = (q / started.max(1) as f64).min(100.0);
        let metrics = [("cpu".to_string(), cpu), ("queue_depth".to_string(), q)];
        let machines = MachineCounts {
            created: started.max(1),
            started,
            stopped: 0,
            by_region: vec![("iad".into(), started, 0)],
        };
        let input = AppInput {
            name: app,
            now: start + f64::from(round) * CADENCE,
            interval_secs: CADENCE,
            round: Round::Full,
            machines: &machines,
            metrics: &metrics,
        };
        let t = policy.decide(&input)?;
        if let Some(b) = t.started {
            started = b.min.or(b.max).unwrap_or(started as i64).clamp(0, 50) as u64;
        }
        let state = policy.state_json(app)?;
        let bytes = state.to_string().len();
        bytes_most = bytes_most.max(bytes);
        if round >= BUSY_ROUNDS + SETTLE_ROUNDS && state != last {
            quiet_writes += 1;
        }
        last = state;
    }
    Ok(Figures {
        bytes_end: last.to_string().len(),
        bytes_most,
        quiet_writes,
    })
}

pub fn run() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("fas-bench-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!(
        "app.state per app: {BUSY_ROUNDS} decisions of a noisy queue every {CADENCE} s, then a steady one; \
         writes = rounds of {QUIET_ROUNDS} quiet ones that changed the state (goal: <= 1024 bytes, 0 writes)"
    );
    println!(
        "{:<32} {:>10} {:>10} {:>7}",
        "policy", "bytes", "most", "writes"
    );
    let mut over = Vec::new();
    for (name, source) in CASES {
        let f = measure(source, &dir)?;
        println!(
            "{name:<32} {:>10} {:>10} {:>7}",
            f.bytes_end, f.bytes_most, f.quiet_writes
        );
        // A forecast's history is its size by design (documented), not a leak.
        let budget = if name.starts_with("fas.forecast") {
            16 * 1024
        } else {
            1024
        };
        if f.bytes_most > budget || f.quiet_writes > 0 {
            over.push(*name);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    if over.is_empty() {
        println!("every case within the goal");
    } else {
        println!("over the goal: {}", over.join(", "));
    }
    Ok(())
}
