//! What a call of `scale` can produce: targets (rounded and clamped as fly-autoscaler
//! does) or an error worded as upstream words it for Expr, and with file:line for Lua.

use mlua::{Lua, Table, Value};
use serde::Serialize;

use super::expr::{self, Slot, SlotError};
use super::Keys;

/// The target range of one dimension. `None` leaves that side alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Bounds {
    pub min: Option<i64>,
    pub max: Option<i64>,
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
                let stage: i64 = lua.globals().raw_get("STAGE").unwrap_or(-1);
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
pub(super) fn lua_message(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::RuntimeError(m) | mlua::Error::SyntaxError { message: m, .. } => m.clone(),
        mlua::Error::MemoryError(_) => {
            "memory limit exceeded: the policy allocates too much".into()
        }
        mlua::Error::CallbackError { cause, .. } => return lua_message(cause),
        mlua::Error::WithContext { cause, .. } => return lua_message(cause),
        other => other.to_string(),
    };
    text.split("\nstack traceback:")
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn with_file(file: &str, msg: &str) -> String {
    if msg.starts_with(file) {
        msg.to_string()
    } else {
        format!("{file}: {msg}")
    }
}

pub(super) fn targets(kind: &Kind, keys: &Keys, value: Value) -> Result<Targets, PolicyError> {
    let table = match value {
        Value::Table(t) => t,
        Value::Nil => return Ok(Targets::default()),
        other => {
            return Err(bad_return(
                kind,
                format!(
                    "scale() returned a {}; return a table {{created=, started=}}",
                    other.type_name()
                ),
            ))
        }
    };
    let created = bounds(kind, keys, &table, &keys.created, "created")?;
    let started = bounds(kind, keys, &table, &keys.started, "started")?;
    Ok(Targets { created, started })
}

fn bad_return(kind: &Kind, msg: String) -> PolicyError {
    PolicyError::BadReturn {
        file: kind.label(),
        msg,
    }
}

fn bounds(
    kind: &Kind,
    keys: &Keys,
    t: &Table,
    key: &mlua::LuaString,
    name: &str,
) -> Result<Option<Bounds>, PolicyError> {
    let created = name == "created";
    let raw = t.raw_get::<Value>(key).unwrap_or(Value::Nil);
    let (min, max) = match raw {
        Value::Nil => return Ok(None),
        Value::Integer(_) | Value::Number(_) => (raw.clone(), raw),
        Value::Table(r) => (
            r.raw_get(&keys.min).unwrap_or(Value::Nil),
            r.raw_get(&keys.max).unwrap_or(Value::Nil),
        ),
        other => {
            return Err(bad_return(
                kind,
                format!(
                    "`{name}` is a {}; return a number or {{min=, max=}}",
                    other.type_name()
                ),
            ))
        }
    };
    let slot = |is_min: bool| match (created, is_min) {
        (true, true) => Slot::MinCreated,
        (true, false) => Slot::MaxCreated,
        (false, true) => Slot::MinStarted,
        (false, false) => Slot::MaxStarted,
    };
    let min = count(kind, min, slot(true), created)?;
    let max = count(kind, max, slot(false), created)?;
    Ok(Some(Bounds { min, max }))
}

/// Upstream's conversion: round half away from zero, NaN/Inf are errors, negative
/// becomes 0, and created counts never go below 1 (the last Machine is the template
/// for new ones). Values beyond i64 saturate (upstream's Go conversion wraps them).
fn count(kind: &Kind, v: Value, slot: Slot, created: bool) -> Result<Option<i64>, PolicyError> {
    let field = || {
        let s = slot.describe();
        let dim = if s.contains("created") {
            "created"
        } else {
            "started"
        };
        format!("{dim}.{}", &s[..3])
    };
    let f = match v {
        Value::Nil => return Ok(None),
        Value::Integer(i) => i as f64,
        Value::Number(f) => f,
        other => {
            return Err(bad_return(
                kind,
                format!("`{}` is a {}; return a number", field(), other.type_name()),
            ));
        }
    };
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
            Kind::Lua { .. } => bad_return(
                kind,
                format!("`{}` is {what}; return a finite number", field()),
            ),
        });
    }
    let n = if r < 0.0 { 0 } else { r as i64 };
    Ok(Some(if created { n.max(1) } else { n }))
}
