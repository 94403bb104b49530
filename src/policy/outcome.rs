//! What a call of `scale` can produce: targets (rounded and clamped as fly-autoscaler
//! does) or an error worded as upstream words it for Expr, and with file:line for Lua.

use mlua::Lua;
use serde::Serialize;

use super::expr::{self, Slot, SlotError};

/// The target range of one dimension. `None` leaves that side alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Bounds {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl std::fmt::Display for Bounds {
    /// `3` when min and max agree, `2..4` otherwise (`?` for an open end).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = |v: Option<i64>| v.map_or("?".to_string(), |v| v.to_string());
        if self.min == self.max {
            write!(f, "{}", end(self.min))
        } else {
            write!(f, "{}..{}", end(self.min), end(self.max))
        }
    }
}

impl std::fmt::Display for Targets {
    /// `created=3 started=2..4`, for logs; `none` when the policy left both alone.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [("created", self.created), ("started", self.started)]
            .into_iter()
            .filter_map(|(name, b)| b.map(|b| format!("{name}={b}")))
            .collect();
        if parts.is_empty() {
            write!(f, "none")
        } else {
            write!(f, "{}", parts.join(" "))
        }
    }
}

/// A policy's answer for one app; `None` leaves that dimension alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Targets {
    pub created: Option<Bounds>,
    pub started: Option<Bounds>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    #[error("{0}")]
    Compile(SlotError),
    #[error("cannot calculate {}: execute expression: {msg}", slot.map_or("machine count", Slot::describe))]
    Execute { slot: Option<Slot>, msg: String },
    #[error("cannot calculate {}: expression returned {what}", slot.describe())]
    ExprNonFinite { slot: Slot, what: &'static str },
    #[error("policy error: {0}")]
    Runtime(String),
    #[error("policy error: {file}: {msg}")]
    BadReturn { file: String, msg: String },
    #[error("policy error: cannot load {path}: {msg}")]
    Load { path: String, msg: String },
    #[error("cannot calculate {dim} machine count: min {dim} machine count ({min}) is above max {dim} machine count ({max}); it would scale up and down in turn: {fix}")]
    MinAboveMax {
        dim: &'static str,
        min: i64,
        max: i64,
        fix: String,
    },
    #[error("policy error: app {app} is quarantined from policy {policy}: {why}")]
    Quarantined {
        app: String,
        policy: String,
        why: String,
    },
    #[error("policy state of app {app} cannot be saved: {msg}")]
    State { app: String, msg: String },
}

impl PolicyError {
    /// A Lua error while loading or calling, as `file:line: message`.
    pub(super) fn lua(file: &str, e: &mlua::Error) -> PolicyError {
        PolicyError::Runtime(with_file(file, &lua_message(e)))
    }
}

pub(super) enum Kind {
    Expr,
    Lua { file: String },
}

impl Kind {
    pub(super) fn label(&self) -> String {
        match self {
            Kind::Expr => "fas-expr".into(),
            Kind::Lua { file } => file.clone(),
        }
    }

    pub(super) fn runtime_error(&self, lua: &Lua, e: &mlua::Error) -> PolicyError {
        match self {
            Kind::Expr => {
                let stage = lua
                    .globals()
                    .raw_get::<mlua::Function>("fas_expr_stage")
                    .and_then(|f| f.call::<i64>(()))
                    .unwrap_or(-1);
                PolicyError::Execute {
                    slot: expr::stage_slot(stage),
                    msg: lua_message(e),
                }
            }
            Kind::Lua { file } => PolicyError::Runtime(with_file(file, &lua_message(e))),
        }
    }
}

/// The message of a Lua error without mlua's wrapping or the stack traceback.
pub fn lua_message(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => m.clone(),
        mlua::Error::MemoryError(_) => {
            "memory limit exceeded: the policy allocates too much".into()
        }
        mlua::Error::CallbackError { cause, .. } => return lua_message(cause),
        mlua::Error::WithContext { cause, .. } => return lua_message(cause),
        other => other.to_string(),
    };
    let text = text
        .split("\nstack traceback:")
        .next()
        .unwrap_or_default()
        .trim();
    // A policy can raise anything, a megabyte say: errors and logs keep a few KiB.
    if text.len() <= POLICY_ERROR_MAX {
        return text.to_string();
    }
    let mut cut = POLICY_ERROR_MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..cut], text.len())
}

/// Longest policy error text kept.
pub const POLICY_ERROR_MAX: usize = 4096;

fn with_file(file: &str, msg: &str) -> String {
    if msg.starts_with(file) {
        msg.to_string()
    } else {
        format!("{file}: {msg}")
    }
}

/// What driver.lua answers: a presence mask (1 created.min, 2 created.max,
/// 4 started.min, 8 started.max) and the four numbers.
pub(super) type Answer = (
    i64,
    f64,
    f64,
    f64,
    f64,
    Option<Vec<String>>,
    Option<Vec<String>>,
    Option<f64>,
);

/// Beside the counts, which Machines a Lua policy wants stopped first and which never
/// this round (Machine ids; unknown ones are ignored).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Order {
    pub stop_order: Vec<String>,
    pub protect: Vec<String>,
    /// What the policy forecast for this app (`forecast =`), exported as a gauge.
    pub forecast: Option<f64>,
}

/// Targets from driver.lua's answer.
pub(super) fn targets(
    kind: &Kind,
    (mask, cmin, cmax, smin, smax, _, _, _): Answer,
) -> Result<Targets, PolicyError> {
    let side = |bit: i64, v: f64, slot: Slot| {
        if mask & bit != 0 {
            count(kind, v, slot).map(Some)
        } else {
            Ok(None)
        }
    };
    let dim = |name: &'static str, min: Option<i64>, max: Option<i64>| match (min, max) {
        (Some(min), Some(max)) if min > max => Err(PolicyError::MinAboveMax {
            dim: name,
            min,
            max,
            fix: match kind {
                Kind::Expr => format!(
                    "fix FAS_MIN_{0}_MACHINE_COUNT / FAS_MAX_{0}_MACHINE_COUNT",
                    name.to_uppercase()
                ),
                Kind::Lua { file } => {
                    format!("{file}: return {name} = {{ min = a, max = b }} with a <= b")
                }
            },
        }),
        _ => Ok((min.is_some() || max.is_some()).then_some(Bounds { min, max })),
    };
    Ok(Targets {
        created: dim(
            "created",
            side(1, cmin, Slot::MinCreated)?,
            side(2, cmax, Slot::MaxCreated)?,
        )?,
        started: dim(
            "started",
            side(4, smin, Slot::MinStarted)?,
            side(8, smax, Slot::MaxStarted)?,
        )?,
    })
}

fn bad_return(kind: &Kind, msg: String) -> PolicyError {
    PolicyError::BadReturn {
        file: kind.label(),
        msg,
    }
}

/// Upstream's conversion: round half away from zero, NaN/Inf are errors, negative
/// becomes 0, and created counts never go below 1 (the last Machine is the template
/// for new ones). Values beyond i64 saturate (upstream's Go conversion wraps them).
fn count(kind: &Kind, f: f64, slot: Slot) -> Result<i64, PolicyError> {
    let created = matches!(slot, Slot::MinCreated | Slot::MaxCreated);
    let r = f.round();
    let what = if r.is_nan() {
        Some("NaN")
    } else if r.is_infinite() {
        Some("Inf")
    } else {
        None
    };
    if let Some(what) = what {
        return Err(match kind {
            Kind::Expr => PolicyError::ExprNonFinite { slot, what },
            Kind::Lua { .. } => {
                let field = match slot {
                    Slot::MinCreated => "created.min",
                    Slot::MaxCreated => "created.max",
                    Slot::MinStarted => "started.min",
                    Slot::MaxStarted => "started.max",
                };
                bad_return(kind, format!("`{field}` is {what}; return a finite number"))
            }
        });
    }
    let n = if r < 0.0 { 0 } else { r as i64 };
    Ok(if created { n.max(1) } else { n })
}
